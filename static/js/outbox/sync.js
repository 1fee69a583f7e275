// Uploads the outbox: one pass over it, oldest item first (docs/api.md, "How the phone replays").
// Runs in the page and in the service worker (Background Sync). An item leaves the outbox only
// when the server acknowledged every part of it with a 2xx carrying the stored row (replay.js); a
// rejection keeps it with the reason; a network failure keeps it and retries with backoff; a lost
// login keeps everything and asks to log in. The requests themselves are api.js's.
import * as queue from "./queue.js";
import { Rejected, Stop, freshToken } from "./api.js";
import { backoff } from "./backoff.js";
import { complete, replay } from "./replay.js";

export const SYNC_TAG = "skinlog-outbox";

// One pass over the outbox. `force` ignores backoff and retries rejected items (a user's tap).
async function run({ force = false } = {}) {
  const result = { sent: [], rejected: 0, waiting: 0, stopped: null };
  const seqs = await queue.keys();
  if (!seqs.length) {
    await queue.setMeta("last_sync", new Date().toISOString());
    return result;
  }
  let ctx;
  try {
    const fresh = await freshToken();
    ctx = { token: fresh.csrf_token, account: fresh.account };
    await queue.setMeta("auth_needed", false);
  } catch (error) {
    result.stopped = error instanceof Stop ? error.reason : "network";
    if (result.stopped === "auth") await queue.setMeta("auth_needed", true);
    return result;
  }
  for (const seq of seqs) {
    const item = await queue.get(seq);
    if (!item) continue;
    if (item.account && item.account !== ctx.account) { result.waiting += 1; continue; }
    if (!force && (item.state === "rejected" || (item.next_attempt_at || 0) > Date.now())) {
      result.waiting += 1;
      continue;
    }
    const rev = item.rev;
    try {
      await replay(ctx, item);
      const gone = await queue.removeIf(seq, (stored) => complete(stored, rev));
      if (gone) result.sent.push({ seq, kind: item.kind, uuid: item.uuid });
      else result.waiting += 1;
    } catch (error) {
      if (error instanceof Stop) {
        result.stopped = error.reason;
        if (error.reason === "auth") await queue.setMeta("auth_needed", true);
        if (error.reason === "network") await markRetry(seq);
        return result;
      }
      if (error instanceof Rejected) {
        result.rejected += 1;
        await queue.update(seq, (stored) => {
          stored.state = "rejected";
          stored.error = error.detail;
          return true;
        });
      } else {
        result.waiting += 1;
        await markRetry(seq);
      }
    }
  }
  await queue.setMeta("last_sync", new Date().toISOString());
  return result;
}

function markRetry(seq) {
  return queue.update(seq, (stored) => {
    stored.attempts = (stored.attempts || 0) + 1;
    stored.next_attempt_at = Date.now() + backoff(stored.attempts);
    return true;
  });
}

// One sync at a time across tabs and the service worker (Web Locks where the browser has them).
// A run that uploaded something ends with `afterUpload()`: the service worker renews the pages it
// keeps for offline use (sw.js), which the upload made out of date. Still under the lock, so that
// when no sync runs, those pages know every upload.
export async function syncOutbox({ afterUpload = null, ...options } = {}) {
  const once = async () => {
    const result = await run(options);
    if (result.sent.length && afterUpload) await afterUpload().catch(() => {});
    return result;
  };
  if (self.navigator && navigator.locks) return navigator.locks.request("skinlog-sync", once);
  return once();
}

// Ask the browser to run the sync later even if the app is closed (Chromium's Background Sync;
// Safari and Firefox have none, there the page syncs on open and on the `online` event).
export async function requestBackgroundSync() {
  try {
    const registration = self.registration
      || (navigator.serviceWorker && navigator.serviceWorker.controller
        && await navigator.serviceWorker.ready);
    if (registration && registration.sync) await registration.sync.register(SYNC_TAG);
  } catch {
    // Not allowed or not supported: the other triggers still sync.
  }
}
