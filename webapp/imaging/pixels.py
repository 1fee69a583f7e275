"""Decoding an accepted upload to 8-bit sRGB pixels, small enough to work with.

Besides the decoder's own pixels no full-size copy exists: a big JPEG is decoded at a reduced scale
by libjpeg itself; other formats are turned into 8-bit sRGB (from their ICC profile, 16 bits or
transparency) and box-reduced a strip at a time; HEIC pixels are read straight from libheif's
buffer. The EXIF orientation and capture time are read here too; the caller applies the
orientation (apply_orientation) to the reduced pixels, and gives a big decode's memory back once
they are gone (give_back_freed_memory).
"""

from __future__ import annotations

import ctypes
import io
from collections.abc import Callable
from contextlib import suppress
from datetime import datetime
from functools import lru_cache

import numpy as np
import pillow_heif
from PIL import Image, ImageCms

from .decoding import (
    JPEG_FORMATS,
    MAX_DECODE_BYTES,
    MAX_PIXELS,
    MAX_UPLOAD_BYTES,
    decode_cost,
    draft_at_least,
    open_upload,
    too_costly,
    untrusted_image,
)

# A decode that took at least this much (a 16 MP PNG, a 12 MP HEIC) is given back to the system
# at once: see give_back_freed_memory. A 12 MP JPEG, drafted to 12 MB, does not pay for it.
GIVE_BACK_AFTER_BYTES = 64_000_000

# Pixels converted at a time when a decoded image is not 8-bit RGB already (4 MB of RGB): small
# next to the image, big enough that the per-strip overhead does not show.
_STRIP_PIXELS = 1 << 20

_EXIF_IFD = 0x8769
_TAG_ORIENTATION = 0x0112
_TAG_DATETIME = 0x0132
_TAG_DATETIME_ORIGINAL = 0x9003

_ORIENTATION_TRANSPOSE: dict[int, Image.Transpose] = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}

_WHITE = (255, 255, 255)


def decode_upload(
    data: bytes,
    *,
    draft_long_side: int,
    box_factor: Callable[[int], int],
    max_bytes: int = MAX_UPLOAD_BYTES,
    max_pixels: int = MAX_PIXELS,
    max_decode_bytes: int = MAX_DECODE_BYTES,
) -> tuple[Image.Image, int, datetime | None, int]:
    """Decode an upload to 8-bit sRGB box-reduced `box_factor(long side)` times, with its EXIF
    orientation (not applied), capture time and decode cost (bytes, see decode_cost).

    Priced from its header first. A big JPEG is decoded at a reduced scale (to at least
    `draft_long_side`) by the JPEG decoder itself.
    """
    with untrusted_image(max_pixels):
        image = open_upload(data, max_bytes=max_bytes, max_pixels=max_pixels)
        full_size = image.size
        if image.format in JPEG_FORMATS:
            draft_at_least(image, draft_long_side)
        cost = decode_cost(image, data, full_size)
        if cost > max_decode_bytes:
            raise too_costly(image, data, full_size, cost, max_decode_bytes)
        transform = _transform_to_srgb(image.info.get("icc_profile") or b"", image.mode)
        if image.format == "HEIF":
            pixels = _heif_srgb(data, box_factor, transform)
        else:
            image.load()
            pixels = srgb_reduced(image, box_factor(max(image.size)), transform)
        orientation, taken_at = _read_exif(image)
        return pixels, orientation, taken_at, cost


def _find_malloc_trim() -> Callable[[int], int] | None:
    """glibc's malloc_trim, or None where the C library has none (musl, macOS)."""
    try:
        return ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return None


_MALLOC_TRIM = _find_malloc_trim()


def give_back_freed_memory() -> None:
    """Hand memory freed by a big decode back to the system now (0-15 ms).

    glibc keeps what a thread frees in that thread's arena for its next allocation; after big
    photos on a few threads a worker would otherwise stay hundreds of MB above its resting size.
    """
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)


