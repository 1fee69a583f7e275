"""Real image bytes for tests: phone-like photos with the metadata a phone writes, and bad files.

Plain functions, no pytest fixtures, so any test module (and the benchmark) can import them.

`make_photo` draws the *stored* pixels: `width` x `height`, the background `colour` and, with
`pattern=True`, a green marker block in the top-left corner. An `orientation` tag only says how a
viewer should turn those pixels, as a camera held sideways does; so an orientation-6 photo shown
correctly is `height` x `width` with the marker in the top-right corner.
"""

from __future__ import annotations

import io
import struct
import zlib
from datetime import datetime

import numpy as np
import pillow_heif
from PIL import Image, ImageCms, PngImagePlugin

pillow_heif.register_heif_opener()

MARKER_COLOUR = (20, 180, 60)  # the top-left block drawn by pattern=True
CAMERA_MAKE = "SkinlogTestCam"  # written to EXIF Make, so tests can look for it in output bytes
XMP_TOOL = "SkinlogTestXMP"  # appears in the XMP packet
GPS_LATITUDE = (52.0, 22.0, 12.34)  # 52°22'12.34" N
GPS_LONGITUDE = (4.0, 53.0, 42.5)  # 4°53'42.5" E

_EXIF_IFD = 0x8769
_GPS_IFD = 0x8825

_FORMAT_NAMES = {"JPEG": "JPEG", "JPG": "JPEG", "PNG": "PNG", "WEBP": "WEBP", "HEIF": "HEIF"}
_FORMAT_NAMES["HEIC"] = "HEIF"


def make_exif(
    *, orientation: int | None = None, gps: bool = False, taken_at: datetime | None = None
) -> Image.Exif:
    """EXIF as a phone writes it: camera make, and optionally orientation, GPS and capture time."""
    exif = Image.Exif()
    exif[0x010F] = CAMERA_MAKE  # Make
    if orientation is not None:
        exif[0x0112] = orientation
    if taken_at is not None:
        stamp = taken_at.strftime("%Y:%m:%d %H:%M:%S")
        exif.get_ifd(_EXIF_IFD)[0x9003] = stamp  # DateTimeOriginal
    if gps:
        gps_ifd = exif.get_ifd(_GPS_IFD)
        gps_ifd[0x0000] = b"\x02\x02\x00\x00"  # GPSVersionID
        gps_ifd[0x0001] = "N"
        gps_ifd[0x0002] = GPS_LATITUDE
        gps_ifd[0x0003] = "E"
        gps_ifd[0x0004] = GPS_LONGITUDE
    return exif


def xmp_packet() -> bytes:
    """A minimal XMP packet, the kind photo apps add (edit history, ratings, sometimes location)."""
    return (
        b'<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/">'
        b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        b'<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/" '
        b'xmp:CreatorTool="' + XMP_TOOL.encode() + b'"/>'
        b"</rdf:RDF></x:xmpmeta>"
        b'<?xpacket end="w"?>'
    )


