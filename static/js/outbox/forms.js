// The log form and the session form save into the outbox first, then upload (save-flow.js).
// Progressive enhancement: without JavaScript (or without IndexedDB) the plain HTML form posts as
// before. ?outbox=<seq> re-opens a queued item to fix it; ?date=YYYY-MM-DD picks the day offline
// (log-date.js then fills in what the phone knows of that day).
import * as queue from "./queue.js";
import { fill } from "./form-values.js";
import { showRejection } from "./notice.js";
import { queuedPhotoList } from "./queued-photos.js";
import { saveAndUpload } from "./save-flow.js";

const params = new URLSearchParams(location.search);

function localToday() {
  const now = new Date();
  return new Date(now.getTime() - now.getTimezoneOffset() * 60000).toISOString().slice(0, 10);
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