def _read_exif(image: Image.Image) -> tuple[int, datetime | None]:
    """EXIF orientation (1 when absent) and capture time. Bad metadata never rejects a photo."""
    try:
        exif = image.getexif()
        orientation = exif.get(_TAG_ORIENTATION, 1)
        taken = exif.get_ifd(_EXIF_IFD).get(_TAG_DATETIME_ORIGINAL) or exif.get(_TAG_DATETIME)
    except Exception:
        return 1, None
    if not isinstance(orientation, int) or orientation not in _ORIENTATION_TRANSPOSE:
        orientation = 1
    return orientation, _parse_exif_datetime(taken)


def _parse_exif_datetime(value: object) -> datetime | None:
    """EXIF writes "YYYY:MM:DD HH:MM:SS" (often NUL padded); blank or zeroed values mean unknown."""
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    if not isinstance(value, str):
        return None
    text = value.strip("\x00 ")[:19]
    try:
        return datetime.strptime(text, "%Y:%m:%d %H:%M:%S")  # EXIF has no zone: naive
    except ValueError:
        return None


def apply_orientation(image: Image.Image, orientation: int) -> Image.Image:
    """Turn the stored pixels the way the camera said they should be shown."""
    method = _ORIENTATION_TRANSPOSE.get(orientation)
    return image if method is None else image.transpose(method)


def srgb_reduced(
    image: Image.Image, factor: int, transform: ImageCms.ImageCmsTransform | None
) -> Image.Image:
    """8-bit sRGB pixels of a loaded image, box-reduced `factor` times (Image.reduce).

    An RGB image is reduced as it is, after converting its own pixels in place (the decoder's:
    ours to change). Any other is converted a strip at a time, so beside it there is never more
    than a strip and the reduced result: a 16-bit or RGBA image converted whole would need
    another 4 bytes a pixel at full size, the RGBA flattening three times that.
    """
    if image.mode == "RGB" and (transform is None or factor == 1):
        if transform is not None:
            _apply_in_place(image, transform)
        return image.reduce(factor) if factor > 1 else image
    sixteen_bit = _holds_sixteen_bit(image)
    return _reduce_in_strips(
        image.size,
        lambda top, bottom: image.crop((0, top, image.width, bottom)),
        factor,
        lambda strip: _to_srgb(strip, transform, sixteen_bit),
    )


def _heif_srgb(
    data: bytes,
    box_factor: Callable[[int], int],
    transform: ImageCms.ImageCmsTransform | None,
) -> Image.Image:
    """Decode a HEIC's primary image with libheif and reduce it to 8-bit sRGB, a strip at a time.

    Read straight from libheif's buffer: through Pillow's plugin the pixels would be copied whole
    into a Pillow image first (4 more bytes a pixel). Opened as the plugin opens it, so libheif
    applies the rotation and mirroring as it does there (and the plugin's EXIF says upright).
    """
    heif = pillow_heif.open_heif(
        data, convert_hdr_to_8bit=True, hdr_to_16bit=True, remove_stride=False
    )
    frame = heif[heif.primary_index]
    buffer, stride, mode = frame.data, frame.stride, frame.mode  # .data decodes
    width, height = frame.size

    def rows(top: int, bottom: int) -> Image.Image:
        part = buffer[top * stride : bottom * stride]
        return Image.frombuffer(mode, (width, bottom - top), part, "raw", mode, stride, 1)

    convert = lambda strip: _to_srgb(strip, transform)  # noqa: E731 - one line, used once
    return _reduce_in_strips(frame.size, rows, box_factor(max(width, height)), convert)


