"""A mark map per photo: red marks (PIE) and dark marks (PIH) measured against the skin around them.

Why not the mean colour of the frame: a fading mark moves a photo's mean a* only a little, a change
of light moves it a lot, and eyes, hair and background fall inside any fixed box. A mark measured
against the surrounding skin of the same photo (Δa* for redness, ΔL* for pigment) cancels much of
the light: mark minus surrounding skin, as in Logger et al., Skin Res Technol 2020.
docs/domain.md ("Photos and measured colour") says what such a figure can show: it is indicative,
a trend for one patient, never a diagnosis.

The method, on the analysis copy (uint8 sRGB, long side <= 512 px) in CIELAB (D65):

1. Skin: a colour gate keeps pixels of skin hue (h_ab 15-85°) near the photo's own typical skin
   colour (the median of such pixels in the middle of the frame): within SKIN_COLOUR_TOLERANCE
   of its chroma in (a*, b*), redder allowed (marks, flushed cheeks), and not far darker. Hair
   (dark, grey), eyes (white, blue, black) and walls (grey, blue, green, or beige under warm
   light) fall out; small islands of skin colour (a brown iris) are dropped; lips pass and are
   dropped in 4 as a feature too big to be a mark. The mask is opened (specks) and, for finding
   marks, eroded by three pixels so that the mixed colours along an edge of hair or eye never
   read as a mark.
2. Baseline: the skin's own a* and L* around each pixel, a median over a window of 1/8 of the
   long side taken over skin only (non-skin pixels are first filled with the mean of the skin
   near them), so a mark, being small, does not lift its own baseline, while shading and the
   redder cheeks, being broad, are followed.
3. Candidates: pixels whose a* rises above the baseline (red) or whose L* falls below it (dark) by
   more than a seed threshold, max(floor, 3.5 x the robust spread of that difference over the
   photo's skin), after a 3x3 median to calm sensor and JPEG noise. The floors (RED_FLOOR,
   DARK_FLOOR) are in plain CIELAB units: fainter marks are not told from JPEG's chroma blocks.
4. Marks: each connected blob of candidates grown to the half of its seed threshold keeps the
   pixels at least half its peak contrast (a mark's extent at half its height, so the area does
   not depend on the threshold); blobs under MIN_MARK_PIXELS are noise, blobs over a quarter of
   the baseline window are features (lips, a shadow), and thin or crescent-shaped blobs (the
   shading along the jaw, a wrinkle) are not marks either: a mark is compact.
5. Standard exposure: a photo's exposure is the camera's guess, and in CIELAB a change of exposure
   scales L* + 16, a* and b* alike, so a mark's raw Δa* reads 16 % lower at 0.6x the light. Each
   pixel's differences are therefore read as if the photo were exposed so that its baseline skin
   had L* = STANDARD_LIGHTNESS (times (60 + 16) / (baseline L* + 16)): no exposure, nor shading
   across the face, changes them. The figures stay Δa* and ΔL* in CIELAB units, equal to the raw
   ones for skin of L* 60, larger for darker skin, smaller for paler skin: a trend for one
   patient, not a figure to compare between people (docs/domain.md).
6. Figures: delta_a is the mean standardised (a* - baseline) over all red-mark pixels, red_area
   their number over the skin's, red_count the blobs; delta_l (negative: darker), dark_area and
   dark_count alike.

A `region` (fractions, as the patient draws it) limits the figures to that part of the frame; the
map itself is made on the whole frame, so the baseline at a region's edge still sees skin beyond
it. Bad pixels never raise: an odd array, a tiny or black image or one with no skin measures as
no marks.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .colour import Region, pixel_span, srgb_to_lab, validate_region

SKIN_HUE_DEGREES = (15.0, 85.0)  # h_ab of skin, from pale to dark, with red marks and lips
MIN_SIDE = 24  # px: a smaller image is too small to tell a mark from the skin around it
MIN_SKIN_PIXELS = 400  # fewer pixels of skin than this measure nothing
SKIN_COLOUR_TOLERANCE = 0.45  # (a*, b*) distance from the typical skin over its chroma
SKIN_PIECE_SHARE = 0.02  # skin-coloured islands under this share of the biggest (a brown iris) drop
MIN_MARK_PIXELS = 8  # at 512 px (a mark 3 px across); a blob smaller than this is noise
RED_FLOOR = 3.0  # a*: fainter redness is not told apart from JPEG chroma blocks (q60)
DARK_FLOOR = 2.5  # L*
SPREAD_FACTOR = 3.5  # seed threshold = max(floor, this x the robust spread of the difference)
MIN_FILL = 0.4  # of its bounding box a mark fills at least (a disc 0.79): no crescents, lines
STANDARD_LIGHTNESS = 60.0  # L* the skin around a mark is brought to: see step 5
REFERENCE_SIDE = 512  # the analysis copy's long side the pixel sizes above are given for
MEDIAN_STEP = 5  # a photo-wide median is taken over every 5th value: exact to noise, 5x cheaper


@dataclass(frozen=True)
class MarkMetrics:
    """Red (PIE) and dark (PIH) marks of one photo against its own skin. Indicative."""

    delta_a: float | None  # mean a* of red-mark pixels minus their baseline (at the standard
    # exposure, step 5 of the module docstring); None: no red marks
    red_area: float  # fraction of skin pixels in red marks
    red_count: int
    delta_l: float | None  # mean L* of dark-mark pixels minus their baseline, likewise (< 0)
    dark_area: float
    dark_count: int
    skin_fraction: float  # fraction of the (region of the) frame that is skin

    def as_dict(self) -> dict[str, float | int | None]:
        """The JSON shape of a photo's `marks` (docs/api.md), rounded to what is not noise."""
        return {
            "delta_a": None if self.delta_a is None else round(self.delta_a, 2),
            "red_area": round(self.red_area, 5),
            "red_count": self.red_count,
            "delta_l": None if self.delta_l is None else round(self.delta_l, 2),
            "dark_area": round(self.dark_area, 5),
            "dark_count": self.dark_count,
            "skin_fraction": round(self.skin_fraction, 4),
        }


