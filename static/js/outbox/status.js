// Shows what waits on this phone: how many items, when the last sync happened, whether the login
// must be renewed, and each rejected item with its reason and a way to fix or discard it.
// Also shows a message a form left for the next page (flash.js).
import * as queue from "./queue.js";
import { takeFlash } from "./flash.js";

const panel = document.querySelector("[data-sync-status]");
const signedIn = Boolean(document.querySelector('meta[name="skinlog-account"]')?.content);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  node.append(...children);
  return node;
}

function when(iso) {
  const time = new Date(iso);
  const sameDay = time.toDateString() === new Date().toDateString();
  return sameDay ? time.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })
    : time.toLocaleString([], { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
}

function describe(item) {
  if (item.kind === "delete") return `Deleting ${item.label}`;
  const day = new Date(`${item.body.date}T12:00:00`);
  const date = Number.isNaN(day.getTime()) ? item.body.date || "no date"
    : day.toLocaleDateString([], { day: "numeric", month: "short" });
  return item.kind === "entry" ? `Entry for ${date}` : `Session of ${date}`;
}

function rejectedRow(item) {
  const fixUrl = `${item.kind === "entry" ? "/log" : "/sessions/new"}?outbox=${item.seq}`;
  const problems = Object.entries(item.error.fields || {})
    .filter(([, problem]) => problem !== item.error.message)
    .map(([field, problem]) => `${field.replace(/^ratings\./, "")}: ${problem}`).join("; ");
  const question = item.kind === "delete"
    ? `Forget deleting ${item.label}? It stays in your account.`
    : `Discard “${describe(item)}” from this phone? It was not uploaded.`;
  const discard = async () => {
    if (!window.confirm(question)) return;
    await queue.removeIf(item.seq);
  };
  // A delete has nothing to fix in a form: it can only be forgotten.
  const fix = item.kind === "delete" ? [] : [el("a", { class: "button", href: fixUrl }, "Fix")];
  return el("li", { class: "outbox-rejected" },
    el("p", {}, el("strong", {}, `${describe(item)} was not accepted. `),
      `${item.error.what}: ${item.error.message}${problems ? ` (${problems})` : ""}`),
    el("p", { class: "outbox-actions" }, ...fix,
      el("button", { type: "button", class: "button danger", onclick: discard }, "Discard")));
}

async function render() {
  const items = await queue.all();
  const lastSync = await queue.getMeta("last_sync");
  const authNeeded = await queue.getMeta("auth_needed");
  const waiting = items.filter((item) => item.state !== "rejected");
  const rejected = items.filter((item) => item.state === "rejected");
  panel.replaceChildren();
  if (!items.length && !(signedIn && lastSync)) { panel.hidden = true; return; }
  // Nothing waiting is good news, told quietly; waiting items get the box.
  panel.classList.toggle("idle", !items.length);
  const summary = el("p", { class: "outbox-summary", "data-outbox-count": String(items.length) });
  summary.append(items.length
    ? `${items.length} ${items.length === 1 ? "item" : "items"} waiting to upload.`
    : "Everything is uploaded.");
  summary.append(` Last sync: ${lastSync ? when(lastSync) : "not yet"}.`);
  panel.append(summary);
  if (authNeeded && items.length) {
    const next = encodeURIComponent(location.pathname + location.search);
    panel.append(el("p", { class: "alert", role: "alert" },
      "You are logged out, so nothing can upload. ",
      el("a", { href: `/login?next=${next}` }, "Log in"),
      " and your items upload by themselves."));
  }
  if (waiting.length && navigator.onLine && !authNeeded) {
    panel.append(el("p", {}, el("button", { type: "button", class: "button",
      onclick: () => window.dispatchEvent(new Event("skinlog-sync-now")) }, "Upload now")));
  }
  if (rejected.length) panel.append(el("ul", { class: "outbox-list" }, ...rejected.map(rejectedRow)));
  panel.hidden = false;
}

// As the server shows its flashed messages (templates/base.html): a warning is an alert.
function showFlash() {
  const flash = takeFlash();
  if (!flash) return;
  document.querySelector("main").prepend(el("p", { class: `flash flash-${flash.level}`,
    role: flash.level === "warning" ? "alert" : "status" }, flash.message));
}

if (panel && "indexedDB" in self) {
  showFlash();
  // One render at a time. A change that arrives during a render (the service worker's sync
  // removing an item, say) renders again afterwards: dropping it left "1 item waiting" on screen
  // after the item had gone.
  let rendering = false;
  let changedMeanwhile = false;
  const refresh = async () => {
    if (rendering) { changedMeanwhile = true; return; }
    rendering = true;
    try {
      do {
        changedMeanwhile = false;
        await render().catch(() => {});
      } while (changedMeanwhile);
    } finally {
      rendering = false;
    }
  };
  queue.onChange(refresh);
  window.addEventListener("online", refresh);
  window.addEventListener("offline", refresh);
  refresh();
}
