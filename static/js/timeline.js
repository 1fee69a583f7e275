// Timeline pages: a metric picker that shows its choice at once, the compare overlay slider, and
// the compared photos drawn in the same framing when they were aligned.
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

// Two photos aligned to the same reference (webapp/timeline/compare.py): the second is stretched
// to the first one's box and moved into its framing; the box clips what falls outside, and shows
// a plain fill where the second photo has no pixels. Without JavaScript both show as taken.
const alignedNote = document.querySelector("[data-aligned-note]");
for (const photo of document.querySelectorAll("img[data-align-transform]")) {
  const box = photo.parentElement;
  Object.assign(box.style, {
    display: "block",
    overflow: "hidden",
    borderRadius: "0.5rem",
    background: "var(--muted)",
  });
  Object.assign(photo.style, {
    display: "block",
    aspectRatio: photo.dataset.alignAspect,
    height: "auto",
    objectFit: "fill",
    borderRadius: "0",
    transformOrigin: "0 0",
    transform: photo.dataset.alignTransform,
  });
  if (alignedNote) alignedNote.hidden = false;
}
