// The camera's quality gates, pure maths on one small RGBA frame (about 160 px wide): is there
// enough light, is nothing burnt out, is it sharp, is the phone still. The same measures the
// server takes of every photo (webapp/imaging/quality.py), cheap enough for every frame of a
// phone's live view. No DOM here, so a test can feed it any pixels.

// Mean L* between these: skin photographed in even daylight. Darker hides the marks in noise;
// brighter washes their colour out.
export const MIN_L = 45;
export const MAX_L = 75;
// Highlights clipped (any channel at 250 or more) on more than this fraction: shine or a lamp.
export const MAX_CLIPPED = 0.05;
// Variance of the Laplacian of the grey frame, at the 160 px analysis width. The figure grows
// with the frame's size, so this is not the server's bar (60 on its 512 px copy): measured on
// tests/e2e/fake_camera.py's face drawn 160 px wide, sharp reads about 130, a Gaussian blur of
// radius 2 px on the 640 px frame about 50, of 3 px about 24, of 6 px about 3.
export const MIN_SHARPNESS = 30;
// Mean grey-level change from the frame before: more than this is the phone moving.
export const MAX_MOTION = 6;

export const TOO_DARK = "Too dark";
export const TOO_BRIGHT = "Too bright";
export const HOLD_STILL = "Hold still";
export const BLURRED = "Blurred";

// L* of each 8-bit grey level (sRGB-encoded luma taken as relative luminance's encoding): the
// mean of these is close to the mean L* of the frame, at a table look-up per pixel.
const L_STAR = new Float32Array(256);
for (let v = 0; v < 256; v += 1) {
  const c = v / 255;
  const y = c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  const f = y > 216 / 24389 ? Math.cbrt(y) : (24389 / 27 * y + 16) / 116;
  L_STAR[v] = 116 * f - 16;
}

/**
 * The measures of one frame.
 * @param {Uint8ClampedArray} rgba the frame's pixels, row by row (ImageData.data)
 * @param {number} width
 * @param {number} height
 * @param {Uint8Array|null} previous the grey of the frame before (from the last call), or null
 * @returns {{meanL: number, clipped: number, sharpness: number, motion: number|null,
 *   grey: Uint8Array}}
 */
export function measure(rgba, width, height, previous = null) {
  const count = width * height;
  const grey = new Uint8Array(count);
  let sumL = 0;
  let clipped = 0;
  for (let i = 0, p = 0; i < count; i += 1, p += 4) {
    const r = rgba[p];
    const g = rgba[p + 1];
    const b = rgba[p + 2];
    const luma = (77 * r + 150 * g + 29 * b) >> 8; // Rec. 601 in 1/256, the server's grey
    grey[i] = luma;
    sumL += L_STAR[luma];
    if (r >= 250 || g >= 250 || b >= 250) clipped += 1;
  }
  // The Laplacian (4 neighbours) over the inner pixels; its variance in one pass.
  let sum = 0;
  let sumSq = 0;
  for (let y = 1; y < height - 1; y += 1) {
    for (let x = 1, i = y * width + 1; x < width - 1; x += 1, i += 1) {
      const lap = grey[i - 1] + grey[i + 1] + grey[i - width] + grey[i + width] - 4 * grey[i];
      sum += lap;
      sumSq += lap * lap;
    }
  }
  const inner = Math.max(1, (width - 2) * (height - 2));
  const mean = sum / inner;
  let motion = null;
  if (previous && previous.length === count) {
    let diff = 0;
    for (let i = 0; i < count; i += 1) diff += Math.abs(grey[i] - previous[i]);
    motion = diff / count;
  }
  return { meanL: sumL / count, clipped: clipped / count, sharpness: sumSq / inner - mean * mean,
    motion, grey };
}

/**
 * What is wrong with a frame, worst first: light, then movement, then focus (a dark or moving
 * frame also looks blurred). Null when every gate passes.
 * @param {{meanL: number, clipped: number, sharpness: number, motion: number|null}} m
 * @returns {string|null}
 */
export function problem(m) {
  if (m.meanL < MIN_L) return TOO_DARK;
  if (m.meanL > MAX_L || m.clipped > MAX_CLIPPED) return TOO_BRIGHT;
  if (m.motion !== null && m.motion > MAX_MOTION) return HOLD_STILL;
  if (m.sharpness < MIN_SHARPNESS) return BLURRED;
  return null;
}

/**
 * Counts frames in a row that pass every gate: `ready` once there are `needed` of them.
 */
export class Streak {
  constructor(needed = 5) {
    this.needed = needed;
    this.count = 0;
  }

  /** @param {string|null} found the frame's problem @returns {boolean} ready */
  add(found) {
    this.count = found ? 0 : this.count + 1;
    return this.count >= this.needed;
  }
}
