// Logging out on a shared phone removes the patient's cached pages, photos and queued data.
// If items are still waiting to upload, it says so and asks before discarding them.
import * as queue from "./outbox/queue.js";
import { syncOutbox } from "./outbox/sync.js";

const form = document.querySelector("form[data-logout-form]");

// Tells the service worker first, so a page it is still downloading is not kept after this.
function tellServiceWorker() {
  const worker = navigator.serviceWorker && navigator.serviceWorker.controller;
  if (!worker) return Promise.resolve();
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => resolve();
    setTimeout(resolve, 3000); // a worker that does not answer must not block the logout
    worker.postMessage({ type: "logged-out" }, [channel.port2]);
  });
}

async function clearDevice() {
  await queue.clearAll();
  await tellServiceWorker();
  if ("caches" in self) {
    for (const name of await caches.keys()) {
      // Pages and photos go; the static app shell (no personal data) stays for the next login.
      if (name.startsWith("skinlog-pages-")) await caches.delete(name);
    }
  }
}

async function logout(event) {
  event.preventDefault();
  try {
    let waiting = (await queue.keys()).length;
    if (waiting && navigator.onLine) {
      await syncOutbox().catch(() => null);
      waiting = (await queue.keys()).length;
    }
    if (waiting) {
      const ok = window.confirm(`${waiting} ${waiting === 1 ? "item has" : "items have"} not been `
        + "uploaded yet. Logging out deletes them from this phone for good. Log out anyway?");
      if (!ok) return;
    }
    await clearDevice();
  } catch {
    // Storage unavailable: nothing of ours is on the phone; log out anyway.
  }
  form.submit();
}

if (form) form.addEventListener("submit", logout);
