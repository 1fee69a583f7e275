// The log form and the session form save into the outbox first, then upload. Progressive
// enhancement: without JavaScript (or without IndexedDB) the plain HTML form posts as before.
// ?outbox=<seq> re-opens a queued item to fix it; ?date=YYYY-MM-DD picks the day offline
// (log-date.js then fills in what the phone knows of that day).
import * as queue from "./queue.js";
import { shrinkPhoto } from "./photos.js";
import { syncForForm } from "./autosync.js";
import { requestBackgroundSync } from "./sync.js";
import { setFlash } from "./flash.js";

const account = document.querySelector('meta[name="skinlog-account"]')?.content || "";
const params = new URLSearchParams(location.search);

function newUuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function localToday() {
  const now = new Date();
  return new Date(now.getTime() - now.getTimezoneOffset() * 60000).toISOString().slice(0, 10);
}

// "" means not answered; digits become a number; anything else is left for the server to refuse.
const intOrText = (raw) => (raw == null || String(raw).trim() === "" ? null
  : /^\d{1,5}$/.test(String(raw).trim()) ? Number(raw) : String(raw).trim());

function numberOrText(raw) {
  if (raw == null || String(raw).trim() === "") return null;
  const value = Number(String(raw).trim().replace(",", "."));
  return Number.isFinite(value) ? value : String(raw);
}

function entryBody(form) {
  const data = new FormData(form);
  const ratings = {};
  for (const select of form.querySelectorAll(".ratings-fieldset select")) {
    ratings[select.name] = intOrText(select.value);
  }
  return { date: data.get("date") || "", ratings,
    pie_severity: intOrText(data.get("pie_severity")), pih_severity: intOrText(data.get("pih_severity")),
    red_flags: data.getAll("red_flags"), aftercare: data.getAll("aftercare"),
    notes: data.get("notes") || "" };
}

function sessionBody(form) {
  const data = new FormData(form);
  return { date: data.get("date") || "", device: data.get("device") || "",
    needle_depth_mm: numberOrText(data.get("needle_depth_mm")),
    areas: data.getAll("areas"), topicals: data.getAll("topicals"),
    setting: data.get("setting") || "clinic", provider: data.get("provider") || "",
    notes: data.get("notes") || "" };
}

export function fill(form, values) {
  for (const element of form.elements) {
    if (!element.name || !(element.name in values) || element.type === "file") continue;
    const value = values[element.name];
    if (element.type === "checkbox") element.checked = (value || []).includes(element.value);
    else if (element.type === "radio") element.checked = value != null && String(value) === element.value;
    else if (element.type !== "hidden") element.value = value == null ? "" : String(value);
  }
}

export function notice(form, className, role, lines) {
  form.parentElement.querySelector("[data-outbox-notice]")?.remove();
  const box = document.createElement("div");
  box.className = className;
  box.setAttribute("role", role);
  box.dataset.outboxNotice = "";
  for (const line of lines) {
    const p = document.createElement("p");
    p.textContent = line;
    box.append(p);
  }
  form.before(box);
  box.scrollIntoView({ block: "center" });
}

function labelFor(form, field) {
  const id = field.replace(/^ratings\./, "");
  const label = form.querySelector(`label[for="${CSS.escape(id)}"]`);
  return label ? label.textContent.trim() : id.replace(/_/g, " ");
}

export function showRejection(form, error) {
  const lines = [`Not uploaded yet — ${error.what}: ${error.message}`];
  for (const [field, problem] of Object.entries(error.fields || {})) {
    if (field !== "file") lines.push(`${labelFor(form, field)}: ${problem}`);
    const input = form.querySelector(`#${CSS.escape(field.replace(/^ratings\./, ""))}`);
    if (input) input.setAttribute("aria-invalid", "true");
  }
  lines.push("Fix it below and save again, or discard it from the list at the top.");
  notice(form, "alert", "alert", lines);
}

export function queuedPhotoList(form, item) {
  const pending = (item.photos || []).filter((photo) => !photo.done);
  if (!pending.length) return;
  const box = document.createElement("div");
  box.className = "queued-photos";
  const title = document.createElement("p");
  title.textContent = `${pending.length} photo(s) waiting on this phone:`;
  box.append(title);
  for (const photo of pending) {
    const label = document.createElement("label");
    label.className = "choice";
    const input = document.createElement("input");
    input.type = "checkbox";
    input.name = "remove_queued";
    input.value = photo.uuid;
    label.append(input, ` Remove the ${photo.area.replace(/_/g, " ")} photo (${photo.name})`);
    box.append(label);
  }
  (form.querySelector("fieldset.photos") || form).prepend(box);
}

async function photosFrom(form) {
  const photos = [];
  for (const input of form.querySelectorAll('input[type="file"][name^="photo_"]')) {
    const file = input.files && input.files[0];
    if (!file) continue;
    const area = form.elements[`${input.name}_area`]?.value || "other";
    photos.push({ uuid: newUuid(), area, done: false, ...(await shrinkPhoto(file)) });
  }
  return photos;
}

