// Skinlog's service worker. Served at /sw.js (scope /) by webapp/pwa; the server writes the cache
// version below from a hash of the shell files, so every release gets fresh caches.
//
//   install   pre-cache the app shell (static files, the offline page)
//   activate  drop caches of other versions, take control of open pages
//   fetch     navigations: network first, the cached page or the offline page without signal;
//             progress pages (timeline, entries) are kept as "offline copies", marked as such
//             static files: cache first;   photos: network first, cached copy offline
//             the API and everything else: straight to the network, never cached
//   message   "warm-shell": keep fresh copies of the pages needed to log offline (and the photos
//             the log form's camera lays over its view), then answer
//             "uploaded": the outbox uploaded something; renew every page kept that shows it
//             "logged-out": drop the patient's pages, and stop this phone's reminders
//   sync      Background Sync: upload the outbox, then renew those pages
//   push      a reminder from the server (webapp/reminders): show it as a notification
//   notificationclick   focus an open Skinlog window on the reminder's page, or open one
//   pushsubscriptionchange   the browser replaced the subscription: tell the server the new one
import { API, freshToken } from "/static/js/outbox/api.js";
import { SYNC_TAG, syncOutbox } from "/static/js/outbox/sync.js";

const VERSION = "__SHELL_VERSION__";
const SHELL_CACHE = `skinlog-shell-${VERSION}`; // static files: no personal data
const PAGES_CACHE = `skinlog-pages-${VERSION}`; // the patient's pages and photos: cleared at logout
const EXPECTED = [SHELL_CACHE, PAGES_CACHE];
const NETWORK_TIMEOUT_MS = 6000;
// A page fetched to be kept, body included: a stalled download must not hold a sync run forever.
const KEEP_TIMEOUT_MS = 30 * 1000;

// The app shell (static files, the offline page): one list, kept in webapp/pwa/routes.py, which
// writes it here when it serves this file, as it does the version.
const SHELL_FILES = __SHELL_FILES__;

// Pages that work offline, and the URL whose copy serves them (one blank log form for any date).
const SHELL_PAGES = { "/": "/", "/log": "/log?shell=1", "/sessions/new": "/sessions/new" };
// Read-only pages kept as last seen, per URL, and shown offline with a notice that they are a copy.
const READ_PAGES = ["/timeline", "/entries", "/compare", "/sessions"];

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(SHELL_CACHE);
    await cache.addAll(SHELL_FILES.map((url) => new Request(url, { cache: "reload" })));
    await warmShell().catch(() => {});
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith("skinlog-") && !EXPECTED.includes(name)) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

// Keeps a copy of a response under `key`, but only once its whole body has arrived. Given a
// response still downloading, Chromium's cache.put() drops the previous copy at once and streams
// the body in: a download cut off midway (signal lost) left no copy at all, and the page did not
// open offline. An already complete body is stored in one step.
//
// `fetchedAt` is when the download began: one that began before a logout is not kept, so a page
// of the patient who just logged out cannot come back into the cache after it was cleared. Nor
// does a download replace a copy of the same URL that began later: a page fetched before an
// upload and slow to arrive would otherwise overwrite the copy renewed after it.
let loggedOutAt = 0;
const keptFetchedAt = new Map(); // URL -> when the download of its kept copy began

async function keep(key, response, fetchedAt) {
  const body = await response.arrayBuffer();
  const url = typeof key === "string" ? key : key.url;
  if (fetchedAt <= loggedOutAt || fetchedAt < (keptFetchedAt.get(url) || 0)) return;
  keptFetchedAt.set(url, fetchedAt);
  const cache = await caches.open(PAGES_CACHE);
  await cache.put(key, new Response(body, {
    status: response.status, statusText: response.statusText, headers: response.headers,
  }));
}

// Fetch a page while logged in and keep it under its URL; a redirect (to the login page) is not.
async function fetchAndKeep(url) {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), KEEP_TIMEOUT_MS);
  try {
    const fetchedAt = Date.now();
    const response = await fetch(url, { credentials: "same-origin", cache: "no-store",
      signal: abort.signal });
    if (response.ok && !response.redirected) await keep(url, response, fetchedAt);
  } finally {
    clearTimeout(timer);
  }
}

// Fetch the logging pages, then the camera's ghosts. Settles only when every page is fetched and
// kept (or has failed), so nothing is left in flight.
async function warmShell() {
  const results = await Promise.allSettled(Object.values(SHELL_PAGES).map(fetchAndKeep));
  const failed = results.find((result) => result.status === "rejected");
  if (failed) throw failed.reason;
  await keepGhosts();
}

