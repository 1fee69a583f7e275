"""Is a photo fit to compare? Exposure, sharpness and colour cast of its analysis copy.

Day-to-day photos differ in light and focus, and a dark, blurred or tinted photo moves the
measured curves more than the skin does. Each photo is graded good / fair / poor at upload, with
reasons a patient can act on ("Too dark", "Blurred"); poor photos are left out of the measured
curves by default. The grade is about the photo, never about the skin.

Everything is measured on the analysis copy (`analysis_copy`: at most ANALYSIS_LONG_SIDE_MARKS =
512 px on its long side, box-reduced), so the figures of photos from different cameras are
comparable. Pure numpy: cheap (a few ms at 512 px) and free of Flask.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .colour import DEFAULT_REGION, srgb_to_lab

# Exposure: mean L* of the frame. 45-75 is the range an open-source skin tracker gates its camera
# on (issue 13); beyond the "poor" limits most of the face is lost in shadow or glare.
MEAN_L_GOOD = (45.0, 75.0)
MEAN_L_FAIR = (30.0, 85.0)
CLIP_LEVEL = 250  # a pixel with any channel at or above this has lost its highlight detail
CRUSH_LEVEL = 5  # a pixel with every channel at or below this has lost its shadow detail
CLIPPED_FAIR = 0.05  # fraction of clipped pixels: more than a forehead's shine (the camera's bar)
CLIPPED_POOR = 0.20
CRUSHED_FAIR = 0.25  # dark hair or a dark room behind the face are normal; a quarter is not
CRUSHED_POOR = 0.50

# Sharpness: variance of the 3x3 Laplacian of the analysis copy's grey. It grows with the fine
# detail of the picture and with the copy's size (box-reducing a photo concentrates its detail
# into fewer pixels), so it is only comparable between copies of the same long side: the analysis
# copy's 512 px. Calibrated on the generated faces of tests/synthetic_faces.py (384 x 512, with
# pore-scale texture): sharp, 240-640; Gaussian-blurred with sigma 1 px (8 px at 12 MP: visibly
# soft), 10-22; sigma 1.5 px, 3-7; sigma 3 px, about 1. Real skin has less fine texture than
# those faces, so the bar for "good" is 60 (an open-source skin tracker's camera gate, issue 13),
# well under a sharp face; under 20 the photo is blurred. Our camera gates its 160 px frames at
# 30 (static/js/camera/gates.js): the same blur reads lower there. The figure cannot tell
# sensor noise from detail: a blurred photo with noise of sigma 4 reads about 150.
SHARPNESS_GOOD = 60.0
SHARPNESS_FAIR = 20.0

# Colour cast, defined against skin: how far the typical colour of the middle of the frame (the
# median a*, b* of the mid-tone pixels of DEFAULT_REGION, where the skin is) lies outside the box
# real skin spans in daylight-balanced sRGB photos, from the lightest to the darkest skin types
# (a* 2-28, b* 4-34). Under neutral light that median is skin's and lies inside; a wrong white
# balance drags the whole frame out of it (daylight shot on an indoor setting: bluish, b* down;
# tungsten uncorrected: orange, b* up; fluorescent: green, a* down). Calibrated on the generated
# faces of tests/synthetic_faces.py, light to medium skin, camera balanced for 6500 K: light of
# 5000-8000 K (the drift the mark measures cancel) 0; 3500 K 4-10; 3000 K 9-20; 2700 K 14-26;
# 15000 K 0-14. Dark skin has less chroma to shift and reads lower. A grey frame is 4.5.
# Not a diagnosis of the skin: a frame filled with a non-skin colour (a green towel) reads as a
# cast, which is right for what it is used for: this photo's colour is not comparable.
SKIN_A_RANGE = (2.0, 28.0)
SKIN_B_RANGE = (4.0, 34.0)
MID_TONE_L = (20.0, 95.0)  # shadows and highlights carry little of a cast's hue
CAST_FAIR = 8.0
CAST_POOR = 18.0

GOOD, FAIR, POOR = "good", "fair", "poor"
_RANK = {GOOD: 0, FAIR: 1, POOR: 2}

# ITU-R BT.601 luma in Pillow's own fixed point (convert("L"): weights in 1/65536, rounded), so
# the grey is the same whichever of the two makes it.
_LUMA_WEIGHTS = np.array([19595, 38470, 7471], dtype=np.uint32)


@dataclass(frozen=True)
class PhotoQuality:
    """How fit a photo is to be compared with the others of its area, and why.

    Indicative: the figures depend on the camera and the light, and are measured on the 512 px
    analysis copy (`sharpness` only compares between copies of that size).
    """

    mean_l: float  # mean L* of the frame, 0-100
    clipped: float  # fraction of pixels with a channel >= CLIP_LEVEL
    dark_clipped: float  # fraction of pixels with every channel <= CRUSH_LEVEL
    sharpness: float  # variance of the Laplacian of the analysis copy's grey
    cast: float  # how far (a*, b*) the centre's median mid-tone colour lies outside skin's range
    verdict: str  # "good" | "fair" | "poor"
    reasons: tuple[str, ...]  # patient-facing, e.g. "Too dark", "Blurred"

    def as_dict(self) -> dict[str, object]:
        """The JSON shape the API stores and returns (docs/api.md), rounded past the noise."""
        return {
            "verdict": self.verdict,
            "reasons": list(self.reasons),
            "mean_l": round(self.mean_l, 1),
            "clipped": round(self.clipped, 4),
            "dark_clipped": round(self.dark_clipped, 4),
            "sharpness": round(self.sharpness, 1),
            "cast": round(self.cast, 1),
        }


def analysis_grey(rgb: np.ndarray) -> np.ndarray:
    """uint8 grey (BT.601 luma, rounded as Pillow's convert("L")) of a uint8 RGB array.

    The sharpness is measured on it, and alignment matches photos by it.
    """
    weighted = _checked(rgb) @ _LUMA_WEIGHTS
    return ((weighted + 0x8000) >> 16).astype(np.uint8)


def assess_quality(rgb: np.ndarray, grey: np.ndarray | None = None) -> PhotoQuality:
    """Exposure, sharpness and colour cast of an analysis copy (uint8 RGB, H x W x 3), graded.

    `grey` is its `analysis_grey`, if the caller has made it already (ingest keeps it anyway).

    Any image gives a verdict, never an exception or a NaN: a 1 x 1 photo is simply "Blurred".
    Raises ValueError only for an array that is not uint8 RGB pixels. Exposure and cast are
    frame statistics, taken on every other pixel of every other row (a quarter of the copy: the
    same figures within noise, at a quarter of the CIELAB conversion's cost); sharpness needs
    every pixel.
    """
    pixels = _checked(rgb)
    sample = pixels[::2, ::2]
    lab = srgb_to_lab(sample)
    mean_l = float(lab[..., 0].mean(dtype=np.float64))
    brightest = sample.max(axis=-1)  # a pixel's highest channel
    clipped = float((brightest >= CLIP_LEVEL).mean())
    dark_clipped = float((brightest <= CRUSH_LEVEL).mean())
    sharpness = laplacian_variance(analysis_grey(pixels) if grey is None else grey)
    cast = skin_cast(lab)

    # The words are the camera's (static/js/camera/gates.js), so a photo the shutter warned
    # about is graded for the same reason: burnt-out highlights are "Too bright" there too.
    too_dark = _worst(
        _grade_below(mean_l, MEAN_L_GOOD[0], MEAN_L_FAIR[0]),
        _grade_above(dark_clipped, CRUSHED_FAIR, CRUSHED_POOR),
    )
    too_bright = _worst(
        _grade_above(mean_l, MEAN_L_GOOD[1], MEAN_L_FAIR[1]),
        _grade_above(clipped, CLIPPED_FAIR, CLIPPED_POOR),
    )
    findings = (
        (too_dark, "Too dark"),
        (too_bright, "Too bright"),
        (_grade_below(sharpness, SHARPNESS_GOOD, SHARPNESS_FAIR), "Blurred"),
        (_grade_above(cast, CAST_FAIR, CAST_POOR), "Colour cast"),
    )
    found = [(grade, reason) for grade, reason in findings if grade != GOOD]
    return PhotoQuality(
        mean_l=mean_l,
        clipped=clipped,
        dark_clipped=dark_clipped,
        sharpness=sharpness,
        cast=cast,
        verdict=_worst(GOOD, *(grade for grade, _ in found)),
        reasons=tuple(reason for _, reason in found),
    )


def laplacian_variance(grey_pixels: np.ndarray) -> float:
    """Variance of the 3x3 Laplacian (4-neighbour) over the interior; 0.0 below 3 x 3 pixels."""
    if min(grey_pixels.shape) < 3:
        return 0.0
    g = grey_pixels.astype(np.float32)
    laplacian = g[:-2, 1:-1] + g[2:, 1:-1] + g[1:-1, :-2] + g[1:-1, 2:] - 4.0 * g[1:-1, 1:-1]
    return float(laplacian.var(dtype=np.float64))


def skin_cast(lab: np.ndarray) -> float:
    """How far (a*, b* units) the median colour of the mid-tone pixels of DEFAULT_REGION lies
    outside skin's box (see SKIN_A_RANGE).

    0.0 when it lies inside, or when no pixel there is a mid-tone (an all-black or all-white
    frame has no colour to judge; its exposure is what is wrong).
    """
    height, width = lab.shape[:2]
    left, top, right, bottom = DEFAULT_REGION
    # At least one pixel, however small the frame.
    rows = slice(int(top * height), max(int(bottom * height), int(top * height) + 1))
    columns = slice(int(left * width), max(int(right * width), int(left * width) + 1))
    centre = lab[rows, columns].reshape(-1, 3)
    mid = centre[(centre[:, 0] >= MID_TONE_L[0]) & (centre[:, 0] <= MID_TONE_L[1])]
    if mid.size == 0:
        return 0.0
    a_star, b_star = (float(v) for v in np.median(mid[:, 1:], axis=0))
    da = max(SKIN_A_RANGE[0] - a_star, 0.0, a_star - SKIN_A_RANGE[1])
    db = max(SKIN_B_RANGE[0] - b_star, 0.0, b_star - SKIN_B_RANGE[1])
    return float(np.hypot(da, db))


def _grade_below(value: float, good_from: float, fair_from: float) -> str:
    """Good at or above `good_from`, fair at or above `fair_from`, else poor."""
    if value >= good_from:
        return GOOD
    return FAIR if value >= fair_from else POOR


def _grade_above(value: float, fair_above: float, poor_above: float) -> str:
    """Good up to `fair_above`, fair up to `poor_above`, poor beyond."""
    if value <= fair_above:
        return GOOD
    return FAIR if value <= poor_above else POOR


def _worst(*grades: str) -> str:
    return max(grades, key=_RANK.__getitem__)


def _checked(rgb: np.ndarray) -> np.ndarray:
    """The array itself if it is uint8 RGB pixels (H x W x 3, at least 1 x 1), else ValueError."""
    array = np.asarray(rgb)
    if array.dtype != np.uint8 or array.ndim != 3 or array.shape[2] != 3 or array.size == 0:
        msg = f"expected uint8 RGB pixels (H, W, 3), got {array.dtype} of shape {array.shape}"
        raise ValueError(msg)
    return array
