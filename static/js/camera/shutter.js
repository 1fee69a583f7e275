// The camera dialog of the log form (templates/diary/log.html): the live view with the ghost of
// the last photo and the framing oval, the gates' verdict on every frame, the shutter (by itself
// once every gate has passed for AUTO_FRAMES frames in a row, or on a tap whatever they say),
// then the photo taken, to use or take again. What was wrong when it was taken stays on it.
import { openStream, stopStream, cameraCount, takePhoto } from "./camera.js";
import { showGhost } from "./ghost.js";
import { Meter } from "./meter.js";
import { Streak } from "./gates.js";

const AUTO_FRAMES = 5;
// Nor before this long in the live view: time to line the face up with the ghost.
const AUTO_AFTER_MS = 1500;
const AUTO_KEY = "skinlog-camera-auto"; // the patient's choice of "Take automatically", kept
const GOOD = "Good light and focus";

const dialog = document.querySelector("[data-camera-dialog]");
const part = (name) => dialog && dialog.querySelector(`[data-camera-${name}]`);
const ui = dialog && {
  title: part("title"), view: part("view"), video: part("video"), ghost: part("ghost"),
  still: part("still"), status: part("status"), live: part("live"), review: part("review"),
  opacity: part("opacity"), ghostControl: part("ghost-control"), noGhost: part("no-ghost"),
  auto: part("auto"), switch: part("switch"), shutter: part("shutter"), use: part("use"),
  retake: part("retake"), close: part("close"),
};

let session = null; // the camera open now: {stream, facing, meter, streak, resolve, ...}

function say(text) {
  if (ui.status.textContent !== text) ui.status.textContent = text;
  ui.status.classList.toggle("good", text === GOOD);
}

function everyFrame(callback) {
  const { video } = ui;
  if (video.requestVideoFrameCallback) video.requestVideoFrameCallback(callback);
  else requestAnimationFrame(callback);
}

// One gate evaluation per new video frame while the live view shows.
function evaluate(current) {
  if (session !== current || !current.live) return;
  const reading = current.meter.read(ui.video);
  if (reading) {
    current.evaluations += 1;
    dialog.dataset.evaluations = String(current.evaluations);
    current.problem = reading.problem;
    say(reading.problem || GOOD);
    const ready = current.streak.add(reading.problem);
    if (ready && ui.auto.checked && performance.now() - current.liveSince >= AUTO_AFTER_MS) {
      shoot(current);
      return;
    }
  }
  everyFrame(() => evaluate(current));
}

async function start(current) {
  stopStream(current.stream);
  current.stream = null;
  say("Starting the camera…");
  let stream;
  try {
    stream = await openStream(current.facing);
  } catch (error) {
    if (session === current) finish({ error });
    return;
  }
  if (session !== current) { stopStream(stream); return; } // closed meanwhile
  current.stream = stream;
  ui.video.srcObject = stream;
  await ui.video.play().catch(() => {});
  fitView();
  ui.view.classList.toggle("mirrored", current.facing === "user"); // a selfie view is a mirror
  ui.switch.hidden = (await cameraCount()) < 2;
  ui.switch.textContent = current.facing === "user" ? "Rear camera" : "Front camera";
  goLive(current);
}

// The view takes the video's shape: at the start, and when the phone turns.
function fitView() {
  const { videoWidth: width, videoHeight: height } = ui.video;
  if (width && height) ui.view.style.setProperty("--ratio", String(width / height));
}

function goLive(current) {
  current.live = true;
  current.liveSince = performance.now();
  current.meter.reset();
  current.streak = new Streak(AUTO_FRAMES);
  ui.live.hidden = false;
  ui.review.hidden = true;
  ui.video.hidden = false;
  ui.still.hidden = true;
  ui.ghost.classList.remove("off");
  everyFrame(() => evaluate(current));
}

async function shoot(current) {
  if (!current.live || !current.stream) return;
  current.live = false;
  const warning = current.problem;
  ui.shutter.disabled = true;
  try {
    current.file = await takePhoto(current.stream, ui.video);
  } catch {
    say("The photo could not be taken. Try again.");
    goLive(current);
    return;
  } finally {
    ui.shutter.disabled = false;
  }
  if (session !== current) return;
  current.warning = warning;
  if (current.url) URL.revokeObjectURL(current.url);
  current.url = URL.createObjectURL(current.file);
  ui.still.src = current.url;
  ui.still.hidden = false;
  ui.video.hidden = true;
  ui.ghost.classList.add("off");
  ui.live.hidden = true;
  ui.review.hidden = false;
  say(warning ? `Taken while: ${warning}` : "Photo taken");
  ui.status.classList.toggle("good", !warning);
  ui.use.focus();
}

// Ends the session (used, closed, or the camera refused) and gives the opener its answer.
function finish(answer) {
  const current = session;
  if (!current) return;
  session = null;
  current.live = false;
  stopStream(current.stream);
  ui.video.srcObject = null;
  if (current.url) URL.revokeObjectURL(current.url);
  ui.still.removeAttribute("src");
  if (dialog.open) dialog.close();
  current.resolve(answer);
}

function remembered() {
  try {
    return localStorage.getItem(AUTO_KEY) !== "off";
  } catch {
    return true;
  }
}

if (dialog) {
  ui.auto.checked = remembered();
  ui.auto.addEventListener("change", () => {
    try {
      localStorage.setItem(AUTO_KEY, ui.auto.checked ? "on" : "off");
    } catch { /* private mode: the choice lasts this page */ }
  });
  ui.video.addEventListener("resize", fitView);
  ui.opacity.addEventListener("input", () => {
    ui.ghost.style.opacity = String(Number(ui.opacity.value) / 100);
  });
  ui.ghost.style.opacity = String(Number(ui.opacity.value) / 100);
  ui.shutter.addEventListener("click", () => session && shoot(session));
  ui.retake.addEventListener("click", () => session && goLive(session));
  ui.use.addEventListener("click", () => session && finish({
    file: session.file, warning: session.warning }));
  ui.switch.addEventListener("click", () => {
    if (!session) return;
    session.facing = session.facing === "user" ? "environment" : "user";
    session.live = false;
    start(session);
  });
  ui.close.addEventListener("click", () => finish(null));
  // Escape, or the phone's back gesture (not the close of a session already finished).
  dialog.addEventListener("close", () => { if (!dialog.open) finish(null); });
}

/**
 * Opens the camera over the page; resolves once it closes: {file, warning} with the photo taken
 * (warning: what the gates said when it was taken, or null), {error} when the camera could not
 * be opened, or null when closed without a photo.
 * @param {{title: string, ghostUrl: string|undefined}} options
 * @returns {Promise<{file?: File, warning?: string|null, error?: Error}|null>}
 */
export function openCamera({ title, ghostUrl }) {
  if (session) finish(null);
  return new Promise((resolve) => {
    const current = { facing: "environment", meter: new Meter(), streak: new Streak(AUTO_FRAMES),
      stream: null, live: false, liveSince: 0, evaluations: 0, problem: null, file: null,
      warning: null, url: null, resolve };
    session = current;
    dialog.dataset.evaluations = "0";
    ui.title.textContent = title;
    ui.ghostControl.hidden = true;
    ui.noGhost.hidden = true;
    showGhost(ui.ghost, ghostUrl).then((shown) => {
      if (session !== current) return;
      ui.ghostControl.hidden = !shown;
      ui.noGhost.hidden = shown;
    });
    dialog.showModal();
    start(current);
  });
}