_DISC5 = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
_DISC7 = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7))

NO_MARKS = MarkMetrics(None, 0.0, 0, None, 0.0, 0, 0.0)


def measure_marks(rgb: np.ndarray, region: Region | None = None) -> MarkMetrics:
    """The mark map of an analysis copy (uint8 RGB (H, W, 3)), limited to `region` if given.

    Raises ValueError only for a bad region (as colour_metrics does); any pixels measure.
    """
    box = None if region is None else validate_region(region)
    if not _is_rgb(rgb) or min(rgb.shape[:2]) < MIN_SIDE:
        return NO_MARKS
    height, width = rgb.shape[:2]
    scale = max(height, width) / REFERENCE_SIDE
    lightness, a, b = _planes(np.asarray(srgb_to_lab(rgb), dtype=np.float32))
    skin = _skin_mask(lightness, a, b)
    inside = np.ones((height, width), dtype=bool)
    if box is not None:
        inside[:] = False
        x0, x1 = pixel_span(box[0], box[2], width)
        y0, y1 = pixel_span(box[1], box[3], height)
        inside[y0:y1, x0:x1] = True
    skin_inside = int(np.count_nonzero(skin & inside))
    skin_fraction = skin_inside / int(np.count_nonzero(inside))
    if np.count_nonzero(skin) < MIN_SKIN_PIXELS or skin_inside == 0:
        return MarkMetrics(None, 0.0, 0, None, 0.0, 0, skin_fraction)

    window = _odd(max(height, width) / 8)
    core = cv2.erode(skin.view(np.uint8), _DISC7).astype(bool)
    min_pixels = max(3, round(MIN_MARK_PIXELS * scale**2))
    max_pixels = window * window // 4
    weight = skin.astype(np.float32)
    share = cv2.blur(weight, (window, window))  # the skin's share of each window, for both
    base_l = _baseline(lightness, skin, weight, share, window)
    rise = a - _baseline(a, skin, weight, share, window)
    fall = base_l - lightness
    red = _marks(rise, core, RED_FLOOR, min_pixels, max_pixels)
    dark = _marks(fall, core, DARK_FLOOR, min_pixels, max_pixels)
    red_delta, red_area, red_count = _figures(rise, red & inside, base_l, skin_inside)
    dark_delta, dark_area, dark_count = _figures(fall, dark & inside, base_l, skin_inside)
    return MarkMetrics(
        red_delta,
        red_area,
        red_count,
        None if dark_delta is None else -dark_delta,
        dark_area,
        dark_count,
        skin_fraction,
    )


