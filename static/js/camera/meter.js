// Samples the live view for the gates: each frame drawn small (ANALYSIS_WIDTH wide) on a canvas
// kept for the purpose, then measured (gates.js). Small enough to run on every frame of an old
// phone: 160 x 120 is 19,200 pixels, whatever the camera's size.
import { measure, problem } from "./gates.js";

export const ANALYSIS_WIDTH = 160;

export class Meter {
  constructor() {
    this.canvas = document.createElement("canvas");
    this.context = this.canvas.getContext("2d", { willReadFrequently: true });
    this.previous = null;
  }

  /** Forget the last frame (a new stream, or the view was paused): no motion to compare. */
  reset() {
    this.previous = null;
  }

  /**
   * Measures what `video` shows now; null before its first frame.
   * @param {HTMLVideoElement} video
   * @returns {{problem: string|null, meanL: number, clipped: number, sharpness: number,
   *   motion: number|null}|null}
   */
  read(video) {
    if (!video.videoWidth || !video.videoHeight) return null;
    const width = ANALYSIS_WIDTH;
    const height = Math.max(1, Math.round(video.videoHeight * width / video.videoWidth));
    if (this.canvas.width !== width || this.canvas.height !== height) {
      this.canvas.width = width;
      this.canvas.height = height;
      this.previous = null;
    }
    this.context.drawImage(video, 0, 0, width, height);
    const { data } = this.context.getImageData(0, 0, width, height);
    const { grey, ...measures } = measure(data, width, height, this.previous);
    this.previous = grey;
    return { ...measures, problem: problem(measures) };
  }
}