// The log form's camera lays each area's last photo over its view (static/js/camera/ghost.js);
// the form's copy names them (data-ghosts). Those this phone holds no copy of are kept, so the
// camera shows them with no signal, also a photo uploaded from the outbox and never shown here.
// A photo never changes under its URL: one kept stays good.
async function keepGhosts() {
  const form = await caches.match(SHELL_PAGES["/log"], { cacheName: PAGES_CACHE });
  const named = form && /data-ghosts='([^']*)'/.exec(await form.text());
  let urls = [];
  try {
    urls = Object.values(JSON.parse(named ? named[1] : "{}"));
  } catch {
    return;
  }
  const cache = await caches.open(PAGES_CACHE);
  const missing = [];
  for (const url of urls) if (!(await cache.match(url))) missing.push(url);
  await Promise.allSettled(missing.map(fetchAndKeep));
}

// After an upload, every page kept that shows the patient's data is out of date: the logging
// pages (the log form's copy of the month tells which days have an entry) and the read-only
// copies. The outbox no longer holds what was uploaded, so until they are fetched again, the
// offline log form would open an uploaded day blank and saving would replace that entry.
async function renewPages() {
  const cache = await caches.open(PAGES_CACHE);
  const copies = (await cache.keys()).map((request) => new URL(request.url))
    .filter((url) => READ_PAGES.includes(url.pathname))
    .map((url) => url.pathname + url.search);
  await Promise.allSettled([warmShell(), ...copies.map(fetchAndKeep)]);
}

function withTimeout(promise, ms) {
  return Promise.race([promise, new Promise((_, reject) => {
    setTimeout(() => reject(new Error("timeout")), ms);
  })]);
}

async function handleNavigation(request) {
  const url = new URL(request.url);
  const shellKey = SHELL_PAGES[url.pathname];
  try {
    const fetchedAt = Date.now();
    const response = await withTimeout(fetch(request), NETWORK_TIMEOUT_MS);
    const plain = url.search === "" || (url.pathname === "/log" && url.search === "?shell=1");
    if (shellKey && plain && response.ok && !response.redirected && url.pathname !== "/log") {
      await keep(shellKey, response.clone(), fetchedAt);
    }
    if (READ_PAGES.includes(url.pathname) && response.ok && !response.redirected) {
      await keep(url.pathname + url.search, response.clone(), fetchedAt);
    }
    return response;
  } catch {
    const cached = shellKey && await caches.match(shellKey, { cacheName: PAGES_CACHE });
    if (cached) return cached;
    if (READ_PAGES.includes(url.pathname)) {
      const copy = await caches.match(url.pathname + url.search, { cacheName: PAGES_CACHE })
        || await caches.match(url.pathname, { cacheName: PAGES_CACHE });
      if (copy) return markedAsOfflineCopy(copy);
    }
    return (await caches.match("/offline", { cacheName: SHELL_CACHE }))
      || new Response("Offline", { status: 503, headers: { "Content-Type": "text/plain" } });
  }
}

async function dropPatientPages() {
  for (const name of await caches.keys()) {
    if (name.startsWith("skinlog-pages-")) await caches.delete(name);
  }
}

// Shows the page's hidden "offline copy" notice, with when the copy was made.
async function markedAsOfflineCopy(response) {
  const saved = new Date(response.headers.get("Date") || Date.now());
  const when = saved.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
  const html = (await response.text())
    .replace("data-offline-copy hidden", "data-offline-copy")
    .replace("<span data-offline-copy-time></span>", `<span data-offline-copy-time>${when}</span>`);
  return new Response(html, { status: 200, headers: response.headers });
}

async function handleStatic(request) {
  const cached = await caches.match(request, { cacheName: SHELL_CACHE, ignoreSearch: true });
  return cached || fetch(request);
}

async function handlePhoto(request) {
  try {
    const fetchedAt = Date.now();
    const response = await fetch(request);
    if (response.ok) await keep(request, response.clone(), fetchedAt);
    return response;
  } catch (error) {
    const cached = await caches.match(request, { cacheName: PAGES_CACHE });
    if (cached) return cached;
    throw error;
  }
}

self.addEventListener("fetch", (event) => {
  const { request } = event;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  // The API, a clinician's shared view and the calendar feed are never answered from the cache.
  const uncached = ["/api/", "/s/", "/calendar/"];
  if (uncached.some((prefix) => url.pathname.startsWith(prefix))) return;
  if (request.mode === "navigate") event.respondWith(handleNavigation(request));
  else if (url.pathname.startsWith("/static/") || url.pathname === "/manifest.webmanifest") {
    event.respondWith(handleStatic(request));
  } else if (url.pathname.startsWith("/photos/")) event.respondWith(handlePhoto(request));
});

