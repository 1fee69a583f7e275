// When the outbox is synced: when the app opens, on the `online` event, when the phone shows the
// app again, and after a failed attempt with growing pauses (backoff). A tap on "Upload now"
// (status.js) syncs at once.
import * as queue from "./queue.js";
import { requestBackgroundSync, syncOutbox } from "./sync.js";
import { backoff } from "./backoff.js";

// How long a form that was just saved waits for its upload before saying "saved on this phone".
const FORM_WAIT_MS = 20000;
// How long a sync waits for the service worker to renew its offline pages after an upload.
const RENEW_WAIT_MS = 10000;
let failures = 0; // retries scheduled since a run last sent something: the backoff's exponent
let timer = null;

// After an upload, the pages the service worker keeps for offline use are out of date (the log
// form's copy of the month above all): it fetches them again. Resolves when it has, or has not
// answered in time.
async function renewOfflinePages() {
  const registration = await navigator.serviceWorker?.getRegistration();
  const worker = registration && registration.active;
  if (!worker) return;
  await new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => resolve();
    setTimeout(resolve, RENEW_WAIT_MS);
    worker.postMessage({ type: "uploaded" }, [channel.port2]);
  });
}

// Sync now; on failure, schedule the next try. Returns the sync's result (see sync.js).
export async function syncNow() {
  clearTimeout(timer);
  timer = null;
  if (!navigator.onLine) return { sent: [], stopped: "network" };
  let result;
  try {
    result = await syncOutbox({ afterUpload: renewOfflinePages });
  } catch {
    result = { stopped: "network" };
  }
  if (result.stopped === "network") {
    timer = setTimeout(syncNow, backoff(failures));
    failures += 1;
    requestBackgroundSync();
    return result;
  }
  if (result.sent && result.sent.length) failures = 0;
  const items = await queue.all();
  const due = items.filter((item) => item.state !== "rejected")
    .map((item) => item.next_attempt_at || 0);
  if (due.length && result.stopped !== "auth") {
    const wait = Math.min(...due) - Date.now();
    if (wait > 0) {
      timer = setTimeout(syncNow, wait + 50);
    } else {
      // Due, yet this run did not send it: the service worker's Background Sync may have tried
      // it meanwhile (the browser retries that only minutes later), or it waits for another
      // login. Look again, backing off, so nothing waits on a retry that never comes.
      timer = setTimeout(syncNow, backoff(failures));
      failures += 1;
    }
  }
  return result;
}

// Sync now for a form that was just saved: the sync's result, or null if it takes longer than a
// patient should wait (it goes on in the background).
export function syncForForm() {
  const timeout = new Promise((resolve) => { setTimeout(resolve, FORM_WAIT_MS, null); });
  return Promise.race([syncNow().catch(() => null), timeout]);
}

if ("indexedDB" in self) {
  window.addEventListener("online", () => { failures = 0; syncNow(); });
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") syncNow();
  });
  window.addEventListener("skinlog-sync-now", () => syncNow());
  syncNow();
}
