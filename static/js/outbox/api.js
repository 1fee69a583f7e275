// The sync API over HTTP (/api/v1, docs/api.md): one request at a time, with timeouts, a fresh
// CSRF token when the old one is stale, and the answer sorted into acknowledged, to retry, rejected
// (with the server's reason) or stop (no network, logged out). Knows nothing of the outbox.
export const API = "/api/v1";
// A request that stalls (a dead connection the phone has not noticed) counts as a network failure
// and is retried later; without a limit it would hold the sync lock, and every later sync, forever.
// A photo gets longer: 2 MB at 3G speed takes most of a minute. Every request is safe to resend.
const TIMEOUT_MS = 30 * 1000;
const UPLOAD_TIMEOUT_MS = 3 * 60 * 1000;

/** @typedef {import("./item.js").Rejection} Rejection */

// Nothing more can be sent this run: no network, or logged out. Everything stays queued.
export class Stop extends Error {
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

export async function freshToken() {
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

/** The server's reason for refusing, from its error JSON (docs/api.md). @returns {Rejection} */
function reason({ status, data }, what) {
  const error = (data && data.error) || {};
  return { status, what, message: error.message || `The server answered ${status}.`,
    code: error.code || "", fields: error.fields || {} };
}

// The server refused the request for good; `detail` says why (kept on the item, shown to fix).
export class Rejected extends Error {
  constructor(detail) { super(detail.message); this.detail = detail; }
}
// Not acknowledged this time (a 5xx, 429, a page that is not the API's…): try again later.
export class Retry extends Error {}

// Send one request until it is acknowledged (2xx with the stored row as JSON), fetching a fresh
// CSRF token once if the old one is stale. `special(answer)` may return "again" to resend (after
// it changed the url or body, as a 409 merge does), or "done" to take the answer as the
// acknowledgement. Throws Rejected, Retry or Stop otherwise.
export async function send(ctx, method, request, what, special = () => null) {
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
