// The Log form shows one day. Changing its date opens that day (/log?date=…) instead of writing
// over it: online the server's page, with the day's entry if it has one; offline the service
// worker's blank form, which this module fills in from what the phone knows of the day: an entry
// waiting in the outbox, else the copy of the last month that the offline form carries
// (data-phone-copy, webapp/diary/phone_copy.py). A day the phone cannot know about is saved over
// only once the patient says so. What the patient had changed before picking another day is
// carried over to it (sessionStorage); chosen photos cannot be, so it asks first.
// Without JavaScript the server refuses to save over another entry (loaded_entry).
import * as queue from "./outbox/queue.js";
import "./outbox/forms.js"; // first: it applies ?date= (or today) to the offline form
import { fill } from "./outbox/form-values.js";
import { notice } from "./outbox/notice.js";
import { queuedPhotoList } from "./outbox/queued-photos.js";

const CARRY = "skinlog-log-carry";
const form = document.querySelector("form[data-entry-form]");
const dateInput = form?.elements.date;
const shell = Boolean(form && "phoneCopy" in form.dataset);
const params = new URLSearchParams(location.search);

let shownDay = null; // the day the form shows
let loadedAnswers = null; // the answers as loaded (or last saved): what counts as a change
let askBeforeSaving = null; // a question to ask before saving, when the day cannot be checked

const isDay = (value) => /^\d{4}-\d{2}-\d{2}$/.test(value || "") && value >= "2000-01-01";

function dayLabel(day) {
  return new Date(`${day}T12:00:00`).toLocaleDateString([], {
    weekday: "short", day: "numeric", month: "short", year: "numeric" });
}

