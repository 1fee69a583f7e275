"""Ingest: one upload in, clean JPEG renditions, colour, quality and mark metrics out.

The renditions carry nothing but pixels: they are rebuilt into fresh images and encoded anew, so no
EXIF, GPS, XMP, ICC profile, comment or trailing bytes of the patient's file survive.
"""

from __future__ import annotations

import hashlib
import io
import math
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from PIL import Image

from .colour import ColourMetrics, analysis_copy, colour_metrics
from .decoding import MAX_DECODE_BYTES, MAX_PIXELS, MAX_UPLOAD_BYTES
from .marks import MarkMetrics, measure_marks
from .pixels import GIVE_BACK_AFTER_BYTES, apply_orientation, decode_upload, give_back_freed_memory
from .quality import PhotoQuality, analysis_grey, assess_quality

RENDITION_SIZES: dict[str, int] = {"full": 2048, "display": 1280, "thumb": 320}  # long side, px
CONTENT_TYPE = "image/jpeg"  # every rendition is a freshly encoded JPEG

# A JPEG is decoded at 1/2, 1/4 or 1/8 scale when that still leaves at least this fraction of the
# "full" long side (2048 * 0.9 = 1843 px). A 12 MP photo (4000 or 4032 px wide) then decodes
# straight to 2000/2016 px instead of decoding all 12 MP and resampling them down to 2048, which
# costs about twice as much for 2 % more resolution. Set to 1.0 for an exact 2048 px long side.
JPEG_DRAFT_MIN_FRACTION = 0.9

JPEG_QUALITY = 85


@dataclass(frozen=True)
class Rendition:
    """One stored size of a photo: JPEG bytes and their pixel dimensions."""

    name: str
    data: bytes
    width: int
    height: int


@dataclass(frozen=True)
class IngestedPhoto:
    """Everything the app keeps of an upload. The upload itself is never stored."""

    renditions: dict[str, Rendition]  # "full", "display", "thumb"
    width: int  # of the "full" rendition
    height: int
    sha256: str  # hex digest of the full rendition's bytes
    taken_at: datetime | None  # EXIF DateTimeOriginal (or DateTime), naive; for the database only
    colour: ColourMetrics  # of DEFAULT_REGION, measured on the thumb (= the full within 0.15)
    quality: PhotoQuality  # of the analysis copy: exposure, sharpness, colour cast, verdict
    marks: MarkMetrics  # red and dark marks against the photo's own skin, whole frame
    grey: np.ndarray  # uint8 (H, W) grey of the analysis copy: what alignment matches photos by


def ingest_photo(
    data: bytes,
    *,
    max_bytes: int = MAX_UPLOAD_BYTES,
    max_pixels: int = MAX_PIXELS,
    max_decode_bytes: int = MAX_DECODE_BYTES,
) -> IngestedPhoto:
    """Validate an upload and turn it into clean JPEG renditions plus colour, quality and marks.

    Raises ImageRejected (and nothing else) for bytes that are not an acceptable photo. The
    renditions carry no metadata at all: the pixels are rebuilt into a new image before encoding,
    and the patient's original file (with its GPS position, camera serial, trailing data) is
    dropped. `max_pixels` can only lower Pillow's own bomb limit (Image.MAX_IMAGE_PIXELS, 89 MP),
    never raise it. `max_decode_bytes` bounds the memory decoding may take, priced from the header.
    """
    photo, cost = _ingest(
        bytes(data),
        max_bytes=max_bytes,
        max_pixels=max_pixels,
        max_decode_bytes=max_decode_bytes,
    )
    # Here, not in _ingest: only once its frame is gone are all the images it made freed.
    if cost >= GIVE_BACK_AFTER_BYTES:
        give_back_freed_memory()
    return photo


