// Replays the outbox through the API (/api/v1, docs/api.md). Runs in the page and in the service
// worker (Background Sync). An item leaves the outbox only when the server acknowledged every part
// of it with a 2xx carrying the stored row; a rejection keeps it with the reason; a network
// failure keeps it and retries with backoff; a lost login keeps everything and asks to log in.
import * as queue from "./queue.js";
import { backoff } from "./backoff.js";

export const SYNC_TAG = "skinlog-outbox";
const API = "/api/v1";
// A request that stalls (a dead connection the phone has not noticed) counts as a network failure
// and is retried later; without a limit it would hold the sync lock, and every later sync, forever.
// A photo gets longer: 2 MB at 3G speed takes most of a minute. Every request is safe to resend.
const TIMEOUT_MS = 30 * 1000;
const UPLOAD_TIMEOUT_MS = 3 * 60 * 1000;

class Stop extends Error {
  constructor(reason) { super(reason); this.reason = reason; } // "network" | "auth"
}

async function call(method, url, { token, json, form } = {}) {
  const headers = { "X-CSRFToken": token, Accept: "application/json" };
  let body;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else if (form) {
    body = form;
  }
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), form ? UPLOAD_TIMEOUT_MS : TIMEOUT_MS);
  try {
    let response;
    try {
      // redirect "manual": a captive portal's redirect is no acknowledgement.
      response = await fetch(url, { method, headers, body, credentials: "same-origin",
        cache: "no-store", redirect: "manual", signal: abort.signal });
    } catch {
      throw new Stop("network");
    }
    let data = null;
    if ((response.headers.get("Content-Type") || "").includes("application/json")) {
      data = await response.json().catch(() => null);
    }
    return { status: response.status, data };
  } finally {
    clearTimeout(timer);
  }
}

async function freshToken() {
  const { status, data } = await call("GET", `${API}/csrf`);
  if (status !== 200 || !data || !data.csrf_token) throw new Stop("network");
  if (!data.account) throw new Stop("auth");
  return data;
}

// What to do with an answer that is not the acknowledgement we wanted.
function classify({ status, data }) {
  if (status === 401) throw new Stop("auth");
  if (status === 403 && data && data.error && data.error.code === "csrf") return "csrf";
  if (status === 0 || status === 408 || status === 429 || status >= 500 || !data) return "retry";
  return "reject";
}

function reason({ status, data }, what) {
  const error = (data && data.error) || {};
  return { status, what, message: error.message || `The server answered ${status}.`,
    code: error.code || "", fields: error.fields || {} };
}

class Rejected extends Error {
  constructor(detail) { super(detail.message); this.detail = detail; }
}
class Retry extends Error {}

// Send one request until it is acknowledged (2xx with the stored row as JSON), fetching a fresh
// CSRF token once if the old one is stale. `special(answer)` may return "again" to resend (after
// it changed the url or body, as a 409 merge does), or "done" to take the answer as the
// acknowledgement. Throws Rejected, Retry or Stop otherwise.
async function send(ctx, method, request, what, special = () => null) {
  let csrfRetried = false;
  for (let round = 0; round < 4; round += 1) {
    const { url, ...options } = request();
    const answer = await call(method, url, { ...options, token: ctx.token });
    if (answer.status >= 200 && answer.status < 300 && answer.data) return answer;
    const verdict = await special(answer);
    if (verdict === "again") continue;
    if (verdict === "done") return answer;
    const kind = classify(answer);
    if (kind === "csrf" && !csrfRetried) {
      csrfRetried = true;
      ctx.token = (await freshToken()).csrf_token;
      continue;
    }
    if (kind === "reject") throw new Rejected(reason(answer, what));
    throw new Retry(`${what}: ${answer.status}`);
  }
  throw new Retry(`${what}: no acknowledgement`);
}

async function sendEntry(ctx, item) {
  if (!item.row_done) {
    const mergeIntoExisting = async ({ status, data }) => {
      const error = data && data.error;
      if (status !== 409 || !error || error.code !== "date_taken" || !error.existing_id) {
        return null;
      }
      // The day already has an entry (made on another device): merge into it; the later edit
      // wins by client_updated_at on the server.
      const existing = error.existing_id;
      await queue.update(item.seq, (stored) => { stored.uuid = existing; return true; });
      item.uuid = existing;
      return "again";
    };
    const answer = await send(ctx, "PUT",
      () => ({ url: `${API}/entries/${item.uuid}`, json: item.body }), "The entry",
      mergeIntoExisting);
    if (answer.data.id !== item.uuid) throw new Retry("unexpected answer");
    const rev = item.rev;
    await queue.update(item.seq, (stored) => {
      if (stored.rev !== rev) return false; // edited meanwhile: send the new version next time
      stored.row_done = true;
      return true;
    });
  }
  for (const photo of item.photos || []) {
    if (photo.done) continue;
    const form = new FormData();
    form.append("area", photo.area);
    form.append("file", new Blob([photo.data], { type: photo.type }), photo.name || "photo.jpg");
    const label = `Photo (${photo.area.replace("_", " ")})`;
    const answer = await send(ctx, "PUT",
      () => ({ url: `${API}/entries/${item.uuid}/photos/${photo.uuid}`, form }), label);
    if (answer.data.id !== photo.uuid) throw new Retry("unexpected answer");
    await queue.update(item.seq, (stored) => {
      const mine = (stored.photos || []).find((p) => p.uuid === photo.uuid);
      if (!mine) return false;
      mine.done = true;
      mine.data = null; // the server has it: free the phone's space
      return true;
    });
  }
  for (const gone of item.photo_deletes || []) {
    if (gone.done) continue;
    await send(ctx, "DELETE",
      () => ({ url: `${API}/entries/${item.uuid}/photos/${gone.uuid}` }), "A photo removal");
    await queue.update(item.seq, (stored) => {
      const mine = (stored.photo_deletes || []).find((p) => p.uuid === gone.uuid);
      if (mine) mine.done = true;
      return Boolean(mine);
    });
  }
}

async function sendSession(ctx, item) {
  const answer = await send(ctx, "PUT",
    () => ({ url: `${API}/sessions/${item.uuid}`, json: item.body }), "The session");
  if (answer.data.id !== item.uuid) throw new Retry("unexpected answer");
}

// A delete queued on this phone (deletes.js): a tombstone by uuid, stamped when it was tapped.
async function sendDelete(ctx, item) {
  const stamp = encodeURIComponent(item.body.client_updated_at);
  // 404: the row is not in this account (already gone, or it never reached the server): what the
  // patient asked for holds, and asking again would never change the answer.
  const alreadyGone = ({ status }) => (status === 404 ? "done" : null);
  await send(ctx, "DELETE",
    () => ({ url: `${API}/${item.target}/${item.uuid}?client_updated_at=${stamp}` }),
    `Deleting ${item.label}`, alreadyGone);
}

function complete(item, rev) {
  return item.rev === rev
    && (item.kind !== "entry" || item.row_done)
    && (item.photos || []).every((p) => p.done)
    && (item.photo_deletes || []).every((p) => p.done);
}

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
      if (item.kind === "entry") await sendEntry(ctx, item);
      else if (item.kind === "delete") await sendDelete(ctx, item);
      else await sendSession(ctx, item);
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
