// The phone's camera: open a stream (the rear camera unless asked otherwise), and take a photo
// at the camera's full resolution. Every photo is drawn to a canvas and encoded from it as JPEG,
// so it carries no metadata at all (no EXIF, no location, no time): nothing new leaves the phone.

const JPEG_QUALITY = 0.92;

/** Whether this browser can open a camera at all (no: file input only). */
export function cameraSupported() {
  return Boolean(navigator.mediaDevices && navigator.mediaDevices.getUserMedia);
}

/**
 * @param {"environment"|"user"} facing which side of the phone
 * @returns {Promise<MediaStream>}
 */
export function openStream(facing) {
  // With ImageCapture the photo is a still at the sensor's size, and the live view need not be
  // large; without it (Safari) the photo is a video frame, so the video is as large as it goes.
  const side = typeof ImageCapture !== "undefined" ? 1920 : 4096;
  return navigator.mediaDevices.getUserMedia({
    audio: false,
    video: { facingMode: { ideal: facing }, width: { ideal: side }, height: { ideal: side } },
  });
}

/** @param {MediaStream|null} stream */
export function stopStream(stream) {
  if (stream) for (const track of stream.getTracks()) track.stop();
}

/** How many cameras the phone has (known once the patient has allowed one). */
export async function cameraCount() {
  try {
    const devices = await navigator.mediaDevices.enumerateDevices();
    return devices.filter((device) => device.kind === "videoinput").length;
  } catch {
    return 1;
  }
}

function toJpeg(source, width, height) {
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  canvas.getContext("2d").drawImage(source, 0, 0, width, height);
  return new Promise((resolve, reject) => canvas.toBlob(
    (blob) => (blob ? resolve(blob) : reject(new Error("the photo could not be encoded"))),
    "image/jpeg", JPEG_QUALITY));
}

// ImageCapture.takePhoto: the sensor's still resolution, often larger than the video's. Its JPEG
// may carry EXIF, so it is decoded (turned upright) and encoded again.
async function stillPhoto(track) {
  const blob = await new ImageCapture(track).takePhoto();
  const bitmap = await createImageBitmap(blob, { imageOrientation: "from-image" });
  try {
    return await toJpeg(bitmap, bitmap.width, bitmap.height);
  } finally {
    bitmap.close();
  }
}

/**
 * A photo of what the camera sees now, as a JPEG File with no metadata.
 * @param {MediaStream} stream
 * @param {HTMLVideoElement} video showing that stream
 * @returns {Promise<File>}
 */
export async function takePhoto(stream, video) {
  const [track] = stream.getVideoTracks();
  let blob = null;
  if (typeof ImageCapture !== "undefined" && track) {
    blob = await stillPhoto(track).catch(() => null); // not every camera takes stills
  }
  // Else the video frame, at the stream's own size (not the size it is shown at).
  if (!blob) blob = await toJpeg(video, video.videoWidth, video.videoHeight);
  // A plain name: the file's name goes to the server, and must not say when it was taken.
  return new File([blob], "camera.jpg", { type: "image/jpeg" });
}
