// How long to wait before trying again after `failures` failed tries in a row: 2 s, 4 s, 8 s…
// up to 5 minutes, with jitter so that many phones coming back online do not all retry at once.
// Used for an item's next attempt (sync.js) and for the page's next sync run (autosync.js).
const FIRST_MS = 2000;
const MAX_MS = 5 * 60 * 1000;

export function backoff(failures) {
  const base = Math.min(MAX_MS, FIRST_MS * 2 ** Math.min(failures, 12));
  return Math.round(base * (0.5 + Math.random() / 2));
}
