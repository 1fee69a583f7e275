"""Photo ingest: validate an upload, orient it, strip its metadata, make renditions, measure colour.

Every photo a patient uploads passes through `ingest_photo` before anything is stored. The upload is
untrusted: it may be a renamed PDF, a truncated transfer, a decompression bomb, or a phone photo
that carries the patient's home (GPS) in its EXIF. So this module

* identifies the format from the bytes alone (never a file name or a declared content type) and
  accepts only JPEG, PNG, WebP and HEIC/HEIF;
* refuses oversize uploads before opening them and oversize images from their header, before a
  single pixel is decoded: too many pixels, or more memory than MAX_DECODE_BYTES to decode them
  (a 95 KB 16-bit PNG can hold 49 MP; a progressive CMYK JPEG needs 8 bytes a pixel);
* turns every decoder failure into `ImageRejected`, so the web layer answers 4xx, never 500;
* converts pixels tagged with another ICC profile (an iPhone's Display P3) to sRGB, applies the
  EXIF orientation, then rebuilds the pixels into a fresh image and re-encodes it as JPEG, so no
  EXIF, GPS, XMP, ICC profile, comment or bytes appended after the image survive;
* measures indicative colour (CIELAB, ITA°) of the central region, the basis of the redness and
  pigmentation curves.

It imports nothing from Flask so it can be tested directly and reused from command-line tools.

Speed: a 12 MP JPEG is decoded at half scale in the DCT domain (`Image.draft`) and never exists
at full size in memory; each smaller rendition is made from the one above it, and colour is
measured on the thumb. An ingest costs about 1.3 plain full-size decodes of the same file, where
the obvious pipeline costs eleven (bench/bench_ingest.py). The half-scale decode alone is 0.6-0.7
of that decode: the entropy decoding cannot be scaled away. JPEG scaling only halves, so the
"full" rendition of a 4000 px wide photo is 2000 px, not 2048: see `JPEG_DRAFT_MIN_FRACTION`.

Memory: one ingest peaks under 300 MB above the worker's resting size for any file it accepts
(tests/test_ingest_memory.py measures the worst kinds at the pixel limit). Besides the decoder's
own pixels, no full-size copy exists: other formats are turned into 8-bit sRGB and box-reduced a
strip at a time, and HEIC pixels are read straight from libheif's buffer. No float array is
ever made of more than the 256 px analysis copy.
"""

from __future__ import annotations

import ctypes
import hashlib
import io
import math
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

import numpy as np
import pillow_heif
from PIL import Image, ImageCms

# HEIC is what an iPhone sends. Registering is idempotent; done once here so every opener in this
# module (and anything importing it) understands HEIF.
pillow_heif.register_heif_opener()

MAX_UPLOAD_BYTES = 25 * 1024 * 1024
MAX_PIXELS = 50_000_000
# The most memory decoding one upload may take, priced from its header before decoding (see
# _decode_cost): the pixels as the decoder holds them plus its own buffers. The renditions, the
# reduced copy and the interpreter take the rest of the 300 MB one ingest may peak at. 50 MP of
# RGB(A) PNG (200 MB) or 8-bit HEIC (240 MB) fits; 50 MP of progressive CMYK JPEG (450 MB), WebP
# (800 MB) or HEIC with transparency (350 MB) does not.
MAX_DECODE_BYTES = 240_000_000
RENDITION_SIZES: dict[str, int] = {"full": 2048, "display": 1280, "thumb": 320}  # long side, px
CONTENT_TYPE = "image/jpeg"  # every rendition is a freshly encoded JPEG

# A JPEG is decoded at 1/2, 1/4 or 1/8 scale when that still leaves at least this fraction of the
# "full" long side (2048 * 0.9 = 1843 px). A 12 MP photo (4000 or 4032 px wide) then decodes
# straight to 2000/2016 px instead of decoding all 12 MP and resampling them down to 2048, which
# costs about twice as much for 2 % more resolution. Set to 1.0 for an exact 2048 px long side.
JPEG_DRAFT_MIN_FRACTION = 0.9

