"""Indicative colour of skin in a photo: mean CIELAB (D65) of a region and its ITA°.

The basis of the redness (a*) and pigmentation (L*, ITA°) curves. The numbers depend on the light
the photo was taken in; docs/domain.md says what they can and cannot show. Also the small copies
measures are taken on: this 256 px one for a regional mean, and `analysis_copy`, 512 px, for the
quality grade, the mark map and alignment; and `srgb_to_lab`, which all of them use.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image

from .pixels import (
    GIVE_BACK_AFTER_BYTES,
    apply_orientation,
    decode_upload,
    give_back_freed_memory,
    srgb_reduced,
)

Region = tuple[float, float, float, float]  # (left, top, right, bottom), fractions of width/height
DEFAULT_REGION: Region = (0.25, 0.25, 0.75, 0.75)  # central area: the face, not the background

# Colour is measured on a copy at most this long (box-averaged): plenty for a regional mean and
# cheap to convert to CIELAB.
ANALYSIS_LONG_SIDE = 256
# Quality, marks and alignment work on a larger copy (`analysis_copy`): a mark 1 mm across on a
# cheek filling the frame is still a few pixels, and sharpness is only comparable between copies
# of one size, so every photo's copy is exactly this long when the photo is at least as long.
ANALYSIS_LONG_SIDE_MARKS = 512


@dataclass(frozen=True)
class ColourMetrics:
    """Mean CIELAB (D65) of a region and its Individual Typology Angle.

    Indicative only: the numbers depend on the light the photo was taken in. a* tracks redness
    (PIE); L* and ITA° track lightness/pigmentation (PIH; a lower ITA° is darker/browner).
    """

    l_star: float
    a_star: float
    b_star: float
    ita_deg: float

    def as_dict(self) -> dict[str, float]:
        """The JSON shape the API and templates use, rounded to 2 dp (more is noise)."""
        return {
            "L": round(self.l_star, 2),
            "a": round(self.a_star, 2),
            "b": round(self.b_star, 2),
            "ita": round(self.ita_deg, 2),
        }


# sRGB (IEC 61966-2-1) linear RGB -> CIE XYZ, D65 white.
_SRGB_TO_XYZ = np.array(
    [
        [0.4124564, 0.3575761, 0.1804375],
        [0.2126729, 0.7151522, 0.0721750],
        [0.0193339, 0.1191920, 0.9503041],
    ]
)
_D65_WHITE = np.array([0.95047, 1.0, 1.08883])
_SRGB_TO_WHITE_RELATIVE = _SRGB_TO_XYZ / _D65_WHITE[:, None]  # rows give X/Xn, Y/Yn, Z/Zn
_LAB_EPSILON = (6 / 29) ** 3
_LAB_KAPPA_SLOPE = 1 / (3 * (6 / 29) ** 2)


def _srgb_decode(values: np.ndarray) -> np.ndarray:
    """sRGB transfer function inverse: encoded 0..1 -> linear light 0..1."""
    return np.where(values <= 0.04045, values / 12.92, ((values + 0.055) / 1.055) ** 2.4)


# All 256 8-bit codes, decoded once: an uint8 image is then linearised by a table look-up. In
# float32: 8-bit input needs no more (L*a*b* within 1e-4 of float64), and the analysis copy
# converts in half the time.
_SRGB_LINEAR_LUT = _srgb_decode(np.arange(256, dtype=np.float64) / 255.0).astype(np.float32)


def srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """CIELAB (D65) of sRGB values: (..., 3) uint8 or float 0..255 -> (..., 3) float L*, a*, b*.

    sRGB -> linear (IEC 61966-2-1) -> XYZ (D65 matrix) -> CIELAB with Xn=0.95047, Yn=1.0,
    Zn=1.08883. Float input outside 0..255 is clipped. uint8 input gives float32 (average it in
    float64), float input float64.
    """
    array = np.asarray(rgb)
    if array.shape[-1:] != (3,):
        msg = f"expected an array of RGB triples (..., 3), got shape {array.shape}"
        raise ValueError(msg)
    if array.dtype == np.uint8:
        channels = [_SRGB_LINEAR_LUT[array[..., c]] for c in range(3)]
    else:
        linear = _srgb_decode(np.clip(array.astype(np.float64), 0.0, 255.0) / 255.0)
        channels = [linear[..., c] for c in range(3)]
    dtype = channels[0].dtype
    red, green, blue = channels
    fx, fy, fz = (
        _lab_f(row[0] * red + row[1] * green + row[2] * blue)
        for row in _SRGB_TO_WHITE_RELATIVE.astype(dtype)
    )
    lab = np.empty((*array.shape[:-1], 3), dtype)
    lab[..., 0] = 116.0 * fy - 16.0
    lab[..., 1] = 500.0 * (fx - fy)
    lab[..., 2] = 200.0 * (fy - fz)
    return lab


def _lab_f(t: np.ndarray) -> np.ndarray:
    """CIELAB's companding of a white-relative tristimulus value (cube root, linear near 0)."""
    linear = t * t.dtype.type(_LAB_KAPPA_SLOPE) + t.dtype.type(4 / 29)
    return np.where(t > _LAB_EPSILON, np.cbrt(t), linear)


def ita_degrees(l_star: float, b_star: float) -> float:
    """Individual Typology Angle: ITA° = atan((L* - 50) / b*) * 180 / pi.

    Written as atan2(L* - 50, b*), which is the same for b* > 0 (all real skin) and stays defined
    and continuous at b* = 0 (+-90°, or 0° when L* = 50 too) instead of dividing by zero.
    """
    return math.degrees(math.atan2(l_star - 50.0, b_star))


