// Entries still waiting on this phone to upload show in the entry lists (Entries, Today), marked
// "Waiting to upload" (templates/diary/_entry_list.html). Once uploaded the mark goes; the row
// stays until the page is loaded again, from the server.
import * as queue from "./queue.js";

const list = document.querySelector("ul[data-pending-entries]");
const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

// As the server writes it ("%a %d %b %Y").
function dayText(iso) {
  const day = new Date(`${iso}T12:00:00`);
  if (Number.isNaN(day.getTime())) return iso || "No date";
  return `${DAYS[day.getDay()]} ${String(day.getDate()).padStart(2, "0")} ${MONTHS[day.getMonth()]} ${day.getFullYear()}`;
}

function span(className, text) {
  const node = document.createElement("span");
  node.className = className;
  node.textContent = text;
  return node;
}

function newRow(item) {
  const { date, ratings = {}, red_flags: flags = [] } = item.body;
  const link = document.createElement("a");
  link.href = `/log?date=${encodeURIComponent(date)}`;
  const redness = ratings.redness ?? "";
  link.append(span("entry-date", dayText(date)),
    span("entry-summary", [redness === "" ? "" : `Redness ${redness}/10`,
      flags.length ? "warning sign" : ""].filter(Boolean).join(" · ")));
  const row = document.createElement("li");
  row.className = "entry-item";
  row.dataset.rowUuid = item.uuid;
  row.dataset.date = date;
  row.append(link);
  // Newest first, as the server lists them.
  const later = [...list.children].find((other) => (other.dataset.date || "") < date);
  list.insertBefore(row, later || null);
  return row;
}

function mark(row, item) {
  let label = row.querySelector("[data-waiting-mark]");
  if (!label) {
    label = span("entry-waiting", "");
    label.dataset.waitingMark = "";
    row.querySelector("a").append(label);
  }
  label.textContent = item.state === "rejected" ? "Not uploaded: needs a fix" : "Waiting to upload";
}

async function render() {
  const items = (await queue.all()).filter((item) => item.kind === "entry");
  const rows = [...list.children];
  const marked = new Set();
  for (const item of items) {
    const row = rows.find((other) => other.dataset.rowUuid === item.uuid)
      || rows.find((other) => other.dataset.date === item.body.date) || newRow(item);
    mark(row, item);
    marked.add(row);
  }
  for (const label of list.querySelectorAll("[data-waiting-mark]")) {
    if (!marked.has(label.closest("li"))) label.remove();
  }
  if (list.children.length) {
    list.hidden = false;
    const host = list.closest("[data-pending-host]");
    if (host) host.hidden = false;
    document.querySelector("[data-pending-empty]")?.setAttribute("hidden", "");
  }
}

if (list && "indexedDB" in self) {
  let running = Promise.resolve();
  const refresh = () => { running = running.then(render).catch(() => {}); };
  queue.onChange(refresh);
  refresh();
}