JPEG_QUALITY = 85

Region = tuple[float, float, float, float]  # (left, top, right, bottom), fractions of width/height
DEFAULT_REGION: Region = (0.25, 0.25, 0.75, 0.75)  # central area: the face, not the background

# Colour is measured on a copy at most this long (box-averaged): plenty for a regional mean and
# cheap to convert to CIELAB.
ANALYSIS_LONG_SIDE = 256

# A decode that took at least this much (a 16 MP PNG, a 12 MP HEIC) is given back to the system
# at once: see _give_back_freed_memory. A 12 MP JPEG, drafted to 12 MB, does not pay for it.
_GIVE_BACK_AFTER_BYTES = 64_000_000

# Pixels converted at a time when a decoded image is not 8-bit RGB already (4 MB of RGB): small
# next to the image, big enough that the per-strip overhead does not show.
_STRIP_PIXELS = 1 << 20

# Formats as Pillow names them after sniffing the bytes. MPO is how Pillow reports the
# multi-picture JPEGs many Android and iPhone cameras write; it is plain JPEG to a browser.
_FORMATS_TO_TRY = ("JPEG", "PNG", "WEBP", "HEIF")
_JPEG_FORMATS = frozenset({"JPEG", "MPO"})
_ACCEPTED_FORMATS = frozenset({"JPEG", "MPO", "PNG", "WEBP", "HEIF"})

