// The ghost: the last photo of the area being photographed, laid faintly over the live view so
// that today's photo is framed like the ones before. The log form carries each area's last photo
// (data-ghosts, from webapp/diary/usual.py). The service worker keeps a copy of each whenever it
// renews the offline log form (static/sw.js, keepGhosts), so the ghost shows with no signal too,
// for every area photographed before.

/** @param {HTMLFormElement} form @returns {Record<string, string>} area -> display photo URL */
export function ghostUrls(form) {
  try {
    return JSON.parse(form.dataset.ghosts || "{}");
  } catch {
    return {};
  }
}

/**
 * Shows `url` in `img` (hidden when there is none or it cannot load); resolves with whether it
 * is shown.
 * @param {HTMLImageElement} img
 * @param {string|undefined} url
 * @returns {Promise<boolean>}
 */
export function showGhost(img, url) {
  img.hidden = true;
  if (!url) {
    img.removeAttribute("src");
    return Promise.resolve(false);
  }
  if (img.src === new URL(url, location.href).href && img.complete && img.naturalWidth) {
    img.hidden = false;
    return Promise.resolve(true);
  }
  return new Promise((resolve) => {
    img.onload = () => { img.hidden = false; resolve(true); };
    img.onerror = () => resolve(false);
    img.src = url;
  });
}
