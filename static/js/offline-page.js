// The offline page is cached for anyone, logged in or not. It offers to log a day only while this
// phone holds a login: the service worker keeps the offline log form for a logged-in patient, and
// logging out deletes it (logout.js).
const logging = document.querySelector("[data-offline-logging]");

if (logging && "caches" in self) {
  caches.match("/log?shell=1").then((form) => { logging.hidden = !form; }, () => {});
}
