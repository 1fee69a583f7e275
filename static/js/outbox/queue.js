// The outbox: what waits on this phone to be uploaded, oldest first. Each item is an OutboxItem
// (item.js). Only sync.js removes an item, and only after the server acknowledged it (2xx).
import { META, OUTBOX, req, withStores } from "./db.js";

/** @typedef {import("./item.js").OutboxItem} OutboxItem */

const channel = "BroadcastChannel" in self ? new BroadcastChannel("skinlog-outbox") : null;
const listeners = new Set();

export function onChange(listener) {
  listeners.add(listener);
  if (channel) channel.addEventListener("message", listener);
}

export function notifyChange() {
  for (const listener of listeners) listener();
  if (channel) channel.postMessage({ type: "changed" });
}

export const keys = () => withStores([OUTBOX], "readonly", (s) => req(s[OUTBOX].getAllKeys()));
export const get = (seq) => withStores([OUTBOX], "readonly", (s) => req(s[OUTBOX].get(seq)));
export const all = () => withStores([OUTBOX], "readonly", (s) => req(s[OUTBOX].getAll()));

/**
 * Add a new item, or replace the one at `item.seq`, in one durable transaction.
 * @param {OutboxItem} item
 * @returns {Promise<number>} its seq
 */
export async function put(item) {
  const seq = await withStores([OUTBOX], "readwrite", async (s) => {
    const store = s[OUTBOX];
    if (item.seq !== undefined) {
      const current = await req(store.get(item.seq));
      item.rev = (current ? current.rev : 0) + 1;
    } else {
      item.rev = 1;
    }
    return req(store.put(item));
  });
  notifyChange();
  return seq;
}

/**
 * Put `item` (new, or edited again) with `body`, waiting afresh: a new try at once, no old error.
 * @param {OutboxItem} item
 * @param {OutboxItem["body"]} body
 * @param {string} account
 */
export function putWaiting(item, body, account) {
  Object.assign(item, { body, state: "waiting", error: null, attempts: 0, next_attempt_at: 0,
    account: account || item.account || "" });
  return put(item);
}

/**
 * Change an item in place: mutate(item) edits it and returns true to write it back.
 * @param {number} seq
 * @param {(item: OutboxItem) => boolean} mutate
 */
export async function update(seq, mutate) {
  const changed = await withStores([OUTBOX], "readwrite", async (s) => {
    const item = await req(s[OUTBOX].get(seq));
    if (!item || !mutate(item)) return false;
    await req(s[OUTBOX].put(item));
    return true;
  });
  if (changed) notifyChange();
  return changed;
}

// Delete an item if `check(item)` holds (sync: "still the version the server acknowledged").
export async function removeIf(seq, check = () => true) {
  const removed = await withStores([OUTBOX], "readwrite", async (s) => {
    const item = await req(s[OUTBOX].get(seq));
    if (!item || !check(item)) return false;
    await req(s[OUTBOX].delete(seq));
    return true;
  });
  if (removed) notifyChange();
  return removed;
}

// The item still to upload for this entry date or row uuid (editing it again replaces it).
export async function findFor(kind, { date, uuid }) {
  const items = await all();
  return items.find((item) => item.kind === kind
    && ((uuid && item.uuid === uuid) || (date && kind === "entry" && item.body.date === date)));
}

export const getMeta = (key) => withStores([META], "readonly", async (s) => {
  const row = await req(s[META].get(key));
  return row ? row.value : undefined;
});

export async function setMeta(key, value) {
  await withStores([META], "readwrite", (s) => req(s[META].put({ key, value })));
  notifyChange();
}

// Logging out on a shared phone: nothing of the patient stays in the database.
export async function clearAll() {
  await withStores([OUTBOX, META], "readwrite", async (s) => {
    await req(s[OUTBOX].clear());
    await req(s[META].clear());
  });
  notifyChange();
}