// The page may pass a MessagePort: it hears back when the pages are kept ({ok: true}) or not.
self.addEventListener("message", (event) => {
  if (event.data && event.data.type === "logged-out") {
    loggedOutAt = Date.now();
    event.waitUntil(Promise.all([dropPatientPages(), stopReminders()]).then(() => {
      if (event.ports[0]) event.ports[0].postMessage({ type: "pages-dropped" });
    }));
    return;
  }
  if (event.data && event.data.type === "uploaded") {
    event.waitUntil(renewPages().then(() => {
      if (event.ports[0]) event.ports[0].postMessage({ type: "pages-renewed" });
    }));
    return;
  }
  if (!event.data || event.data.type !== "warm-shell") return;
  event.waitUntil(warmShell().then(() => true, () => false).then((ok) => {
    if (event.ports[0]) event.ports[0].postMessage({ type: "shell-warm", ok });
  }));
});

self.addEventListener("sync", (event) => {
  if (event.tag !== SYNC_TAG) return;
  event.waitUntil(syncOutbox({ afterUpload: renewPages }).then((result) => {
    // Throwing makes the browser try again later; a rejected item waits for the patient.
    if (result.stopped === "network") throw new Error("still offline");
  }));
});

// A reminder's payload is small JSON, {"title", "body", "url"}: it passes through the browser
// vendor's push service, so it says no more than "Time to log day 3 after session 2". A push
// that is not that JSON still shows a plain reminder: Chromium counts a push shown nothing.
const REMINDER = { title: "Skinlog", body: "Time to log today.", url: "/log" };

function reminderOf(data) {
  let payload = {};
  try {
    payload = (data && data.json()) || {};
  } catch {
    // not JSON: the plain reminder
  }
  const text = (value, fallback) => (typeof value === "string" && value ? value : fallback);
  // Only a page of this site: a payload cannot send the patient elsewhere.
  let url = REMINDER.url;
  try {
    const target = new URL(text(payload.url, REMINDER.url), self.location.origin);
    if (target.origin === self.location.origin) url = target.pathname + target.search;
  } catch {
    // a bad URL: the log
  }
  return { title: text(payload.title, REMINDER.title), body: text(payload.body, REMINDER.body), url };
}

// At logout this phone stops reminding the patient who leaves it (a shared phone must not show
// their reminders to the next person). The push service then answers the server's next reminder
// with 410, and the sender removes the device from the patient's list.
async function stopReminders() {
  const subscription = await self.registration.pushManager.getSubscription().catch(() => null);
  if (subscription) await subscription.unsubscribe().catch(() => false);
}

self.addEventListener("push", (event) => {
  const reminder = reminderOf(event.data);
  event.waitUntil(self.registration.showNotification(reminder.title, {
    body: reminder.body,
    icon: "/static/icons/icon-192.png",
    badge: "/static/icons/icon-192.png",
    tag: "skinlog-reminder", // a newer reminder replaces an unread one
    data: { url: reminder.url },
  }));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const url = (event.notification.data && event.notification.data.url) || REMINDER.url;
  event.waitUntil((async () => {
    const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
    const open = windows.find((client) => new URL(client.url).origin === self.location.origin);
    if (open) {
      // focus() may be refused (no user activation left); the page is navigated all the same.
      const client = (await open.focus().catch(() => null)) || open;
      if (await client.navigate(url).catch(() => null)) return undefined;
    }
    return self.clients.openWindow(url);
  })());
});

// The browser replaced this phone's subscription (Firefox does when one expires): the server
// learns the new one, so reminders keep coming; the old one answers 410 and the sender removes
// it. Logged out or offline, nothing is sent: the patient can tap "Remind me" again.
self.addEventListener("pushsubscriptionchange", (event) => {
  event.waitUntil((async () => {
    const subscription = event.newSubscription
      || await self.registration.pushManager.subscribe(event.oldSubscription.options);
    const { csrf_token: token } = await freshToken();
    await fetch(`${API}/push-subscriptions`, {
      method: "POST", credentials: "same-origin", cache: "no-store",
      headers: { "Content-Type": "application/json", "X-CSRFToken": token },
      body: JSON.stringify(subscription.toJSON()),
    });
  })().catch(() => {}));
});
