// A camera button beside each photo slot's "Add photo" (only where the browser can open a
// camera: the file input stays either way). The photo taken goes into the slot's file input, as
// a chosen file would, so the preview (photo-picker.js), the outbox and the upload are the same.
import { cameraSupported } from "./camera.js";
import { ghostUrls } from "./ghost.js";
import { openCamera } from "./shutter.js";

const form = document.querySelector("form[data-entry-form]");
const dialog = document.querySelector("[data-camera-dialog]");
const ICON = '<svg viewBox="0 0 24 24" width="24" height="24" aria-hidden="true" focusable="false">'
  + '<path fill="currentColor" d="M9 3 7.2 5H4a2 2 0 0 0-2 2v11a2 2 0 0 0 2 2h16a2 2 0 0 0 2-2V7'
  + 'a2 2 0 0 0-2-2h-3.2L15 3H9zm3 4.5a5 5 0 1 1 0 10 5 5 0 0 1 0-10zm0 2a3 3 0 1 0 0 6 3 3 0 0 0'
  + ' 0-6z"/></svg>';

// What the slot says under its photo: what the gates saw when it was taken, or why the camera
// did not open.
function note(slot, text, role = "status") {
  let line = slot.querySelector(".camera-note");
  if (!line) {
    line = Object.assign(document.createElement("p"), { className: "camera-note" });
    slot.append(line);
  }
  line.setAttribute("role", role);
  line.textContent = text;
  line.hidden = !text;
}

function refusal(error) {
  if (error && (error.name === "NotAllowedError" || error.name === "SecurityError")) {
    return "The camera is not allowed for Skinlog.";
  }
  if (error && error.name === "NotFoundError") return "This device has no camera.";
  return "The camera could not be opened.";
}

function put(input, file) {
  const transfer = new DataTransfer();
  transfer.items.add(file);
  input.files = transfer.files;
  input.dispatchEvent(new Event("change", { bubbles: true }));
}

function enhance(slot, ghosts) {
  const input = slot.querySelector('input[type="file"]');
  const area = slot.querySelector("select");
  const name = slot.querySelector(".photo-label").textContent.trim();
  const button = Object.assign(document.createElement("button"), {
    type: "button", className: "button camera-button", innerHTML: ICON });
  button.setAttribute("aria-label", `Take ${name.toLowerCase()} with camera`);
  let taken = null; // the file the camera put in the input
  input.addEventListener("change", () => {
    if (input.files[0] !== taken) note(slot, ""); // another photo chosen: its note is gone
  });
  button.addEventListener("click", async () => {
    const areaName = area.selectedOptions[0]?.textContent.trim() || "";
    const answer = await openCamera({ title: `Camera: ${areaName}`,
      ghostUrl: ghosts[area.value] });
    button.focus();
    if (!answer) return;
    if (answer.error) {
      note(slot, `${refusal(answer.error)} Use "Add photo" instead.`, "alert");
      return;
    }
    taken = answer.file;
    try {
      put(input, taken);
    } catch {
      note(slot, 'This browser cannot add the photo. Use "Add photo" instead.', "alert");
      return;
    }
    note(slot, answer.warning ? `Taken while: ${answer.warning.toLowerCase()}.` : "");
  });
  slot.querySelector(".photo-pick").after(button);
  slot.classList.add("has-camera");
}

if (form && dialog && cameraSupported()) {
  const ghosts = ghostUrls(form);
  for (const slot of form.querySelectorAll("[data-photo-slot]")) enhance(slot, ghosts);
}