# ISO base media file brands of HEIF still images (HEVC coded or generic), as the `ftyp` box names
# them. AVIF ("avif", "avis") is deliberately absent: it is not a format we promise to accept.
_HEIF_BRANDS = frozenset(
    {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs", b"mif1", b"msf1"}
)

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


class ImageRejected(ValueError):
    """Upload that is not an acceptable photo.

    `code` is machine readable ("too_large", "unsupported_type", "too_many_pixels", "corrupt",
    "empty"), `status` the HTTP status to answer with, and str(exc) a clear sentence for the
    patient, safe to show as is.
    """

    def __init__(self, code: str, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


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


# --------------------------------------------------------------------------------------------
# Ingest
# --------------------------------------------------------------------------------------------


def ingest_photo(
    data: bytes,
    *,
    max_bytes: int = MAX_UPLOAD_BYTES,
    max_pixels: int = MAX_PIXELS,
    max_decode_bytes: int = MAX_DECODE_BYTES,
) -> IngestedPhoto:
    """Validate an upload and turn it into clean JPEG renditions plus colour metrics.

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
    if cost >= _GIVE_BACK_AFTER_BYTES:
        _give_back_freed_memory()
    return photo


def _ingest(
    data: bytes, *, max_bytes: int, max_pixels: int, max_decode_bytes: int
) -> tuple[IngestedPhoto, int]:
    """ingest_photo's work, and what decoding the upload was priced at (bytes)."""
    full_side = RENDITION_SIZES["full"]
    decoded, orientation, taken_at, cost = _decode_upload(
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
    )
    return photo, cost


def _decode_upload(
    data: bytes,
    *,
    draft_long_side: int,
    box_factor: Callable[[int], int],
    max_bytes: int = MAX_UPLOAD_BYTES,
    max_pixels: int = MAX_PIXELS,
    max_decode_bytes: int = MAX_DECODE_BYTES,
) -> tuple[Image.Image, int, datetime | None, int]:
    """Decode an upload to 8-bit sRGB box-reduced `box_factor(long side)` times, with its EXIF
    orientation (not applied), capture time and decode cost (bytes, see _decode_cost).

    Priced from its header first. A big JPEG is decoded at a reduced scale (to at least
    `draft_long_side`) by the JPEG decoder itself.
    """
    with _untrusted_image(max_pixels):
        image = _open_upload(data, max_bytes=max_bytes, max_pixels=max_pixels)
        full_size = image.size
        if image.format in _JPEG_FORMATS:
            _draft_at_least(image, draft_long_side)
        cost = _decode_cost(image, data, full_size)
        if cost > max_decode_bytes:
            raise _too_costly(image, data, full_size, cost, max_decode_bytes)
        transform = _transform_to_srgb(image.info.get("icc_profile") or b"", image.mode)
        if image.format == "HEIF":
            pixels = _heif_srgb(data, box_factor, transform)
        else:
            image.load()
            pixels = _srgb_reduced(image, box_factor(max(image.size)), transform)
        orientation, taken_at = _read_exif(image)
        return pixels, orientation, taken_at, cost


def _find_malloc_trim() -> Callable[[int], int] | None:
    """glibc's malloc_trim, or None where the C library has none (musl, macOS)."""
    try:
        return ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return None


_MALLOC_TRIM = _find_malloc_trim()


def _give_back_freed_memory() -> None:
    """Hand memory freed by a big decode back to the system now (0-15 ms).

    glibc keeps what a thread frees in that thread's arena for its next allocation; after big
    photos on a few threads a worker would otherwise stay hundreds of MB above its resting size.
    """
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)


@contextmanager
def _untrusted_image(max_pixels: int) -> Iterator[None]:
    """Run Pillow on untrusted bytes: any failure becomes ImageRejected, no warning escapes.

    Pillow warns (DecompressionBombWarning) for images past Image.MAX_IMAGE_PIXELS and for odd
    metadata ("Corrupt EXIF data"). A warning is not an answer to a patient, and with warnings as
    errors it would be a 500, so bomb warnings become errors here and the rest are ignored.
    Decoders raise many types for hostile input (OSError, SyntaxError, ValueError, struct.error,
    EOFError, ...); for an upload they all mean the same thing: the file is damaged.

    Caveat: warnings.catch_warnings swaps process-wide filters; that is fine in gunicorn's sync
    workers and in tests, where one request runs per process at a time.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            yield
        except ImageRejected:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise _too_many_pixels(None, max_pixels) from exc
        except Exception as exc:
            raise _corrupt() from exc


def _open_upload(data: bytes, *, max_bytes: int, max_pixels: int) -> Image.Image:
    """Check size and type from the bytes, open lazily and check pixels from the header.

    Nothing is decoded yet when this returns, so a bomb costs us only its header.
    """
    if not data:
        raise ImageRejected("empty", "That file is empty. Please choose a photo.", 422)
    if len(data) > max_bytes:
        limit_mb = max_bytes / (1024 * 1024)
        raise ImageRejected(
            "too_large",
            f"That photo is too large: each photo may be at most {limit_mb:g} MB.",
            413,
        )
    kind = _sniff(data)
    if kind is None:
        raise _unsupported()
    try:
        image = Image.open(io.BytesIO(data), formats=_FORMATS_TO_TRY)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise
    except Exception as exc:
        # The signature says JPEG/PNG/WebP/HEIF but the header does not parse: a damaged file.
        raise _corrupt() from exc
    if image.format not in _ACCEPTED_FORMATS:  # pragma: no cover - formats= already limits this
        raise _unsupported()
    width, height = image.size
    if width * height > max_pixels:
        raise _too_many_pixels(image.size, max_pixels)
    return image


def _sniff(data: bytes) -> str | None:
    """The image family announced by the file signature, or None if it is none we accept.

    Sniffing first separates "not a photo at all" (415) from "a photo, but damaged" (422), which
    Pillow's UnidentifiedImageError alone cannot tell apart.
    """
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS:
        return "HEIF"
    return None


def _unsupported() -> ImageRejected:
    return ImageRejected(
        "unsupported_type",
        "That file is not a photo we can read. Please upload a JPEG, PNG, WebP or HEIC image.",
        415,
    )


def _corrupt() -> ImageRejected:
    return ImageRejected(
        "corrupt",
        "That photo could not be read: the file seems damaged or incomplete. "
        "Please take or choose it again.",
        422,
    )


def _too_many_pixels(size: tuple[int, int] | None, max_pixels: int) -> ImageRejected:
    megapixels = max_pixels / 1_000_000
    what = f" ({size[0]} × {size[1]})" if size else ""
    return ImageRejected(
        "too_many_pixels",
        f"That image is too big{what}: photos may have at most {megapixels:g} megapixels.",
        413,
    )


# Bytes a pixel as Pillow stores it: one for 1-bit, greyscale and palette, two for 16-bit
# greyscale, four for everything else (RGB too, padded to four).
_STORED_BYTES = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16B": 2, "I;16L": 2, "I;16N": 2}

# Pillow decodes WebP through libwebp's animation decoder, which keeps two RGBA canvases; Pillow
# copies the frame out of it and then into the image: 16 bytes a pixel, whatever the file holds.
_WEBP_BYTES_PER_PIXEL = 16

# HEIC chroma subsampling (as pillow-heif reports it) -> chroma samples a pixel, both planes.
_HEIF_CHROMA_SHARE = {420: 0.5, 422: 1.0, 444: 2.0}


def _decode_cost(image: Image.Image, data: bytes, full_size: tuple[int, int]) -> int:
    """Bytes decoding `image` (opened, drafted if JPEG, not loaded) will hold at its peak.

    Read from the header alone: the decoded pixels at the size and mode the decoder delivers
    them, plus what the decoder keeps besides. Small fixed buffers are left out.
    """
    width, height = image.size
    pixels = width * height
    if image.format == "WEBP":
        return pixels * _WEBP_BYTES_PER_PIXEL
    if image.format == "HEIF":
        return math.ceil(pixels * _heif_bytes_per_pixel(image))
    cost = pixels * _STORED_BYTES.get(image.mode, 4)
    if image.format in _JPEG_FORMATS:
        cost += _jpeg_coefficient_bytes(image, data, full_size)
    return cost


def _heif_bytes_per_pixel(image: Image.Image) -> float:
    """libheif's peak while decoding, in bytes a pixel.

    Its decoded planes (luma, chroma, alpha; 2 bytes a sample past 8 bits) and a fifth again of
    decoder buffers, the 8-bit interleaved pixels we read and, past 8 bits, an 8-bit copy of the
    planes on the way. Measured for 4:2:0: 4.8 for 8-bit RGB, 7.0 with alpha, 7.9 for 10-bit RGB
    (modelled 4.8, 7.0, 8.1). An unknown subsampling counts as none (4:4:4).
    """
    deep = int(image.info.get("bit_depth") or 8) > 8
    bands = image.getbands()
    planes = 1 + _HEIF_CHROMA_SHARE.get(image.info.get("chroma"), 2.0) + ("A" in bands)
    return planes * (2 if deep else 1) * 1.2 + len(bands) + (planes if deep else 0)


def _jpeg_coefficient_bytes(image: Image.Image, data: bytes, full_size: tuple[int, int]) -> int:
    """Bytes libjpeg holds for the whole image's DCT coefficients, whatever the draft scale.

    It does so when the file has several scans: progressive, or a first scan that does not
    interleave every component (libjpeg's own test). Then each component keeps 64 coefficients
    of 2 bytes for each 8 x 8 block at its sampled size: 8 bytes a pixel for CMYK, 3 for 4:2:0.
    """
    layers = getattr(image, "layer", None) or []
    if not layers:
        return 0
    first_scan = _first_scan_components(data)
    if not image.info.get("progressive") and first_scan == len(layers):
        return 0
    width, height = full_size
    h_max = max(h for _, h, _, _ in layers)
    v_max = max(v for _, _, v, _ in layers)
    blocks = sum(
        math.ceil(width * h / h_max / 8) * math.ceil(height * v / v_max / 8)
        for _, h, v, _ in layers
    )
    return blocks * 64 * 2


def _first_scan_components(data: bytes) -> int | None:
    """How many components the JPEG's first scan header (SOS) names; None if it cannot be found.

    Walks the marker segments by their lengths, so bytes inside EXIF or ICC data are skipped.
    """
    position = 2  # after the start-of-image marker
    while position + 4 < len(data):
        if data[position] != 0xFF:
            return None
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte before a marker
            position += 1
        elif marker == 0xDA:
            return data[position + 4]
        else:
            position += 2 + int.from_bytes(data[position + 2 : position + 4], "big")
    return None


def _too_costly(
    image: Image.Image, data: bytes, full_size: tuple[int, int], cost: int, budget: int
) -> ImageRejected:
    """413 naming the size and how many megapixels a file of this kind may have."""
    width, height = full_size
    allowed = math.floor(budget / (cost / (width * height)) / 100_000) / 10
    return ImageRejected(
        "too_many_pixels",
        f"That photo is too big for us to process ({width} × {height}, {_kind(image, data)}): "
        f"photos like it may have at most {allowed:g} megapixels. Please upload a smaller copy.",
        413,
    )


def _kind(image: Image.Image, data: bytes) -> str:
    """What sort of file the patient sent, in their words: "progressive CMYK JPEG", "WebP"."""
    if image.format in _JPEG_FORMATS:
        several_scans = _jpeg_coefficient_bytes(image, data, image.size) > 0
        words = ["progressive" if several_scans else "", "CMYK" if image.mode == "CMYK" else ""]
        return " ".join([*filter(None, words), "JPEG"])
    if image.format == "HEIF":
        return "HEIC with transparency" if "A" in image.getbands() else "HEIC"
    if image.format == "WEBP":
        return "WebP"
    return "16-bit PNG" if image.mode.startswith("I") else "PNG"


def _draft_at_least(image: Image.Image, min_long_side: int) -> None:
    """Ask the JPEG decoder for the strongest reduction (1/8, 1/4 or 1/2) that still leaves a long
    side of at least `min_long_side`; no reduction if even 1/2 would not.

    Scaling in the DCT domain skips most of the inverse transform, colour conversion and memory of
    a full decode (not the entropy decoding, which is why it saves ~40 %, not 75 %). Must be
    called before load().
    """
    width, height = image.size
    long_side = max(width, height)
    for scale in (8, 4, 2):
        if long_side // scale >= min_long_side:
            # Pillow picks min(width // w, height // h) as the scale; asking for exactly 1/scale
            # of each side makes it pick `scale` (max(1, ...) guards very thin images).
            image.draft(image.mode, (max(1, width // scale), max(1, height // scale)))
            return


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


def _apply_orientation(image: Image.Image, orientation: int) -> Image.Image:
    """Turn the stored pixels the way the camera said they should be shown."""
    method = _ORIENTATION_TRANSPOSE.get(orientation)
    return image if method is None else image.transpose(method)


def _upright_pixels(image: Image.Image, orientation: int) -> Image.Image:
    """The pixels turned upright, in a new image that carries nothing but them.

    A transpose already writes into a new plain Image (no decoder state, no EXIF cache); all it
    takes from its source is a copy of `info` (EXIF, ICC, XMP, comment), which is emptied. Upright
    pixels are copied into a new image instead. Either way one copy of the pixels, not two.
    """
    method = _ORIENTATION_TRANSPOSE.get(orientation)
    if method is None:
        return _rebuild(image)
    turned = image.transpose(method)
    turned.info = {}
    return turned


def _srgb_reduced(
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


# --------------------------------------------------------------------------------------------
# Colour
# --------------------------------------------------------------------------------------------

# sRGB (IEC 61966-2-1) linear RGB -> CIE XYZ, D65 white.
_SRGB_TO_XYZ = np.array(
    [
        [0.4124564, 0.3575761, 0.1804375],
        [0.2126729, 0.7151522, 0.0721750],
        [0.0193339, 0.1191920, 0.9503041],
    ]
)
_D65_WHITE = np.array([0.95047, 1.0, 1.08883])
_LAB_EPSILON = (6 / 29) ** 3
_LAB_KAPPA_SLOPE = 1 / (3 * (6 / 29) ** 2)


def _srgb_decode(values: np.ndarray) -> np.ndarray:
    """sRGB transfer function inverse: encoded 0..1 -> linear light 0..1."""
    return np.where(values <= 0.04045, values / 12.92, ((values + 0.055) / 1.055) ** 2.4)


# All 256 8-bit codes, decoded once: an uint8 image is then linearised by a table look-up.
_SRGB_LINEAR_LUT = _srgb_decode(np.arange(256, dtype=np.float64) / 255.0)


def srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """CIELAB (D65) of sRGB values: (..., 3) uint8 or float 0..255 -> (..., 3) float L*, a*, b*.

    sRGB -> linear (IEC 61966-2-1) -> XYZ (D65 matrix) -> CIELAB with Xn=0.95047, Yn=1.0,
    Zn=1.08883. Float input outside 0..255 is clipped.
    """
    array = np.asarray(rgb)
    if array.shape[-1:] != (3,):
        msg = f"expected an array of RGB triples (..., 3), got shape {array.shape}"
        raise ValueError(msg)
    if array.dtype == np.uint8:
        linear = _SRGB_LINEAR_LUT[array]
    else:
        linear = _srgb_decode(np.clip(array.astype(np.float64), 0.0, 255.0) / 255.0)
    xyz = linear @ _SRGB_TO_XYZ.T / _D65_WHITE
    f = np.where(xyz > _LAB_EPSILON, np.cbrt(xyz), xyz * _LAB_KAPPA_SLOPE + 4 / 29)
    lab = np.empty_like(f)
    lab[..., 0] = 116.0 * f[..., 1] - 16.0
    lab[..., 1] = 500.0 * (f[..., 0] - f[..., 1])
    lab[..., 2] = 200.0 * (f[..., 1] - f[..., 2])
    return lab


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
        small = _analysis_copy_from_bytes(bytes(image))
    else:
        small = _srgb_reduced(image, _analysis_factor(max(image.size)), None)
    left, top, right, bottom = box
    x0, x1 = _pixel_span(left, right, small.width)
    y0, y1 = _pixel_span(top, bottom, small.height)
    pixels = np.asarray(small.crop((x0, y0, x1, y1)), dtype=np.uint8)
    lab = srgb_to_lab(pixels).reshape(-1, 3).mean(axis=0)
    l_star, a_star, b_star = (float(v) for v in lab)
    return ColourMetrics(l_star, a_star, b_star, ita_degrees(l_star, b_star))


def _pixel_span(start: float, end: float, size: int) -> tuple[int, int]:
    """Pixels lying wholly inside [start, end) of `size`, so background straddling a region's
    edge does not leak into it; a region thinner than a pixel gets the pixel at its centre."""
    first = math.ceil(start * size - 1e-9)
    stop = math.floor(end * size + 1e-9)
    if stop <= first:
        centre = min(int((start + end) / 2 * size), size - 1)
        return centre, centre + 1
    return first, stop


def _analysis_copy_from_bytes(data: bytes) -> Image.Image:
    """Decode bytes straight to a small oriented RGB copy for colour analysis."""
    small, orientation, _, cost = _decode_upload(
        data, draft_long_side=ANALYSIS_LONG_SIDE // 2, box_factor=_analysis_factor
    )
    if cost >= _GIVE_BACK_AFTER_BYTES:
        _give_back_freed_memory()
    return _apply_orientation(small, orientation)


def _analysis_factor(long_side: int) -> int:
    """The box reduction (Image.reduce) to a long side of at most ANALYSIS_LONG_SIDE."""
    return max(1, math.ceil(long_side / ANALYSIS_LONG_SIDE))
