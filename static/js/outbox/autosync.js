// When the outbox is synced: when the app opens, on the `online` event, when the phone shows the
// app again, and after a failed attempt with growing pauses (backoff). A tap on "Upload now"
// (status.js) syncs at once.
import * as queue from "./queue.js";
import { requestBackgroundSync, syncOutbox } from "./sync.js";

const MAX_PAUSE_MS = 5 * 60 * 1000;
let pause = 2000;
let timer = null;

async function attempt() {
  clearTimeout(timer);
  timer = null;
  if (!navigator.onLine) return;
  let result;
  try {
    result = await syncOutbox();
  } catch {
    result = { stopped: "network" };
  }
  if (result.stopped === "network") {
    // Retry with backoff (with jitter so many phones do not come back at the same moment).
    timer = setTimeout(attempt, pause * (0.5 + Math.random() / 2));
    pause = Math.min(MAX_PAUSE_MS, pause * 2);
    requestBackgroundSync();
    return;
  }
  pause = 2000;
  const items = await queue.all();
  const next = Math.min(...items.filter((item) => item.state !== "rejected")
    .map((item) => item.next_attempt_at || 0));
  if (Number.isFinite(next) && next > Date.now() && result.stopped !== "auth") {
    timer = setTimeout(attempt, next - Date.now() + 50);
  }
}

if ("indexedDB" in self) {
  window.addEventListener("online", () => { pause = 2000; attempt(); });
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") attempt();
  });
  window.addEventListener("skinlog-sync-now", attempt);
  attempt();
}
