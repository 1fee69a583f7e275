"""Opening an untrusted upload: what it is, whether to decode it at all, and at what cost.

Nothing here decodes a pixel. The format is sniffed from the bytes; the header is parsed lazily and
checked against the pixel limit; and what decoding would hold in memory is priced from the header,
so a bomb costs us only its header. Every failure is an `ImageRejected` with a sentence for the
patient.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterator
from contextlib import contextmanager

import pillow_heif
from PIL import Image

# HEIC is what an iPhone sends. Registering is idempotent; done once here so every opener in this
# package (and anything importing it) understands HEIF.
pillow_heif.register_heif_opener()

MAX_UPLOAD_BYTES = 25 * 1024 * 1024
MAX_PIXELS = 50_000_000
# The most memory decoding one upload may take, priced from its header before decoding (see
# decode_cost): the pixels as the decoder holds them plus its own buffers. The renditions, the
# reduced copy and the interpreter take the rest of the 300 MB one ingest may peak at. 50 MP of
# RGB(A) PNG (200 MB) or 8-bit HEIC (240 MB) fits; 50 MP of progressive CMYK JPEG (450 MB), WebP
# (800 MB) or HEIC with transparency (350 MB) does not.
MAX_DECODE_BYTES = 240_000_000

# Formats as Pillow names them after sniffing the bytes. MPO is how Pillow reports the
# multi-picture JPEGs many Android and iPhone cameras write; it is plain JPEG to a browser.
_FORMATS_TO_TRY = ("JPEG", "PNG", "WEBP", "HEIF")
JPEG_FORMATS = frozenset({"JPEG", "MPO"})
_ACCEPTED_FORMATS = frozenset({"JPEG", "MPO", "PNG", "WEBP", "HEIF"})

# ISO base media file brands of HEIF still images (HEVC coded or generic), as the `ftyp` box names
# them. AVIF ("avif", "avis") is deliberately absent: it is not a format we promise to accept.
_HEIF_BRANDS = frozenset(
    {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs", b"mif1", b"msf1"}
)


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


@contextmanager
def untrusted_image(max_pixels: int) -> Iterator[None]:
    """Run Pillow on untrusted bytes: any failure becomes ImageRejected.

    Decoders raise many types for hostile input (OSError, SyntaxError, ValueError, struct.error,
    EOFError, ...); for an upload they all mean the same thing: the file is damaged. Pillow's own
    bomb check inside Image.open (DecompressionBombError past twice Image.MAX_IMAGE_PIXELS, or its
    warning where warnings are errors) means too many pixels, as open_upload's count would.

    The warning filters are left alone. They are one list for the whole process, and a gunicorn
    worker runs 4 threads: two ingests swapping them at once (warnings.catch_warnings) could
    leave the process ignoring every warning. Nothing here needs them: bombs are refused by
    counting pixels, and Pillow's warnings about a damaged file (odd EXIF, a malformed MPO, a
    bomb warning) go where the process sends warnings; where they are errors (the tests), they
    are one more failure to map.
    """
    try:
        yield
    except ImageRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _too_many_pixels(None, max_pixels) from exc
    except Exception as exc:
        raise _corrupt() from exc


def open_upload(data: bytes, *, max_bytes: int, max_pixels: int) -> Image.Image:
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
    # Pillow's own limit still holds when its warning is not an error: a caller may lower the
    # limit, never raise it.
    pillow_limit = Image.MAX_IMAGE_PIXELS
    limit = max_pixels if pillow_limit is None else min(max_pixels, pillow_limit)
    width, height = image.size
    if width * height > limit:
        raise _too_many_pixels(image.size, limit)
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


def decode_cost(image: Image.Image, data: bytes, full_size: tuple[int, int]) -> int:
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
    if image.format in JPEG_FORMATS:
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


def too_costly(
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
    if image.format in JPEG_FORMATS:
        several_scans = _jpeg_coefficient_bytes(image, data, image.size) > 0
        words = ["progressive" if several_scans else "", "CMYK" if image.mode == "CMYK" else ""]
        return " ".join([*filter(None, words), "JPEG"])
    if image.format == "HEIF":
        return "HEIC with transparency" if "A" in image.getbands() else "HEIC"
    if image.format == "WEBP":
        return "WebP"
    return "16-bit PNG" if image.mode.startswith("I") else "PNG"


def draft_at_least(image: Image.Image, min_long_side: int) -> None:
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
