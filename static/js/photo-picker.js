// Each photo slot of the Log form becomes an "Add photo" button (the file input lies over it,
// transparent, so a tap opens the camera or gallery) and shows the chosen photo with its name.
// Without JavaScript the plain file input stays; static/js/camera/slots.js adds a camera button.
for (const slot of document.querySelectorAll("[data-photo-slot]")) {
  const input = slot.querySelector('input[type="file"]');
  const button = slot.querySelector(".add-photo");
  const name = slot.querySelector(".photo-label").textContent.trim();
  const preview = Object.assign(document.createElement("img"), {
    className: "photo-preview", alt: `${name}, as chosen`, hidden: true, width: 44, height: 44 });
  const caption = Object.assign(document.createElement("span"), { className: "photo-name" });
  const hiddenWord = Object.assign(document.createElement("span"), {
    className: "visually-hidden", textContent: " photo" });
  let url = null;
  preview.addEventListener("load", () => { caption.textContent = ""; });
  // A photo this browser cannot show (e.g. HEIC): its name says what was chosen.
  preview.addEventListener("error", () => { preview.hidden = true; });
  input.addEventListener("change", () => {
    if (url) URL.revokeObjectURL(url);
    const file = input.files && input.files[0];
    url = file ? URL.createObjectURL(file) : null;
    preview.hidden = !file;
    if (url) preview.src = url;
    caption.textContent = file ? file.name : "";
    if (!file) button.textContent = "Add photo";
    // Beside the camera button and the preview, the area needs the room: "Change" is seen.
    else if (slot.classList.contains("has-camera")) button.replaceChildren("Change", hiddenWord);
    else button.textContent = "Change photo";
  });
  slot.querySelector(".photo-pick").after(preview);
  slot.append(caption);
  slot.classList.add("picker");
  button.hidden = false;
}