def validate_region(region: object) -> Region:
    """A (left, top, right, bottom) region as fractions 0..1, or ValueError saying what is wrong.

    Accepts any sequence of four numbers (a JSON list from the client, a tuple from code).
    """
    if isinstance(region, (str, bytes)) or not isinstance(region, Sequence):
        msg = "A region must be four numbers: left, top, right, bottom."
        raise ValueError(msg)
    if len(region) != 4:
        msg = f"A region must be four numbers (left, top, right, bottom), got {len(region)}."
        raise ValueError(msg)
    values: list[float] = []
    for value in region:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            msg = "A region must be four numbers: left, top, right, bottom."
            raise ValueError(msg)
        number = float(value)
        if not math.isfinite(number) or not 0.0 <= number <= 1.0:
            msg = "Region coordinates are fractions of the photo and must lie between 0 and 1."
            raise ValueError(msg)
        values.append(number)
    left, top, right, bottom = values
    if not left < right:
        msg = "A region's left edge must be left of its right edge."
        raise ValueError(msg)
    if not top < bottom:
        msg = "A region's top edge must be above its bottom edge."
        raise ValueError(msg)
    return left, top, right, bottom


def colour_metrics(image: Image.Image | bytes, region: Region | None = None) -> ColourMetrics:
    """Mean CIELAB (D65) and ITA° of `region` (default: the central DEFAULT_REGION).

    `image` is a Pillow image (measured as is) or encoded bytes, which are checked and decoded like
    an upload, with their EXIF orientation applied, so region fractions refer to the photo as the
    patient sees it. Raises ImageRejected for bad bytes and ValueError for a bad region.

    Method: the image is box-averaged down to at most ANALYSIS_LONG_SIDE px (for a JPEG directly by
    the decoder), each pixel of the region is converted to Lab, and the Lab values are averaged.
    That is the mean Lab of the pixels, not the Lab of the mean RGB (which would be biased by the
    non-linear sRGB curve); only the box average inside each small block happens in sRGB.
    """
    box = validate_region(DEFAULT_REGION if region is None else region)
    if isinstance(image, (bytes, bytearray, memoryview)):
        small = _small_copy_from_bytes(bytes(image), ANALYSIS_LONG_SIDE // 2, _analysis_factor)
    else:
        small = srgb_reduced(image, _analysis_factor(max(image.size)), None)
    left, top, right, bottom = box
    x0, x1 = pixel_span(left, right, small.width)
    y0, y1 = pixel_span(top, bottom, small.height)
    pixels = np.asarray(small.crop((x0, y0, x1, y1)), dtype=np.uint8)
    lab = srgb_to_lab(pixels).reshape(-1, 3).mean(axis=0, dtype=np.float64)
    l_star, a_star, b_star = (float(v) for v in lab)
    return ColourMetrics(l_star, a_star, b_star, ita_degrees(l_star, b_star))


def pixel_span(start: float, end: float, size: int) -> tuple[int, int]:
    """Pixels lying wholly inside [start, end) of `size`, so background straddling a region's
    edge does not leak into it; a region thinner than a pixel gets the pixel at its centre."""
    first = math.ceil(start * size - 1e-9)
    stop = math.floor(end * size + 1e-9)
    if stop <= first:
        centre = min(int((start + end) / 2 * size), size - 1)
        return centre, centre + 1
    return first, stop


def analysis_copy(image: Image.Image | bytes) -> np.ndarray:
    """The photo as the analysis copy quality, marks and alignment work on: uint8 RGB (H, W, 3),
    box-averaged to a long side of ANALYSIS_LONG_SIDE_MARKS (never enlarged).

    `image` is a Pillow image (taken as is: ingest passes its upright display rendition) or
    encoded bytes, checked and decoded like an upload with their EXIF orientation applied, so
    region fractions refer to the photo as the patient sees it. Raises ImageRejected for bad
    bytes. Averaging every source pixel into the copy (Pillow's BOX filter: the area each output
    pixel covers, at fractional scales too) keeps noise and fine detail measured alike whatever
    the source size.
    """
    long_side = ANALYSIS_LONG_SIDE_MARKS
    if isinstance(image, (bytes, bytearray, memoryview)):
        # Whole box factors that keep at least the copy's size; the BOX resize does the rest.
        small = _small_copy_from_bytes(
            bytes(image), long_side, lambda side: max(1, side // long_side)
        )
    else:
        small = srgb_reduced(image, max(1, max(image.size) // long_side), None)
    width, height = small.size
    if max(width, height) > long_side:
        ratio = long_side / max(width, height)
        size = (max(1, round(width * ratio)), max(1, round(height * ratio)))
        small = small.resize(size, Image.Resampling.BOX)
    return np.asarray(small)


def _small_copy_from_bytes(
    data: bytes, draft_long_side: int, factor: Callable[[int], int]
) -> Image.Image:
    """Decode bytes straight to a small oriented RGB copy: a JPEG drafted by the decoder to a long
    side of at least `draft_long_side`, then box-reduced `factor(long side)` times."""
    small, orientation, _, cost = decode_upload(
        data, draft_long_side=draft_long_side, box_factor=factor
    )
    if cost >= GIVE_BACK_AFTER_BYTES:
        give_back_freed_memory()
    return apply_orientation(small, orientation)


def _analysis_factor(long_side: int) -> int:
    """The box reduction (Image.reduce) to a long side of at most ANALYSIS_LONG_SIDE."""
    return max(1, math.ceil(long_side / ANALYSIS_LONG_SIDE))