function when(iso) {
  return new Date(iso).toLocaleString([], {
    day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
}

// --- The patient's answers -----------------------------------------------------------------------

// The fields an entry is made of, by name, as the form holds them now.
function answers() {
  const data = new FormData(form);
  const out = {};
  for (const group of form.querySelectorAll("[data-rating]")) {
    out[group.dataset.rating] = data.get(group.dataset.rating) || "";
  }
  for (const name of ["pie_severity", "pih_severity"]) {
    if (form.elements[name]) out[name] = data.get(name);
  }
  for (const name of ["red_flags", "aftercare"]) out[name] = data.getAll(name);
  out.notes = data.get("notes") || "";
  return out;
}

function changedSince(before) {
  return Object.fromEntries(Object.entries(answers())
    .filter(([name, value]) => JSON.stringify(value) !== JSON.stringify(before[name])));
}

function labelOf(name) {
  if (name === "red_flags") return "Warning signs";
  const label = form.querySelector(`label[for="${CSS.escape(name)}"]`);
  if (label) return label.textContent.trim();
  const field = form.elements[name];
  const first = field instanceof RadioNodeList ? field[0] : field;
  const legend = first?.closest("fieldset")?.querySelector("legend");
  return legend?.firstChild?.textContent.trim() || name;
}

const photosChosen = () => [...form.querySelectorAll('input[type="file"]')]
  .some((input) => input.files && input.files.length);

// --- What the phone knows of a day ---------------------------------------------------------------

// {item}: an entry waiting in the outbox. {entry, asOf}: the offline form's copy of a saved entry.
// {unknown: true}: the phone cannot tell. {}: no entry that day, as far as the phone knows.
async function dayOnPhone(day) {
  const items = await queue.all().catch(() => []);
  const item = items.find((it) => it.kind === "entry" && it.body && it.body.date === day);
  if (!shell) return { item }; // the server's page shows the saved entry itself
  let copy = null;
  try {
    copy = JSON.parse(form.dataset.phoneCopy);
  } catch {
    copy = null;
  }
  if (!copy || !copy.entries || day < copy.since) return { item, unknown: !item };
  const entry = copy.entries[day];
  const deleted = entry && items.some((it) => it.kind === "delete" && it.uuid === entry.id);
  return { item, entry: deleted ? null : entry, asOf: copy.as_of };
}

function areaLabel(area) {
  const option = form.querySelector(`select[name$="_area"] option[value="${CSS.escape(area)}"]`);
  return option ? option.textContent.trim() : area.replace(/_/g, " ");
}

// The saved photos of a copied entry, each with its "Remove" box as the server's form has them,
// and only as many photo slots as the entry has room for.
function showSavedPhotos(photos) {
  const fieldset = form.querySelector("fieldset.photos");
  if (!fieldset || !photos.length) return;
  const list = document.createElement("ul");
  list.className = "photo-grid small";
  for (const photo of photos) {
    const name = areaLabel(photo.area);
    const img = document.createElement("img");
    Object.assign(img, { src: `/photos/${photo.id}/thumb.jpg`, alt: `${name} photo`, width: 96,
      height: 96 });
    img.addEventListener("error", () => img.remove()); // a thumbnail this phone never kept
    const box = document.createElement("input");
    Object.assign(box, { type: "checkbox", name: "remove_photo", value: photo.id });
    const label = document.createElement("label");
    label.className = "choice";
    label.append(box, ` Remove ${name.toLowerCase()} photo`);
    const li = document.createElement("li");
    li.append(img, label);
    list.append(li);
  }
  fieldset.querySelector("legend")?.after(list);
  const slots = [...fieldset.querySelectorAll(".photo-slot")];
  for (const slot of slots.slice(Math.max(0, slots.length - photos.length))) slot.remove();
  const more = fieldset.querySelector("details.more-photos");
  if (more && !more.querySelector(".photo-slot")) more.remove();
}

// Saving now edits this entry (forms.js queues it under this id; the plain post names it).
function showAsEntry(id, day) {
  form.dataset.entryId = id;
  form.dataset.entryDate = day;
  if (form.elements.loaded_entry) form.elements.loaded_entry.value = id;
  const heading = document.querySelector("main h1");
  if (heading) heading.textContent = "Edit entry";
}

function mayHaveEntry(day, why) {
  askBeforeSaving = `You may already have an entry for ${dayLabel(day)}. Saving will replace `
    + "its ratings, marks and notes with this form (its photos are kept). Save anyway?";
  notice(form, "alert", "alert", [
    "You may already have an entry for this day; saving will replace it.",
    `${why} Photos already in it are kept. To change only part of it, wait until you are back `
      + "online."]);
}

// Fills the form with what the phone knows of `day`. Returns [lines to tell, shows an entry?].
async function loadDay(day) {
  const known = await dayOnPhone(day);
  const lines = [];
  if (known.entry) {
    fill(form, known.entry.values);
    showAsEntry(known.entry.id, day);
    showSavedPhotos(known.entry.photos || []);
    if (!known.item) {
      lines.push(`${dayLabel(day)} already has an entry: it is shown below as this phone last saw `
        + `it (${when(known.asOf)}). Without a connection, what you save waits on this phone and `
        + "uploads when you are back online.");
    }
  }
  if (known.item) {
    fill(form, { ...known.item.body, ...known.item.body.ratings }); // newer than any copy
    if (form.dataset.entryDate !== day) showAsEntry(known.item.uuid, day);
    queuedPhotoList(form, known.item);
    lines.push(`${dayLabel(day)} already has an entry: it is shown below as saved on this phone `
      + "(not uploaded yet).");
  }
  if (known.unknown) {
    mayHaveEntry(day, "Without a connection this phone can show only the entries of the last "
      + "month.");
  }
  return [lines, form.dataset.entryDate === day];
}

// --- Changing the date ---------------------------------------------------------------------------

async function openDay(day) {
  if (!navigator.onLine && "caches" in self && !(await caches.match("/log?shell=1"))) {
    // No signal, and no offline form kept to open: stay on this one, and ask before saving.
    shownDay = day;
    mayHaveEntry(day, "This phone has no copy of your entries to check without a connection.");
    return;
  }
  try {
    const values = changedSince(loadedAnswers);
    sessionStorage.setItem(CARRY, JSON.stringify({ date: day, values }));
  } catch {
    // No session storage: the day opens without what was changed here.
  }
  location.replace(`/log?date=${encodeURIComponent(day)}`);
}

function onDateChange() {
  const day = dateInput.value;
  if (!isDay(day) || day === shownDay) return; // half-typed, or no change
  if (photosChosen() && !window.confirm(`Open ${dayLabel(day)}? The photos you chose here are `
      + "not carried over: choose them again there.")) {
    dateInput.value = shownDay;
    return;
  }
  openDay(day);
}

function onSubmit(event) {
  if (event.target !== form) return;
  if (askBeforeSaving && !window.confirm(askBeforeSaving)) {
    event.preventDefault();
    event.stopImmediatePropagation(); // forms.js never hears of it: nothing is queued
    return;
  }
  askBeforeSaving = null;
  loadedAnswers = answers(); // saved: no longer changes to carry to another day
}

function takeCarried() {
  try {
    const carried = JSON.parse(sessionStorage.getItem(CARRY) || "null");
    sessionStorage.removeItem(CARRY);
    return carried && carried.date === shownDay ? carried.values || {} : null;
  } catch {
    return null;
  }
}

async function start() {
  shownDay = dateInput.value; // forms.js has already applied ?date= (or today) to the offline form
  loadedAnswers = answers();
  dateInput.addEventListener("change", onDateChange);
  // Capture, on the document: runs before the form's own listener (forms.js), so it can stop it.
  document.addEventListener("submit", onSubmit, true);
  const carried = takeCarried();
  const [lines, showsEntry] = await loadDay(shownDay);
  loadedAnswers = answers();
  if (carried) {
    const names = Object.keys(carried);
    fill(form, carried);
    if (showsEntry && !lines.length) {
      lines.push(`${dayLabel(shownDay)} already has an entry: it is shown below.`);
    }
    if (showsEntry && names.length) {
      lines.push(`What you had changed before picking this day is kept on top: `
        + `${names.map(labelOf).join(", ")}. Check it before saving.`);
    }
  }
  if (lines.length) notice(form, "flash", "status", lines);
}

// ?outbox=<seq> re-opens a queued item to fix it (forms.js): its date belongs to that item.
if (form && dateInput && !params.get("outbox")) start();
