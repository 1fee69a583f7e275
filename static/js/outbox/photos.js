// Shrinks a photo on the phone before it is queued, so a week offline fits: long side at most
// 2048 px (what the server keeps), JPEG. Returns {data: ArrayBuffer, type, name} — an
// ArrayBuffer, not a Blob, because Safari cannot store Blobs in IndexedDB. A file the browser
// cannot decode (HEIC on most browsers, or not an image) is queued as it is: the server decides.
export const MAX_SIDE = 2048;
const QUALITY = 0.9;

async function encode(bitmap, width, height) {
  if (typeof OffscreenCanvas !== "undefined") {
    const canvas = new OffscreenCanvas(width, height);
    canvas.getContext("2d").drawImage(bitmap, 0, 0, width, height);
    return canvas.convertToBlob({ type: "image/jpeg", quality: QUALITY });
  }
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  canvas.getContext("2d").drawImage(bitmap, 0, 0, width, height);
  return new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", QUALITY));
}

export async function shrinkPhoto(file) {
  const original = { data: await file.arrayBuffer(), type: file.type || "application/octet-stream",
    name: file.name || "photo" };
  let bitmap;
  try {
    bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
  } catch {
    return original;
  }
  try {
    const longSide = Math.max(bitmap.width, bitmap.height);
    if (longSide <= MAX_SIDE) return original; // small enough: keep every byte as it was
    const scale = MAX_SIDE / longSide;
    const width = Math.round(bitmap.width * scale);
    const height = Math.round(bitmap.height * scale);
    const blob = await encode(bitmap, width, height);
    if (!blob) return original;
    return { data: await blob.arrayBuffer(), type: "image/jpeg",
      name: original.name.replace(/\.[^.]*$/, "") + ".jpg" };
  } finally {
    bitmap.close();
  }
}
