// When the outbox is synced: when the app opens, on the `online` event, when the phone shows the
// app again, and after a failed attempt with growing pauses (backoff). A tap on "Upload now"
// (status.js) syncs at once.
import * as queue from "./queue.js";
import { requestBackgroundSync, syncOutbox } from "./sync.js";

const MAX_PAUSE_MS = 5 * 60 * 1000;
let pause = 2000;
let timer = null;

// Sync now; on failure, schedule the next try. Returns the sync's result (see sync.js).
export async function syncNow() {
  clearTimeout(timer);
  timer = null;
  if (!navigator.onLine) return { sent: [], stopped: "network" };
  let result;
  try {
    result = await syncOutbox();
  } catch {
    result = { stopped: "network" };
  }
  if (result.stopped === "network") {
    // Retry with backoff (with jitter so many phones do not come back at the same moment).
    timer = setTimeout(syncNow, pause * (0.5 + Math.random() / 2));
    pause = Math.min(MAX_PAUSE_MS, pause * 2);
    requestBackgroundSync();
    return result;
  }
  pause = 2000;
  const items = await queue.all();
  const next = Math.min(...items.filter((item) => item.state !== "rejected")
    .map((item) => item.next_attempt_at || 0));
  if (Number.isFinite(next) && next > Date.now() && result.stopped !== "auth") {
    timer = setTimeout(syncNow, next - Date.now() + 50);
  }
  return result;
}

if ("indexedDB" in self) {
  window.addEventListener("online", () => { pause = 2000; syncNow(); });
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") syncNow();
  });
  window.addEventListener("skinlog-sync-now", () => syncNow());
  syncNow();
}
