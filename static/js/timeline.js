// Timeline pages: a metric picker that shows its choice at once, and the compare overlay slider.
// Without JavaScript the picker has its Show button and the photos stay side by side.
for (const form of document.querySelectorAll("form[data-autosubmit]")) {
  form.querySelector("select")?.addEventListener("change", () => form.requestSubmit());
}

for (const overlay of document.querySelectorAll("[data-overlay]")) {
  const range = overlay.querySelector("[data-overlay-range]");
  const show = () => overlay.style.setProperty("--split", `${range.value}%`);
  range.addEventListener("input", show);
  show();
  overlay.hidden = false;
}
