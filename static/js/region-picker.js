// Drag a box on the photo to choose the measured region; it fills the four number fields.
// Without JavaScript the fields alone do the same.
const picker = document.querySelector("[data-region-picker]");
if (picker) {
  const box = picker.querySelector("[data-region-box]");
  const inputs = Object.fromEntries(
    [...document.querySelectorAll("[data-region-input]")].map((input) => [input.dataset.regionInput, input]),
  );
  const clamp = (value) => Math.min(100, Math.max(0, value));
  const at = (event) => {
    const rect = picker.getBoundingClientRect();
    return [clamp(((event.clientX - rect.left) / rect.width) * 100), clamp(((event.clientY - rect.top) / rect.height) * 100)];
  };
  const draw = () => {
    const [left, top, right, bottom] = ["left", "top", "right", "bottom"].map((name) => Number(inputs[name].value));
    if ([left, top, right, bottom].some(Number.isNaN) || right <= left || bottom <= top) return;
    box.setAttribute("x", left);
    box.setAttribute("y", top);
    box.setAttribute("width", right - left);
    box.setAttribute("height", bottom - top);
  };
  let start = null;
  picker.addEventListener("pointerdown", (event) => {
    start = at(event);
    picker.setPointerCapture(event.pointerId);
    event.preventDefault();
  });
  picker.addEventListener("pointermove", (event) => {
    if (!start) return;
    const [x, y] = at(event);
    const round = (value) => Math.round(value * 10) / 10;
    inputs.left.value = round(Math.min(start[0], x));
    inputs.right.value = round(Math.max(start[0], x));
    inputs.top.value = round(Math.min(start[1], y));
    inputs.bottom.value = round(Math.max(start[1], y));
    draw();
  });
  const stop = () => { start = null; };
  picker.addEventListener("pointerup", stop);
  picker.addEventListener("pointercancel", stop);
  for (const input of Object.values(inputs)) input.addEventListener("input", draw);
}
