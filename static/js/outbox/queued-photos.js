// A queued entry re-opened in the log form: its photos still waiting on this phone, each with a
// box to tick to remove it before it uploads (form-queue.js reads the ticked "remove_queued").

/** @typedef {import("./item.js").OutboxItem} OutboxItem */

/**
 * @param {HTMLFormElement} form the log form
 * @param {OutboxItem} item an entry
 */
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