def srgb_icc_profile() -> bytes:
    """An sRGB ICC profile, as phones embed (Display P3 on iPhones; any profile will do here)."""
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def draw_pixels(
    width: int, height: int, colour: tuple[int, int, int], *, pattern: bool
) -> Image.Image:
    """The stored pixels: flat `colour`, or with pattern=True texture plus the top-left marker.

    The texture (a gentle vertical shade and seeded noise, both averaging to zero over the central
    region) keeps JPEGs from compressing to almost nothing, like a real photo. The noise is one
    small seeded tile repeated, so even a 12 MP photo is drawn in a fraction of a second.
    """
    if not pattern:
        return Image.new("RGB", (width, height), colour)
    tile = np.random.default_rng(7).integers(-10, 11, (97, 89, 3), dtype=np.int16)
    reps = (height // tile.shape[0] + 1, width // tile.shape[1] + 1, 1)
    noise = np.tile(tile, reps)[:height, :width]
    shade = np.linspace(-12, 12, height).astype(np.int16)[:, None, None]
    pixels = np.asarray(colour, dtype=np.int16) + shade + noise
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    marker = (0, 0, max(1, width // 4), max(1, height // 4))
    image.paste(MARKER_COLOUR, marker)
    return image


def make_photo(
    width: int = 640,
    height: int = 480,
    *,
    fmt: str = "JPEG",
    colour: tuple[int, int, int] = (200, 120, 110),
    orientation: int | None = None,
    gps: bool = False,
    comment: bytes | None = None,
    taken_at: datetime | None = None,
    icc: bool | bytes = False,
    xmp: bool = False,
    trailing: bytes = b"",
    pattern: bool = True,
    alpha: bool = False,
) -> bytes:
    """Encoded photo bytes (JPEG, PNG, WEBP or HEIF/HEIC) carrying the requested metadata.

    EXIF (camera make, plus orientation / GPS / DateTimeOriginal when asked) is always written, as
    a phone does. `icc=True` embeds an sRGB profile; pass profile bytes (e.g.
    `display_p3_icc_profile()`) to tag the pixels with another colour space. `comment` is a JPEG
    COM segment or a PNG tEXt "Comment" chunk (other formats have no comment field: ValueError).
    `alpha=True` (PNG, WEBP) makes the right half fully transparent. `trailing` bytes are appended
    after the image's end, as some apps and polyglot files do.
    """
    format_name = _FORMAT_NAMES.get(fmt.upper())
    if format_name is None:
        msg = f"make_photo cannot write {fmt!r}; use JPEG, PNG, WEBP or HEIF"
        raise ValueError(msg)
    image = draw_pixels(width, height, colour, pattern=pattern)
    if alpha:
        if format_name not in ("PNG", "WEBP"):
            msg = "alpha=True needs a format with transparency: PNG or WEBP"
            raise ValueError(msg)
        mask = Image.new("L", image.size, 255)
        mask.paste(0, (width // 2, 0, width, height))
        image.putalpha(mask)

    params: dict[str, object] = {
        "exif": make_exif(orientation=orientation, gps=gps, taken_at=taken_at).tobytes()
    }
    if icc:
        params["icc_profile"] = icc if isinstance(icc, bytes) else srgb_icc_profile()
    if format_name == "JPEG":
        params["quality"] = 90
        if comment is not None:
            params["comment"] = comment
        if xmp:
            params["xmp"] = xmp_packet()
    elif format_name == "PNG":
        text = PngImagePlugin.PngInfo()
        if comment is not None:
            text.add_text("Comment", comment.decode("latin-1"))
        if xmp:
            text.add_itxt("XML:com.adobe.xmp", xmp_packet().decode("utf-8"))
        params["pnginfo"] = text
    else:
        if comment is not None:
            msg = f"{format_name} has no comment field; use JPEG or PNG"
            raise ValueError(msg)
        params["quality"] = 90
        if xmp:
            params["xmp"] = xmp_packet()

    buffer = io.BytesIO()
    image.save(buffer, format_name, **params)
    return buffer.getvalue() + trailing


def make_bomb_png(width: int = 10_000, height: int = 6_000) -> bytes:
    """A valid, tiny PNG whose header declares width x height (default 60 MP) of black pixels.

    Written by hand, 1 bit per pixel and streamed through zlib one row at a time, so even a
    200 MP bomb takes a few tens of milliseconds and no large buffer to build.
    """
    row = b"\x00" * (1 + (width + 7) // 8)  # filter type 0, then all-zero bits
    compressor = zlib.compressobj(9)
    idat = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    chunks = [_png_chunk(b"IHDR", header), _png_chunk(b"IDAT", idat), _png_chunk(b"IEND", b"")]
    return b"\x89PNG\r\n\x1a\n" + b"".join(chunks)


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def make_truncated_jpeg() -> bytes:
    """A JPEG cut off two thirds of the way through its image data, like an interrupted upload.

    The header is intact, so the file opens; only decoding fails.
    """
    data = make_photo(1200, 900)
    return data[: len(data) * 2 // 3]


def display_p3_icc_profile() -> bytes:
    """A Display P3 ICC profile (v2 matrix/TRC), as an iPhone embeds in its photos.

    Pillow can only create sRGB and Lab profiles, and no P3 profile ships with the system, so it is
    written here: P3 primaries adapted to D50 (Bradford) and the sRGB tone curve.
    """

    def s15f16(*values: float) -> bytes:
        return b"".join(struct.pack(">i", round(value * 65536)) for value in values)

    def xyz(x: float, y: float, z: float) -> bytes:
        return b"XYZ \x00\x00\x00\x00" + s15f16(x, y, z)

    name = b"Display P3 (Skinlog tests)"
    desc = (
        b"desc\x00\x00\x00\x00"
        + struct.pack(">I", len(name) + 1)
        + name
        + b"\x00"
        + struct.pack(">II", 0, 0)  # no Unicode description
        + struct.pack(">HB", 0, 0)  # no ScriptCode description
        + b"\x00" * 67
    )
    # sRGB curve as ICC parametric function type 3: Y = (aX + b)^g for X >= d, else cX.
    trc = b"para\x00\x00\x00\x00" + struct.pack(">HH", 3, 0)
    trc += s15f16(2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045)
    tags = [
        (b"desc", desc),
        (b"cprt", b"text\x00\x00\x00\x00No copyright, test data\x00"),
        (b"wtpt", xyz(0.96420, 1.0, 0.82491)),
        (b"rXYZ", xyz(0.515102, 0.241196, -0.00104941)),
        (b"gXYZ", xyz(0.291965, 0.692225, 0.0418842)),
        (b"bXYZ", xyz(0.157153, 0.0665792, 0.784074)),
        (b"rTRC", trc),
        (b"gTRC", trc),
        (b"bTRC", trc),
    ]
    offset = 128 + 4 + 12 * len(tags)
    table, bodies = [], b""
    for signature, body in tags:
        body += b"\x00" * (-len(body) % 4)  # tag data is 4-byte aligned
        table.append(signature + struct.pack(">II", offset + len(bodies), len(body)))
        bodies += body
    size = offset + len(bodies)
    header = (
        struct.pack(">I", size)
        + b"\x00" * 4  # preferred CMM
        + struct.pack(">I", 0x02100000)  # version 2.1
        + b"mntrRGB XYZ "
        + struct.pack(">6H", 2026, 1, 1, 0, 0, 0)
        + b"acsp"
        + b"\x00" * 24  # platform, flags, manufacturer, model, attributes
        + struct.pack(">I", 0)  # perceptual intent
        + s15f16(0.96420, 1.0, 0.82491)  # PCS illuminant D50
        + b"\x00" * 48  # creator, reserved
    )
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + b"".join(table) + bodies


# PNG colour type, bit depth and samples per pixel of each mode `make_flat_png` writes.
_PNG_LAYOUTS: dict[str, tuple[int, int, int]] = {
    "L": (0, 8, 1),
    "I;16": (0, 16, 1),
    "LA": (4, 8, 2),
    "RGB": (2, 8, 3),
    "RGBA": (6, 8, 4),
    "RGBA;16": (6, 16, 4),
}


def make_flat_png(
    width: int,
    height: int,
    mode: str = "I;16",
    left: tuple[int, ...] = (128 * 257,),
    right: tuple[int, ...] | None = None,
) -> bytes:
    """A PNG of `mode` whose left half holds the samples `left` and right half `right` (default:
    the same), e.g. mode="RGBA", left=(200, 40, 40, 255), right=(0, 0, 0, 0).

    Written by hand one row at a time like `make_bomb_png`, so a 49-megapixel 16-bit PNG (about
    100 KB, 294 MB of samples) costs its maker a row, not the image. Samples are 0..255, or
    0..65535 for the 16-bit modes ("I;16", "RGBA;16").
    """
    colour_type, depth, channels = _PNG_LAYOUTS[mode]
    sample = ">H" if depth == 16 else ">B"
    right = left if right is None else right
    if len(left) != channels or len(right) != channels:
        msg = f"{mode} pixels have {channels} samples"
        raise ValueError(msg)
    left_pixel = struct.pack(">" + sample[1] * channels, *left)
    right_pixel = struct.pack(">" + sample[1] * channels, *right)
    row = b"\x00" + left_pixel * (width // 2) + right_pixel * (width - width // 2)
    compressor = zlib.compressobj(6)
    idat = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, depth, colour_type, 0, 0, 0)
    chunks = [_png_chunk(b"IHDR", header), _png_chunk(b"IDAT", idat), _png_chunk(b"IEND", b"")]
    return b"\x89PNG\r\n\x1a\n" + b"".join(chunks)


def make_cmyk_jpeg(
    width: int,
    height: int,
    cmyk: tuple[int, int, int, int] = (0, 60, 60, 0),
    *,
    progressive: bool = False,
    icc: bytes | None = None,
) -> bytes:
    """A flat CMYK JPEG, as print workflows and some scanners write (optionally progressive).

    Pillow needs the whole image in memory to encode it: 4 bytes a pixel, 200 MB at 50 MP; make
    big ones in a subprocess.
    """
    params: dict[str, object] = {"quality": 90, "progressive": progressive}
    if icc is not None:
        params["icc_profile"] = icc
    buffer = io.BytesIO()
    Image.new("CMYK", (width, height), cmyk).save(buffer, "JPEG", **params)
    return buffer.getvalue()


def make_flat_heic(
    width: int, height: int, colour: tuple[int, int, int] = (200, 120, 110), *, alpha: bool = False
) -> bytes:
    """A flat HEIC (8-bit, 4:2:0, one coded image, no grid), encoded with x265's fastest preset.

    Fast enough for tests: about 3 s at 49 MP, where the default preset takes 15 s. Pillow holds
    the image while encoding (4 bytes a pixel): make big ones in a subprocess.
    """
    image = Image.new("RGBA" if alpha else "RGB", (width, height), colour)
    buffer = io.BytesIO()
    image.save(buffer, "HEIF", quality=30, enc_params={"preset": "ultrafast"})
    return buffer.getvalue()


def make_flat_webp(
    width: int, height: int, colour: tuple[int, int, int] = (200, 120, 110), *, alpha: bool = False
) -> bytes:
    """A flat lossy WebP (WebP allows up to 16383 px a side, so 50 MP fits)."""
    image = Image.new("RGBA" if alpha else "RGB", (width, height), colour)
    buffer = io.BytesIO()
    image.save(buffer, "WEBP", quality=80, method=0)
    return buffer.getvalue()


def make_flat_jpeg(
    width: int,
    height: int,
    colour: tuple[int, int, int] = (200, 120, 110),
    *,
    progressive: bool = False,
    subsampling: int = 2,
) -> bytes:
    """A flat RGB JPEG; `subsampling` 2 is 4:2:0 (phones, the web), 0 is 4:4:4 (some editors).

    Pillow holds the image while encoding (4 bytes a pixel): make big ones in a subprocess.
    """
    buffer = io.BytesIO()
    image = Image.new("RGB", (width, height), colour)
    image.save(buffer, "JPEG", quality=90, progressive=progressive, subsampling=subsampling)
    return buffer.getvalue()
