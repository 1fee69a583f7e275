// A page served from the phone's copy says "No connection" (templates/base.html). Once the signal
// is back that is no longer true: it says the page may be out of date, with a way to the latest.
const notice = document.querySelector("[data-offline-copy]");

function backOnline() {
  if (notice.hidden) return;
  const latest = document.createElement("a");
  latest.href = location.pathname + location.search;
  latest.textContent = "Show the latest";
  notice.replaceChildren("Back online. This page is the copy saved on this phone. ", latest);
}

if (notice) window.addEventListener("online", backOnline);
