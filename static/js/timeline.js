// Timeline pages: a metric picker that shows its choice at once, and the compare overlay slider.
// Without JavaScript the picker has its Show button and the photos stay side by side.
for (const form of document.querySelectorAll("form[data-autosubmit]")) {
  for (const select of form.querySelectorAll("select")) {
    select.addEventListener("change", () => form.requestSubmit());
  }
}

// The line between the two photos follows the range input, or a finger or mouse dragged on the
// photos themselves (the range stays the accessible control, and shows the same value).
for (const overlay of document.querySelectorAll("[data-overlay]")) {
  const range = overlay.querySelector("[data-overlay-range]");
  const frame = overlay.querySelector(".overlay-frame");
  const show = () => overlay.style.setProperty("--split", `${range.value}%`);
  const dragTo = (event) => {
    const box = frame.getBoundingClientRect();
    const percent = Math.round(((event.clientX - box.left) / box.width) * 100);
    range.value = String(Math.min(100, Math.max(0, percent)));
    show();
  };
  frame.addEventListener("pointerdown", (event) => {
    frame.setPointerCapture(event.pointerId);
    dragTo(event);
  });
  frame.addEventListener("pointermove", (event) => {
    if (frame.hasPointerCapture(event.pointerId)) dragTo(event);
  });
  range.addEventListener("input", show);
  show();
  overlay.hidden = false;
}