def _is_rgb(rgb: object) -> bool:
    return (
        isinstance(rgb, np.ndarray)
        and rgb.dtype == np.uint8
        and rgb.ndim == 3
        and rgb.shape[2] == 3
        and rgb.size > 0
    )


def _odd(size: float) -> int:
    return max(3, int(size) // 2 * 2 + 1)


def _median(values: np.ndarray) -> float:
    """The median of every MEDIAN_STEP-th of `values`, which it reorders: over the tens of
    thousands of skin pixels it differs from the full median by noise."""
    return float(np.median(values[::MEDIAN_STEP], overwrite_input=True))


def _planes(image: np.ndarray) -> np.ndarray:
    """The channels of an (H, W, C) image as contiguous (H, W) planes: numpy's copy, as cv2.split
    measured up to 4x slower on the analysis copy."""
    return np.ascontiguousarray(np.moveaxis(image, -1, 0))


def _skin_mask(lightness: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pixels of the photo's own skin colour (see the module docstring, step 1).

    Distances are compared squared, on contiguous planes: the gate is most of this function.
    """
    lightness, a, b = (cv2.blur(plane, (3, 3)) for plane in (lightness, a, b))
    low, high = np.tan(np.radians(SKIN_HUE_DEGREES))  # hue within: b*/a* between their tangents
    candidate = (a > 0) & (b >= low * a) & (b <= high * a) & (a * a + b * b >= 25.0)
    candidate &= lightness >= 8.0
    height, width = candidate.shape
    where = (slice(height // 4, height - height // 4), slice(width // 4, width - width // 4))
    typical_from = candidate[where]
    channels = (lightness[where], a[where], b[where])
    if np.count_nonzero(typical_from) < MIN_SKIN_PIXELS:
        typical_from, channels = candidate, (lightness, a, b)
    if np.count_nonzero(typical_from) < MIN_SKIN_PIXELS:
        return np.zeros(candidate.shape, dtype=bool)
    l0, a0, b0 = (_median(c[typical_from]) for c in channels)
    # Redder than typical is still skin (marks, flushed cheeks); less red, or other b*, is not.
    redder = np.minimum(a - a0, 0.0)
    off = b - b0
    reach = (SKIN_COLOUR_TOLERANCE * max(np.hypot(a0, b0), 1.0)) ** 2
    skin = candidate & (redder * redder + off * off <= reach) & (lightness >= 0.45 * l0)
    opened = cv2.morphologyEx(skin.view(np.uint8), cv2.MORPH_OPEN, _DISC5)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(opened, connectivity=4)
    if count <= 1:
        return np.zeros(candidate.shape, dtype=bool)
    sizes = stats[:, cv2.CC_STAT_AREA]
    sizes[0] = 0
    big = sizes >= max(MIN_SKIN_PIXELS, SKIN_PIECE_SHARE * sizes.max())
    if np.count_nonzero(big) == count - 1:  # every piece stays: no per-pixel look-up
        return opened.view(bool)
    return big[labels]


def _baseline(
    channel: np.ndarray, skin: np.ndarray, weight: np.ndarray, share: np.ndarray, window: int
) -> np.ndarray:
    """The median of `channel` over the skin in a `window`-wide square around each pixel.

    cv2's large-kernel median works on uint8 only, so the channel is coded at 0.25 units a step
    around the skin's median (enough for L* and a* of skin, and finer than a visible step);
    non-skin pixels are first filled with the mean skin value near them (or the median).
    `weight` is the skin as float32 and `share` its `window` blur, made once for both channels.
    """
    centre = float(np.median(channel[skin], overwrite_input=True))
    filled = cv2.blur(channel * weight, (window, window))  # worked on in place from here
    np.divide(filled, np.maximum(share, 1e-3), out=filled)
    filled[share <= 1e-3] = centre
    np.copyto(filled, channel, where=skin)
    filled -= centre
    filled *= 4.0
    filled += 128.0
    coded = np.clip(np.rint(filled, out=filled), 0, 255, out=filled).astype(np.uint8)
    # At half resolution: the baseline is smooth, and the median costs a quarter.
    height, width = coded.shape
    half = cv2.resize(coded, ((width + 1) // 2, (height + 1) // 2), interpolation=cv2.INTER_AREA)
    median = cv2.resize(
        cv2.medianBlur(half, _odd(window / 2)), (width, height), interpolation=cv2.INTER_LINEAR
    )
    decode = (np.arange(256, dtype=np.float32) - 128.0) / 4.0 + centre
    return cv2.LUT(median, decode)


def _marks(
    difference: np.ndarray, core: np.ndarray, floor: float, min_pixels: int, max_pixels: int
) -> np.ndarray:
    """Pixels of marks: blobs of `difference` above the seed threshold, at half their peak.

    The few grown pixels are worked on by their flat indices: a per-label look-up over the
    whole frame costs more than everything else here.
    """
    if not core.any():
        return core
    calm = cv2.medianBlur(difference.astype(np.float32), 3)
    values = calm[core]
    spread = 1.4826 * _median(np.abs(values - _median(values), out=values))
    seed = max(floor, SPREAD_FACTOR * spread)
    grown = (calm >= 0.5 * seed) & core
    count, labels = cv2.connectedComponents(grown.view(np.uint8), connectivity=8)
    if count <= 1:
        return np.zeros_like(core)
    where = np.flatnonzero(grown)
    blob = labels.ravel()[where]
    value = calm.ravel()[where]
    peak = np.zeros(count, dtype=np.float32)
    np.maximum.at(peak, blob, value)
    held = (value >= 0.5 * peak[blob]) & (peak[blob] >= seed)
    kept = where[held]
    keep = np.zeros(core.shape, dtype=np.uint8)
    keep.ravel()[kept] = 1
    count, labels, stats, _ = cv2.connectedComponentsWithStats(keep, connectivity=8)
    sizes = stats[:, cv2.CC_STAT_AREA]
    sides = np.sort(stats[:, [cv2.CC_STAT_WIDTH, cv2.CC_STAT_HEIGHT]], axis=1)
    compact = (sizes >= MIN_FILL * sides[:, 0] * sides[:, 1]) & (sides[:, 1] <= 3 * sides[:, 0] + 2)
    good = (sizes >= min_pixels) & (sizes <= max_pixels) & compact
    good[0] = False
    marks = np.zeros(core.shape, dtype=bool)
    marks.ravel()[kept[good[labels.ravel()[kept]]]] = True
    return marks


def _figures(
    difference: np.ndarray, marks: np.ndarray, base_l: np.ndarray, skin_pixels: int
) -> tuple[float | None, float, int]:
    """(mean difference at the standard exposure (step 5) over the mark pixels or None, their
    share of the skin, blob count)."""
    pixels = int(np.count_nonzero(marks))
    if pixels == 0:
        return None, 0.0, 0
    count = cv2.connectedComponents(marks.view(np.uint8), connectivity=8)[0] - 1
    standard = (STANDARD_LIGHTNESS + 16.0) / np.maximum(base_l[marks] + 16.0, 1.0)
    return float((difference[marks] * standard).mean()), pixels / skin_pixels, count