async function queueEntry(form, fixing) {
  const body = { ...entryBody(form), client_updated_at: new Date().toISOString() };
  const newPhotos = await photosFrom(form);
  const existing = fixing || await queue.findFor("entry", { date: body.date });
  const known = form.dataset.entryDate === body.date ? form.dataset.entryId : null;
  const item = existing || { kind: "entry", uuid: known || newUuid(), photos: [], photo_deletes: [] };
  const dropped = new Set(new FormData(form).getAll("remove_queued"));
  const removals = new FormData(form).getAll("remove_photo").map((uuid) => ({ uuid, done: false }));
  item.photos = [...(item.photos || []).filter((p) => !dropped.has(p.uuid)), ...newPhotos];
  item.photo_deletes = [...(item.photo_deletes || []), ...removals];
  return finish(item, body);
}

async function queueSession(form, fixing) {
  const body = { ...sessionBody(form), client_updated_at: new Date().toISOString() };
  const item = fixing || { kind: "session", uuid: form.dataset.sessionId || newUuid() };
  return finish(item, body);
}

function finish(item, body) {
  item.row_done = false; // the entry itself must be sent again
  return queue.putWaiting(item, body, account);
}

function afterUpload(kind, uuid, body) {
  if (kind === "entry" && body.red_flags.length) {
    setFlash("You reported a warning sign. Please contact your clinician or a doctor soon; "
      + "if you feel very unwell, seek urgent care.", "warning");
  } else {
    setFlash(kind === "entry" ? "Saved." : "Treatment session saved.");
  }
  location.assign(kind === "entry" ? `/entries/${uuid}` : "/sessions");
}

async function onSubmit(event, form, kind, state) {
  event.preventDefault();
  const button = form.querySelector('button[type="submit"]');
  if (state.busy) return;
  state.busy = true;
  button.disabled = true;
  try {
    await saveAndUpload(form, kind, state);
  } finally {
    state.busy = false;
    button.disabled = false;
  }
}

async function saveAndUpload(form, kind, state) {
  let seq;
  try {
    seq = kind === "entry" ? await queueEntry(form, state.fixing) : await queueSession(form, state.fixing);
  } catch (error) {
    if (navigator.onLine) { form.submit(); return; } // no outbox here: plain HTML post
    notice(form, "alert", "alert", [`Could not keep this on the phone (${error.message}).`]);
    return;
  }
  // Saving again from this page edits the same queued item.
  state.fixing = await queue.get(seq);
  const body = state.fixing.body;
  if (navigator.storage && navigator.storage.persist) navigator.storage.persist().catch(() => {});
  requestBackgroundSync();
  for (const input of form.querySelectorAll('input[type="file"]')) input.value = "";
  const saved = () => notice(form, "flash flash-success", "status", [
    "Saved on this phone. It uploads by itself when you are back online."]);
  if (!navigator.onLine) { saved(); return; }
  const result = await syncForForm();
  const still = await queue.get(seq);
  const sent = result && result.sent.find((done) => done.seq === seq);
  if (!still && sent) { afterUpload(kind, sent.uuid, body); return; }
  if (still && still.state === "rejected") showRejection(form, still.error);
  else if (result && result.stopped === "auth") {
    notice(form, "alert", "alert", ["Saved on this phone. You are logged out: log in to upload it."]);
  } else saved();
}

async function enhance(form, kind) {
  if (!("indexedDB" in self)) return;
  const state = { fixing: null, busy: false };
  form.addEventListener("submit", (event) => onSubmit(event, form, kind, state));
  const dateInput = form.elements.date;
  const today = localToday();
  if (dateInput && (!dateInput.max || dateInput.max < today)) dateInput.max = today;
  const chosen = params.get("date");
  if (params.get("outbox")) {
    const item = await queue.get(Number(params.get("outbox"))).catch(() => null);
    if (item && item.kind === kind) {
      state.fixing = item;
      fill(form, kind === "entry" ? { ...item.body, ...item.body.ratings } : item.body);
      if (kind === "entry") queuedPhotoList(form, item);
      if (item.error) showRejection(form, item.error);
    }
  } else if (dateInput && chosen && /^\d{4}-\d{2}-\d{2}$/.test(chosen)) {
    dateInput.value = chosen; // the offline shell serves every ?date= with one cached form
  } else if (dateInput && !form.dataset.entryId && !form.dataset.sessionId
             && dateInput.value < today) {
    dateInput.value = today; // a form cached yesterday opens on today
  }
}

const entryForm = document.querySelector("form[data-entry-form]");
if (entryForm) enhance(entryForm, "entry");
const sessionForm = document.querySelector("form[data-session-form]");
if (sessionForm) enhance(sessionForm, "session");