def _reduce_in_strips(
    size: tuple[int, int],
    rows: Callable[[int, int], Image.Image],
    factor: int,
    convert: Callable[[Image.Image], Image.Image],
) -> Image.Image:
    """An RGB image `factor` times smaller, made from `convert(rows(top, bottom))` strip by strip.

    Strips are a whole number of `factor` rows high, so the box reduction of each is exactly that
    part of the reduction of the whole (Image.reduce averages aligned blocks).
    """
    width, height = size
    step = max(1, _STRIP_PIXELS // (width * factor)) * factor
    reduced = Image.new("RGB", (-(-width // factor), -(-height // factor)))
    for top in range(0, height, step):
        strip = convert(rows(top, min(height, top + step)))
        reduced.paste(strip.reduce(factor) if factor > 1 else strip, (0, top // factor))
    return reduced


def _to_srgb(
    image: Image.Image,
    transform: ImageCms.ImageCmsTransform | None,
    sixteen_bit: bool | None = None,
) -> Image.Image:
    """8-bit sRGB pixels, converted through `transform` (from the embedded ICC profile) if any.

    The profile is about to be dropped, and browsers and the colour metrics read untagged pixels
    as sRGB; an iPhone's Display P3 values read as sRGB would look duller and measure less red than
    they are, and a patient who changes phone would see a jump in the curves. An RGB `image` is
    converted in place: pass a strip of your own.
    """
    if transform is None:
        return _to_rgb(image, sixteen_bit)
    if image.mode == "CMYK":
        with suppress(ImageCms.PyCMSError):
            converted = ImageCms.applyTransform(image, transform)
            if converted is not None:
                return converted
        return _to_rgb(image)
    rgb = _to_rgb(image, sixteen_bit)
    _apply_in_place(rgb, transform)
    return rgb


def _apply_in_place(image: Image.Image, transform: ImageCms.ImageCmsTransform) -> None:
    """Convert RGB pixels through `transform` in place; a transform that fails leaves them as they
    are, as a browser shows a photo whose profile it cannot use."""
    with suppress(ImageCms.PyCMSError):
        ImageCms.applyTransform(image, transform, inPlace=True)


_SRGB_PROFILE = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


@lru_cache(maxsize=16)
def _transform_to_srgb(icc: bytes, mode: str) -> ImageCms.ImageCmsTransform | None:
    """A transform from the embedded profile to sRGB, or None if none is needed or possible.

    None for no profile, a profile that says it is sRGB, a profile for another colour space than
    the pixels', or a broken profile: then the pixels are kept as they are, as a browser would.
    Cached: a phone sends the same profile with every photo.
    """
    if not icc:
        return None
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if "srgb" in ImageCms.getProfileDescription(profile).lower():
            return None
        space = profile.profile.xcolor_space.strip()
        if space == "CMYK" and mode == "CMYK":
            in_mode = "CMYK"
        elif space == "RGB" and mode != "CMYK":
            in_mode = "RGB"  # applied after _to_rgb
        else:
            return None
        return ImageCms.buildTransform(
            profile,
            _SRGB_PROFILE,
            in_mode,
            "RGB",
            renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC,
        )
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return None


# rint(v / 257) of every 16-bit value, in integers (no v / 257 ends in exactly .5), and the 8-bit
# clip for a 32-bit greyscale image that holds 8-bit values.
_SIXTEEN_TO_EIGHT = ((np.arange(65536, dtype=np.uint32) * 2 + 257) // 514).astype(np.uint8)
_CLIP_TO_EIGHT = np.minimum(np.arange(65536), 255).astype(np.uint8)


def _holds_sixteen_bit(image: Image.Image) -> bool:
    """Whether a greyscale "I" image's values run to 65535 (scaled to 8 bits) or 255 (kept).

    Decided for the whole image once, so every strip of it is converted alike.
    """
    if image.mode.startswith("I;16"):
        return True
    return image.mode == "I" and image.getextrema()[1] > 255


def _to_rgb(image: Image.Image, sixteen_bit: bool | None = None) -> Image.Image:
    """8-bit RGB; transparency is flattened onto white (how a browser shows it on our pages).

    `sixteen_bit` says how to read a 32-bit greyscale image; by default its own values decide.
    """
    if image.mode == "RGB":
        return image
    if image.mode.startswith("I"):
        # 16-bit greyscale PNG: Pillow's convert() would clip at 255, i.e. almost all white. A
        # table look-up maps it to 8 bits with no float copy of the pixels.
        if sixteen_bit is None:
            sixteen_bit = _holds_sixteen_bit(image)
        table = _SIXTEEN_TO_EIGHT if sixteen_bit else _CLIP_TO_EIGHT
        grey = Image.fromarray(table[np.clip(np.asarray(image), 0, 65535)])
        return grey.convert("RGB")
    if image.has_transparency_data:
        rgba = image if image.mode == "RGBA" else image.convert("RGBA")  # only read from
        flat = Image.new("RGB", rgba.size, _WHITE)
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return image.convert("RGB")
