// Registers the service worker (static/sw.js, served at /sw.js with scope /) and, once the patient
// is logged in, asks it to keep fresh copies of the pages needed to log offline. When the worker
// answers, <html data-shell-warm> says how that went ("done" or "failed"): until then its
// downloads are in flight.
const signedIn = Boolean(document.querySelector('meta[name="skinlog-account"]')?.content);

async function register() {
  const registration = await navigator.serviceWorker.register("/sw.js", { scope: "/", type: "module" });
  if (signedIn && navigator.onLine) {
    const worker = registration.active || (await navigator.serviceWorker.ready).active;
    const channel = new MessageChannel();
    channel.port1.onmessage = (event) => {
      document.documentElement.dataset.shellWarm = event.data && event.data.ok ? "done" : "failed";
      channel.port1.close();
    };
    worker.postMessage({ type: "warm-shell" }, [channel.port2]);
  }
}

if ("serviceWorker" in navigator) {
  register().catch(() => {
    // No service worker (old browser, private mode): logging still goes through the outbox.
  });
}
