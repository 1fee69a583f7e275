// "Same as yesterday": one tap fills the Log form with the last entry's ratings, PIE/PIH and
// aftercare (never its warning signs or notes), to adjust from there. Online the page carries
// that entry (data-last-entry, webapp/diary/usual.py); the offline form looks in the phone's
// copy of the month (data-phone-copy) and the outbox too. Without JavaScript it is a link to
// the form filled in by the server (?same=last).
import * as queue from "./outbox/queue.js";
import { fill } from "./outbox/form-values.js";

// The fields copied: webapp/diary/usual.py SAME_AS_LAST.
const FIELDS = ["redness", "swelling", "pain", "itching", "dryness", "bruising",
  "pie_severity", "pih_severity", "aftercare"];

const form = document.querySelector("form[data-entry-form]");
const button = form?.querySelector("[data-same-as-last]");
let last = null; // {date, values}

const pick = (values) => Object.fromEntries(FIELDS.filter((name) => name in values)
  .map((name) => [name, values[name]]));

function parsed(json) {
  try {
    return JSON.parse(json || "null");
  } catch {
    return null;
  }
}

// Every entry the page and the phone know of, as {date, values}.
async function knownEntries() {
  const known = [];
  const server = parsed(button.dataset.lastEntry);
  if (server) known.push(server);
  const copy = parsed(form.dataset.phoneCopy);
  for (const [date, entry] of Object.entries(copy?.entries || {})) {
    known.push({ date, values: entry.values });
  }
  for (const item of await queue.all().catch(() => [])) {
    if (item.kind === "entry" && item.body) {
      known.push({ date: item.body.date, values: { ...item.body, ...item.body.ratings } });
    }
  }
  return known;
}

function label(lastDay, day) {
  const days = Math.round((Date.parse(day) - Date.parse(lastDay)) / 86_400_000);
  if (days === 1) return "Same as yesterday";
  const when = new Date(`${lastDay}T12:00:00`);
  return `Same as ${when.toLocaleDateString("en-GB", { day: "numeric", month: "short" })}`;
}

async function start() {
  const day = form.elements.date.value;
  const before = (await knownEntries()).filter((entry) => entry.date && entry.date < day)
    .sort((a, b) => (a.date < b.date ? -1 : 1));
  last = before.at(-1) || null;
  button.hidden = !last;
  if (last) button.textContent = label(last.date, day);
}

if (form && button) {
  button.addEventListener("click", (event) => {
    if (!last) return; // not known yet: the server's link
    event.preventDefault();
    fill(form, pick(last.values));
  });
  start();
}