def _ingest(
    data: bytes, *, max_bytes: int, max_pixels: int, max_decode_bytes: int
) -> tuple[IngestedPhoto, int]:
    """ingest_photo's work, and what decoding the upload was priced at (bytes)."""
    full_side = RENDITION_SIZES["full"]
    decoded, orientation, taken_at, cost = decode_upload(
        data,
        draft_long_side=math.ceil(full_side * JPEG_DRAFT_MIN_FRACTION),
        # Box-reduce by a whole factor that keeps at least the full rendition's size; the last
        # step, by less than 2, is bicubic.
        box_factor=lambda long_side: max(1, long_side // full_side),
        max_bytes=max_bytes,
        max_pixels=max_pixels,
        max_decode_bytes=max_decode_bytes,
    )
    full = _upright_pixels(_fit(decoded, full_side), orientation)
    del decoded  # at most two full-size images exist at once, and only for a moment
    # Each rendition is made from the next larger one, never from the upload. The display
    # resample is the largest cost after the decode: bilinear (a triangle as wide as the step)
    # costs 2/3 of bicubic there and is a touch softer (0.4 dB from a Lanczos-from-the-original
    # reference on the benchmark photo; visible only on test patterns). The thumb is shown at
    # 96 CSS px: an integer box reduction (Image.reduce) does nearly all of it.
    display = _fit(full, RENDITION_SIZES["display"], Image.Resampling.BILINEAR)
    thumb = _fit(display, RENDITION_SIZES["thumb"], Image.Resampling.BILINEAR, reducing_gap=1.0)
    # Quality, marks and alignment share one 512 px copy, made from the display rendition's
    # pixels before encoding (the upload's own, like the thumb's).
    analysis = analysis_copy(display)
    grey = analysis_grey(analysis)
    renditions = {
        # Full is opened only when a patient taps a photo: Huffman optimisation would make it
        # ~15 % smaller at twice the encoding time. The two that every page loads keep it.
        "full": Rendition("full", _encode_jpeg(full, optimize=False), full.width, full.height),
        "display": Rendition("display", _encode_jpeg(display), display.width, display.height),
        "thumb": Rendition("thumb", _encode_jpeg(thumb), thumb.width, thumb.height),
    }
    photo = IngestedPhoto(
        renditions=renditions,
        width=full.width,
        height=full.height,
        sha256=hashlib.sha256(renditions["full"].data).hexdigest(),
        taken_at=taken_at,
        # A regional mean needs no 3 MP and no second decode: the thumb's pixels, before encoding,
        # are the closest to the upload's own (JPEG shifts a flat colour's mean by up to 0.4 b*
        # in the stored thumb, 0.1 in the stored full). Re-measuring reads the stored full
        # rendition, which agrees within 0.15 L*a*b* (tests/test_imaging.py holds this).
        colour=colour_metrics(thumb),
        quality=assess_quality(analysis, grey),
        marks=measure_marks(analysis),
        grey=grey,
    )
    return photo, cost


def _upright_pixels(image: Image.Image, orientation: int) -> Image.Image:
    """The pixels turned upright, in a new image that carries nothing but them.

    A transpose already writes into a new plain Image (no decoder state, no EXIF cache); all it
    takes from its source is a copy of `info` (EXIF, ICC, XMP, comment), which is emptied. Upright
    pixels are copied into a new image instead. Either way one copy of the pixels, not two.
    """
    turned = apply_orientation(image, orientation)
    if turned is image:  # upright already: no transpose made a copy
        return _rebuild(image)
    turned.info = {}
    return turned


def _fit(
    image: Image.Image,
    long_side: int,
    resample: Image.Resampling = Image.Resampling.BICUBIC,
    reducing_gap: float = 2.0,
) -> Image.Image:
    """Scale down so the long side is at most `long_side`; never scale up.

    By default bicubic with a reducing gap of 2, as Pillow's own thumbnail() does: a cheap integer
    box reduction first, then bicubic over the last factor of 2 or less; indistinguishable from
    Lanczos on a phone screen at 60 % of its cost. A gap of 1 leaves nearly all to the box.
    """
    width, height = image.size
    if max(width, height) <= long_side:
        return image
    ratio = long_side / max(width, height)
    size = (max(1, round(width * ratio)), max(1, round(height * ratio)))
    return image.resize(size, resample, reducing_gap=reducing_gap)


def _rebuild(image: Image.Image) -> Image.Image:
    """A new image holding only the pixels: no info dict, EXIF, ICC, XMP or comment rides along.

    Pillow's resize/transpose copy `info`, and its JPEG writer re-emits e.g. a comment found there,
    so stripping by omission is not enough.
    """
    clean = Image.new("RGB", image.size, None)  # None: not cleared, paste overwrites it all
    clean.paste(image)
    return clean


def _encode_jpeg(image: Image.Image, *, optimize: bool = True) -> bytes:
    """Baseline JPEG (4:2:0, Pillow's default at this quality), no metadata arguments at all.

    `optimize` (Huffman tables fitted to the image) saves ~15 % of the bytes for about twice the
    encoding time. Progressive would be slower still for a few % more; not worth it here.
    """
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=JPEG_QUALITY, optimize=optimize)
    return buffer.getvalue()
