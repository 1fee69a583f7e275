"""webapp.imaging: what survives an upload (pixels, orientation) and what must not (metadata)."""

from __future__ import annotations

import hashlib
import io
import math
import warnings
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageFile

from tests.photo_factory import (
    CAMERA_MAKE,
    MARKER_COLOUR,
    XMP_TOOL,
    display_p3_icc_profile,
    make_bomb_png,
    make_exif,
    make_photo,
    make_truncated_jpeg,
)
from webapp import imaging
from webapp.imaging import (
    CONTENT_TYPE,
    DEFAULT_REGION,
    MAX_UPLOAD_BYTES,
    RENDITION_SIZES,
    ColourMetrics,
    ImageRejected,
    colour_metrics,
    ingest_photo,
    ita_degrees,
    srgb_to_lab,
    validate_region,
)

SECRET_COMMENT = b"patient home: 12 Secret Lane"
TRAILER = b"TRAILING-BYTES-MUST-GO"
# What a freshly encoded JPEG may say about itself; anything else in img.info is leaked metadata.
ALLOWED_JPEG_INFO = {"jfif", "jfif_version", "jfif_unit", "jfif_density", "dpi"}


def decode(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def near(pixel: tuple[int, ...], colour: tuple[int, ...], tolerance: int = 24) -> bool:
    return all(abs(int(a) - int(b)) <= tolerance for a, b in zip(pixel, colour, strict=False))


def fully_loaded_photo(fmt: str = "JPEG", orientation: int = 1, **kwargs) -> bytes:
    """A photo carrying every kind of metadata we promise to strip."""
    comment = SECRET_COMMENT if fmt in ("JPEG", "PNG") else None
    return make_photo(
        fmt=fmt,
        gps=True,
        comment=comment,
        taken_at=datetime(2026, 11, 20, 8, 30, 0),
        icc=True,
        xmp=True,
        trailing=TRAILER,
        orientation=orientation,
        **kwargs,
    )


def assert_no_metadata(rendition: imaging.Rendition) -> None:
    data = rendition.data
    image = decode(data)
    assert image.format == "JPEG"
    assert set(image.info) <= ALLOWED_JPEG_INFO, set(image.info) - ALLOWED_JPEG_INFO
    assert dict(image.getexif()) == {}
    for needle in (
        b"Exif",
        b"http://ns.adobe.com/xap",
        b"ICC_PROFILE",
        SECRET_COMMENT,
        TRAILER,
        CAMERA_MAKE.encode(),
        XMP_TOOL.encode(),
    ):
        assert needle not in data, needle
    assert data.endswith(b"\xff\xd9"), "nothing after the JPEG end-of-image marker"


# --------------------------------------------------------------------------------------------
# Orientation
# --------------------------------------------------------------------------------------------


def test_orientation_6_is_turned_clockwise_marker_top_right():
    photo = ingest_photo(make_photo(640, 480, orientation=6))
    full = decode(photo.renditions["full"].data)
    assert full.size == (480, 640)
    assert near(full.getpixel((480 - 30, 30)), MARKER_COLOUR)
    assert not near(full.getpixel((30, 30)), MARKER_COLOUR)


def test_orientation_8_is_turned_anticlockwise_marker_bottom_left():
    photo = ingest_photo(make_photo(640, 480, orientation=8))
    full = decode(photo.renditions["full"].data)
    assert full.size == (480, 640)
    assert near(full.getpixel((30, 640 - 30)), MARKER_COLOUR)
    assert not near(full.getpixel((30, 30)), MARKER_COLOUR)


def test_orientation_3_is_turned_upside_down_marker_bottom_right():
    full = decode(ingest_photo(make_photo(640, 480, orientation=3)).renditions["full"].data)
    assert full.size == (640, 480)
    assert near(full.getpixel((640 - 30, 480 - 30)), MARKER_COLOUR)


def test_orientation_is_applied_to_every_rendition():
    photo = ingest_photo(make_photo(2400, 1800, orientation=6, pattern=True))
    for rendition in photo.renditions.values():
        image = decode(rendition.data)
        assert image.height > image.width
        assert near(image.getpixel((image.width - 3, 2)), MARKER_COLOUR, tolerance=40)


def test_orientation_applies_to_a_draft_decoded_large_jpeg():
    photo = ingest_photo(make_photo(4000, 3000, orientation=8))
    full = decode(photo.renditions["full"].data)
    assert (photo.width, photo.height) == full.size == (1500, 2000)
    assert near(full.getpixel((20, full.height - 20)), MARKER_COLOUR)


def test_upright_photo_keeps_marker_top_left():
    full = decode(ingest_photo(make_photo(640, 480)).renditions["full"].data)
    assert full.size == (640, 480)
    assert near(full.getpixel((30, 30)), MARKER_COLOUR)


# --------------------------------------------------------------------------------------------
# Metadata stripping
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["full", "display", "thumb"])
def test_jpeg_renditions_carry_no_exif_gps_xmp_icc_comment_or_trailing_bytes(name):
    source = fully_loaded_photo("JPEG", width=1600, height=1200)
    # The factory really did put all of it in, so the absence below means something.
    for needle in (b"Exif", b"http://ns.adobe.com/xap", b"ICC_PROFILE", SECRET_COMMENT, TRAILER):
        assert needle in source
    assert_no_metadata(ingest_photo(source).renditions[name])


@pytest.mark.parametrize("name", ["full", "display", "thumb"])
def test_turned_photo_renditions_carry_no_metadata_either(name):
    # A turned photo takes another path to its clean pixels (the transpose, not a copy).
    source = fully_loaded_photo("JPEG", orientation=6, width=1600, height=1200)
    assert_no_metadata(ingest_photo(source).renditions[name])


@pytest.mark.parametrize("fmt", ["PNG", "WEBP", "HEIF"])
def test_other_formats_lose_their_metadata_too(fmt):
    photo = ingest_photo(fully_loaded_photo(fmt))
    for rendition in photo.renditions.values():
        assert_no_metadata(rendition)


def test_gps_position_is_gone_from_stored_exif():
    source = make_photo(800, 600, gps=True)
    assert decode(source).getexif().get_ifd(0x8825), "the source has a GPS position"
    for rendition in ingest_photo(source).renditions.values():
        assert decode(rendition.data).getexif().get_ifd(0x8825) == {}


def test_a_second_image_appended_after_the_jpeg_is_dropped():
    hidden = make_photo(64, 64, colour=(0, 0, 255), comment=b"HIDDEN-SECOND-IMAGE")
    photo = ingest_photo(make_photo(640, 480) + hidden)
    for rendition in photo.renditions.values():
        assert b"HIDDEN-SECOND-IMAGE" not in rendition.data
        assert rendition.data.count(b"\xff\xd8\xff") == 1


def test_every_rendition_is_baseline_rgb_jpeg():
    assert CONTENT_TYPE == "image/jpeg"
    for rendition in ingest_photo(make_photo(fmt="PNG")).renditions.values():
        image = decode(rendition.data)
        assert (image.format, image.mode) == ("JPEG", "RGB")
        assert image.size == (rendition.width, rendition.height)


# --------------------------------------------------------------------------------------------
# Sizes
# --------------------------------------------------------------------------------------------


def test_twelve_megapixel_jpeg_decodes_at_half_scale_to_2000_1280_320():
    photo = ingest_photo(make_photo(4000, 3000, pattern=False))
    sizes = {name: (r.width, r.height) for name, r in photo.renditions.items()}
    # 4000 / 2 = 2000 >= 90 % of 2048: decoded at half scale, not resampled
    # (see imaging.JPEG_DRAFT_MIN_FRACTION).
    assert sizes == {"full": (2000, 1500), "display": (1280, 960), "thumb": (320, 240)}
    assert (photo.width, photo.height) == (2000, 1500)


def test_twelve_megapixel_jpeg_is_exactly_2048_when_draft_slack_is_off(monkeypatch):
    # ingest_photo reads the fraction where it is defined, not the package's re-export.
    monkeypatch.setattr(imaging.ingest, "JPEG_DRAFT_MIN_FRACTION", 1.0)
    photo = ingest_photo(make_photo(4000, 3000, pattern=False))
    assert (photo.width, photo.height) == (2048, 1536)


def test_photo_larger_than_full_is_scaled_to_2048_1280_320():
    photo = ingest_photo(make_photo(3000, 2250, pattern=False))
    sizes = {name: (r.width, r.height) for name, r in photo.renditions.items()}
    assert sizes == {"full": (2048, 1536), "display": (1280, 960), "thumb": (320, 240)}


def test_large_png_is_scaled_to_2048():
    photo = ingest_photo(make_photo(2600, 1300, fmt="PNG", pattern=False))
    assert (photo.width, photo.height) == (2048, 1024)


def test_small_photo_is_not_upscaled():
    photo = ingest_photo(make_photo(640, 480))
    sizes = {name: (r.width, r.height) for name, r in photo.renditions.items()}
    assert sizes == {"full": (640, 480), "display": (640, 480), "thumb": (320, 240)}


def test_tiny_photo_keeps_its_size_in_every_rendition():
    photo = ingest_photo(make_photo(5, 3))
    assert {(r.width, r.height) for r in photo.renditions.values()} == {(5, 3)}


def test_very_thin_panorama_keeps_at_least_one_pixel():
    photo = ingest_photo(make_photo(5000, 3, pattern=False))
    for name, rendition in photo.renditions.items():
        assert rendition.width == min(RENDITION_SIZES[name], 5000 // 2)
        assert rendition.height >= 1


# --------------------------------------------------------------------------------------------
# Formats and pixel modes
# --------------------------------------------------------------------------------------------


def test_png_transparency_is_flattened_onto_white():
    photo = ingest_photo(
        make_photo(200, 100, fmt="PNG", colour=(200, 40, 40), pattern=False, alpha=True)
    )
    full = decode(photo.renditions["full"].data)
    assert near(full.getpixel((40, 50)), (200, 40, 40), tolerance=6)
    assert near(full.getpixel((160, 50)), (255, 255, 255), tolerance=3)


def test_webp_is_accepted():
    photo = ingest_photo(make_photo(640, 480, fmt="WEBP"))
    assert (photo.width, photo.height) == (640, 480)
    assert near(decode(photo.renditions["full"].data).getpixel((30, 30)), MARKER_COLOUR)


def test_heic_is_accepted_and_oriented_once():
    photo = ingest_photo(make_photo(640, 480, fmt="HEIF", orientation=6))
    full = decode(photo.renditions["full"].data)
    assert full.size == (480, 640)
    assert near(full.getpixel((480 - 30, 30)), MARKER_COLOUR, tolerance=30)


def test_multi_picture_jpeg_from_a_phone_is_accepted():
    first = Image.new("RGB", (640, 480), (200, 120, 110))
    second = Image.new("RGB", (160, 120), (0, 0, 0))
    buffer = io.BytesIO()
    first.save(buffer, "MPO", save_all=True, append_images=[second])
    assert Image.open(io.BytesIO(buffer.getvalue())).format == "MPO"
    photo = ingest_photo(buffer.getvalue())
    assert (photo.width, photo.height) == (640, 480)


def test_greyscale_jpeg_is_stored_as_rgb():
    buffer = io.BytesIO()
    Image.new("L", (300, 200), 90).save(buffer, "JPEG")
    full = decode(ingest_photo(buffer.getvalue()).renditions["full"].data)
    assert full.mode == "RGB"
    assert near(full.getpixel((150, 100)), (90, 90, 90), tolerance=3)


def test_cmyk_jpeg_is_stored_as_rgb():
    buffer = io.BytesIO()
    Image.new("CMYK", (300, 200), (0, 0, 0, 0)).save(buffer, "JPEG")
    full = decode(ingest_photo(buffer.getvalue()).renditions["full"].data)
    assert full.mode == "RGB"
    assert near(full.getpixel((150, 100)), (255, 255, 255), tolerance=3)


def test_sixteen_bit_greyscale_png_keeps_its_mid_tones():
    buffer = io.BytesIO()
    Image.fromarray(np.full((60, 80), 128 * 257, dtype=np.uint16)).save(buffer, "PNG")
    full = decode(ingest_photo(buffer.getvalue()).renditions["full"].data)
    assert near(full.getpixel((40, 30)), (128, 128, 128), tolerance=3)


def test_sixteen_bit_png_taller_than_a_conversion_strip_is_converted_row_for_row():
    # Converted a strip (about 1 MP) at a time: every row must still get its own grey.
    rows = np.linspace(0, 65535, 1500).round().astype(np.uint16)
    buffer = io.BytesIO()
    Image.fromarray(np.repeat(rows[:, None], 2000, axis=1)).save(buffer, "PNG")
    full = decode(ingest_photo(buffer.getvalue()).renditions["full"].data)
    assert full.size == (2000, 1500)
    for y in (0, 524, 525, 1048, 1049, 1499):
        expected = round(int(rows[y]) / 257)
        assert near(full.getpixel((1000, y)), (expected,) * 3, tolerance=3), y


def test_rgba_png_taller_than_a_conversion_strip_is_flattened_row_for_row():
    # Red, fading row by row from opaque at the top to transparent (white) at the bottom.
    pixels = np.zeros((1500, 2000, 4), dtype=np.uint8)
    pixels[..., 0] = 200
    pixels[..., 3] = np.linspace(255, 0, 1500).round().astype(np.uint8)[:, None]
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")
    full = decode(ingest_photo(buffer.getvalue()).renditions["full"].data)
    for y in (0, 524, 525, 1048, 1049, 1499):
        alpha = int(pixels[y, 0, 3])
        red = round((200 * alpha + 255 * (255 - alpha)) / 255)
        grey = round(255 * (255 - alpha) / 255)
        assert near(full.getpixel((1000, y)), (red, grey, grey), tolerance=4), y


def test_thirty_two_bit_greyscale_is_scaled_by_the_range_of_the_whole_image():
    # 200 above, 60000 in the bottom quarter: the image holds 16-bit values, so 200 is near black,
    # even in the strips (about 1 MP each) that hold nothing above 255.
    values = np.full((2000, 1000), 200, dtype=np.int32)
    values[1500:] = 60000
    image = Image.fromarray(values)
    assert image.mode == "I"
    top = colour_metrics(image, region=(0.0, 0.0, 1.0, 0.4))
    bottom = colour_metrics(image, region=(0.0, 0.8, 1.0, 1.0))
    assert top.l_star < 1.0
    assert bottom.l_star > 90.0


def test_display_p3_photo_is_converted_to_srgb_before_its_profile_is_dropped():
    skin = (200, 120, 110)
    tagged = make_photo(320, 240, colour=skin, pattern=False, icc=display_p3_icc_profile())
    untagged = make_photo(320, 240, colour=skin, pattern=False)
    p3_photo, plain_photo = ingest_photo(tagged), ingest_photo(untagged)
    pixel = decode(p3_photo.renditions["full"].data).getpixel((160, 120))
    # The same numbers in Display P3 are a more saturated colour than in sRGB.
    assert near(pixel, (213, 115, 106), tolerance=3)
    assert p3_photo.colour.a_star > plain_photo.colour.a_star + 3
    assert b"Display P3" not in p3_photo.renditions["full"].data


def test_display_p3_heic_is_converted_to_srgb():
    heic = make_photo(
        320, 240, fmt="HEIF", colour=(200, 120, 110), pattern=False, icc=display_p3_icc_profile()
    )
    pixel = decode(ingest_photo(heic).renditions["full"].data).getpixel((160, 120))
    assert near(pixel, (213, 115, 106), tolerance=6)


def test_srgb_tagged_photo_keeps_its_pixel_values():
    photo = ingest_photo(make_photo(320, 240, colour=(200, 120, 110), pattern=False, icc=True))
    assert near(decode(photo.renditions["full"].data).getpixel((160, 120)), (200, 120, 110), 3)


def test_broken_icc_profile_is_ignored_not_rejected():
    photo = ingest_photo(
        make_photo(320, 240, colour=(200, 120, 110), pattern=False, icc=b"not really a profile")
    )
    assert near(decode(photo.renditions["full"].data).getpixel((160, 120)), (200, 120, 110), 3)


# --------------------------------------------------------------------------------------------
# Rejections
# --------------------------------------------------------------------------------------------


def rejection(data: bytes, **kwargs) -> ImageRejected:
    with pytest.raises(ImageRejected) as caught:
        ingest_photo(data, **kwargs)
    return caught.value


def assert_human(message: str) -> None:
    assert message[0].isupper() and message.endswith("."), message
    assert len(message) > 20
    for jargon in ("PIL", "Traceback", "cannot identify", "errno", "decoder"):
        assert jargon not in message


def test_text_file_named_jpg_is_unsupported_415():
    rejected = rejection(b"just some notes, saved as notes.jpg\n")
    assert (rejected.code, rejected.status) == ("unsupported_type", 415)
    assert "JPEG" in str(rejected)
    assert_human(str(rejected))


def test_pdf_is_unsupported_415():
    rejected = rejection(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n")
    assert (rejected.code, rejected.status) == ("unsupported_type", 415)


@pytest.mark.parametrize("fmt", ["GIF", "BMP", "TIFF"])
def test_real_images_in_other_formats_are_unsupported_415(fmt):
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), (200, 120, 110)).save(buffer, fmt)
    rejected = rejection(buffer.getvalue())
    assert (rejected.code, rejected.status) == ("unsupported_type", 415)


def test_truncated_jpeg_is_corrupt_422():
    rejected = rejection(make_truncated_jpeg())
    assert (rejected.code, rejected.status) == ("corrupt", 422)
    assert_human(str(rejected))


def test_jpeg_cut_inside_its_header_is_corrupt_not_unsupported():
    rejected = rejection(make_photo(640, 480)[:40])
    assert (rejected.code, rejected.status) == ("corrupt", 422)


def test_png_with_garbage_after_its_signature_is_corrupt():
    rejected = rejection(b"\x89PNG\r\n\x1a\n" + b"\x00garbage" * 20)
    assert rejected.code == "corrupt"


def test_truncated_photo_leaves_truncated_loading_switched_off():
    rejection(make_truncated_jpeg())
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_header_declaring_60_megapixels_is_refused_413():
    bomb = make_bomb_png()
    assert len(bomb) < 20_000
    rejected = rejection(bomb)
    assert (rejected.code, rejected.status) == ("too_many_pixels", 413)
    assert "50 megapixels" in str(rejected)
    assert_human(str(rejected))


@pytest.mark.parametrize(
    ("width", "height"),
    [(12_000, 10_000), (20_000, 10_000)],
    ids=["past-pillow-warning-limit", "past-pillow-error-limit"],
)
@pytest.mark.parametrize("warnings_are", ["error", "ignore"])
def test_bombs_past_pillows_own_limits_are_refused_whatever_the_warning_filters(
    width, height, warnings_are
):
    # Pillow only warns (DecompressionBombWarning) between its limit and twice that: the refusal
    # must come from counting the header's pixels, not from that warning being an error.
    with warnings.catch_warnings():
        warnings.simplefilter(warnings_are)
        rejected = rejection(make_bomb_png(width, height))
    assert (rejected.code, rejected.status) == ("too_many_pixels", 413)


def test_max_pixels_cannot_raise_pillows_own_limit():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # so Pillow's warning refuses nothing
        rejected = rejection(make_bomb_png(12_000, 10_000), max_pixels=200_000_000)
    assert (rejected.code, rejected.status) == ("too_many_pixels", 413)


def test_pixel_limit_is_inclusive():
    data = make_photo(100, 50)
    assert ingest_photo(data, max_pixels=5000).width == 100
    assert rejection(data, max_pixels=4999).code == "too_many_pixels"


def test_upload_over_the_byte_limit_is_refused_413_before_opening():
    data = make_photo(640, 480)
    rejected = rejection(data, max_bytes=len(data) - 1)
    assert (rejected.code, rejected.status) == ("too_large", 413)
    assert ingest_photo(data, max_bytes=len(data)).width == 640


def test_default_byte_limit_is_25_mb_and_named_in_the_message():
    rejected = rejection(b"\xff" * (MAX_UPLOAD_BYTES + 1))
    assert (rejected.code, rejected.status) == ("too_large", 413)
    assert "25 MB" in str(rejected)
    assert_human(str(rejected))


def test_empty_upload_is_refused_422():
    rejected = rejection(b"")
    assert (rejected.code, rejected.status) == ("empty", 422)
    assert_human(str(rejected))


def test_image_rejected_is_a_value_error_with_code_and_status():
    rejected = ImageRejected("corrupt", "That photo is damaged.")
    assert isinstance(rejected, ValueError)
    assert (rejected.code, rejected.status, str(rejected)) == (
        "corrupt",
        422,
        "That photo is damaged.",
    )


def test_ingest_leaves_the_warning_filters_as_they_were():
    before = list(warnings.filters)
    ingest_photo(make_photo(64, 48))
    with pytest.raises(ImageRejected):
        ingest_photo(make_bomb_png(12_000, 10_000))
    assert list(warnings.filters) == before


def ingest_outcome(data: bytes) -> str:
    try:
        ingest_photo(data)
    except ImageRejected as rejected:
        return rejected.code
    return "ingested"


def test_ingests_on_four_threads_at_once_leave_the_warning_filters_as_they_were():
    # A gunicorn worker runs 4 threads. The filter list is one for the whole process: an ingest
    # that swapped it could restore what another had put there, leaving warnings ignored.
    uploads = [make_photo(64, 48), make_bomb_png(12_000, 10_000), make_bomb_png(20_000, 10_000)]
    before = list(warnings.filters)
    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = list(pool.map(ingest_outcome, uploads * 40))
    assert list(warnings.filters) == before
    assert outcomes == ["ingested", "too_many_pixels", "too_many_pixels"] * 40


# --------------------------------------------------------------------------------------------
# Recorded facts
# --------------------------------------------------------------------------------------------


def test_taken_at_is_read_from_exif_date_time_original():
    photo = ingest_photo(make_photo(taken_at=datetime(2026, 11, 20, 8, 30, 15)))
    assert photo.taken_at == datetime(2026, 11, 20, 8, 30, 15)


def test_taken_at_falls_back_to_exif_date_time():
    exif = make_exif()
    exif[0x0132] = "2025:02:03 04:05:06"
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 120, 110)).save(buffer, "JPEG", exif=exif.tobytes())
    assert ingest_photo(buffer.getvalue()).taken_at == datetime(2025, 2, 3, 4, 5, 6)


def test_taken_at_is_none_without_exif_date():
    assert ingest_photo(make_photo()).taken_at is None


def test_zeroed_exif_date_is_none_not_an_error():
    exif = make_exif()
    exif.get_ifd(0x8769)[0x9003] = "0000:00:00 00:00:00"
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 120, 110)).save(buffer, "JPEG", exif=exif.tobytes())
    assert ingest_photo(buffer.getvalue()).taken_at is None


def test_sha256_is_of_the_full_rendition_bytes():
    photo = ingest_photo(make_photo())
    assert photo.sha256 == hashlib.sha256(photo.renditions["full"].data).hexdigest()


def test_same_upload_gives_the_same_bytes_every_time():
    data = make_photo(800, 600, gps=True)
    assert ingest_photo(data).sha256 == ingest_photo(data).sha256


# --------------------------------------------------------------------------------------------
# Colour
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rgb", "lab"),
    [
        ((255, 255, 255), (100.0, 0.0, 0.0)),
        ((119, 119, 119), (50.0, 0.0, 0.0)),
        ((255, 0, 0), (53.24, 80.09, 67.20)),
        ((0, 255, 0), (87.73, -86.18, 83.18)),
        ((0, 0, 255), (32.30, 79.19, -107.86)),
        ((0, 0, 0), (0.0, 0.0, 0.0)),
    ],
    ids=["white", "mid-grey", "red", "green", "blue", "black"],
)
def test_srgb_to_lab_matches_published_d65_values(rgb, lab):
    result = srgb_to_lab(np.array(rgb, dtype=np.uint8))
    assert result == pytest.approx(lab, abs=0.1)


def test_srgb_to_lab_takes_floats_and_keeps_the_shape():
    pixels = np.array([[[255, 0, 0], [10, 200, 30]], [[119, 119, 119], [3, 4, 5]]], np.uint8)
    as_uint8 = srgb_to_lab(pixels)
    assert as_uint8.shape == (2, 2, 3)
    assert as_uint8.dtype == np.float32  # 8-bit input needs no more; float input gets float64
    np.testing.assert_allclose(srgb_to_lab(pixels.astype(np.float64)), as_uint8, atol=1e-4)


def test_srgb_to_lab_rejects_non_triples():
    with pytest.raises(ValueError, match="RGB"):
        srgb_to_lab(np.zeros((4, 4)))


@pytest.mark.parametrize(
    ("l_star", "b_star", "ita"),
    [(50, 10, 0.0), (60, 10, 45.0), (40, 10, -45.0), (70, 0, 90.0), (30, 0, -90.0), (50, 0, 0.0)],
)
def test_ita_of_known_lightness_and_yellowness(l_star, b_star, ita):
    assert ita_degrees(l_star, b_star) == pytest.approx(ita)


@given(st.floats(0, 100), st.floats(0.01, 60))
def test_ita_equals_the_textbook_formula_for_positive_b(l_star, b_star):
    textbook = math.atan((l_star - 50) / b_star) * 180 / math.pi
    assert ita_degrees(l_star, b_star) == pytest.approx(textbook, abs=1e-9)


def flat(colour: tuple[int, int, int]) -> bytes:
    return make_photo(320, 240, colour=colour, pattern=False)


def test_redder_patch_has_higher_a_star():
    pinkish = ingest_photo(flat((215, 160, 140))).colour
    red_mark = ingest_photo(flat((205, 110, 105))).colour
    assert red_mark.a_star > pinkish.a_star + 10


def test_darker_browner_patch_has_lower_ita():
    light = ingest_photo(flat((235, 200, 180))).colour
    brown_mark = ingest_photo(flat((150, 100, 70))).colour
    assert brown_mark.ita_deg < light.ita_deg - 20
    assert brown_mark.l_star < light.l_star


def red_centre_white_edges() -> Image.Image:
    image = Image.new("RGB", (400, 300), (255, 255, 255))
    image.paste((200, 40, 40), (100, 75, 300, 225))  # exactly DEFAULT_REGION
    return image


def test_default_region_measures_the_centre_not_the_background():
    expected = tuple(srgb_to_lab(np.array((200, 40, 40), np.uint8)).tolist())
    metrics = colour_metrics(red_centre_white_edges())
    assert DEFAULT_REGION == (0.25, 0.25, 0.75, 0.75)
    assert (metrics.l_star, metrics.a_star, metrics.b_star) == pytest.approx(expected, abs=0.1)


def test_region_selects_the_measured_area():
    corner = colour_metrics(red_centre_white_edges(), region=(0.0, 0.0, 0.2, 0.2))
    assert corner.l_star == pytest.approx(100, abs=0.5)
    assert corner.a_star == pytest.approx(0, abs=0.5)


def test_ingest_measures_the_default_region_of_the_photo():
    buffer = io.BytesIO()
    red_centre_white_edges().save(buffer, "PNG")
    colour = ingest_photo(buffer.getvalue()).colour
    assert colour.a_star > 50, "red centre, not white edges"


@pytest.mark.parametrize(
    "source",
    [
        make_photo(1600, 1200),
        make_photo(2400, 1800, orientation=6),
        make_photo(4000, 3000, colour=(190, 130, 120)),  # draft-decoded
        make_photo(1200, 900, fmt="PNG"),
    ],
    ids=["jpeg", "turned", "12mp", "png"],
)
def test_ingest_colour_from_the_thumb_matches_the_stored_full_rendition(source):
    # Ingest measures the thumb's pixels, not the 3 MP full rendition; measuring again (another
    # region, a reset) reads the stored full rendition. The two must agree to within a rounding
    # step of what the timeline shows (a* to 0.1, ITA° to 1°).
    photo = ingest_photo(source)
    again = colour_metrics(photo.renditions["full"].data)
    measured = (photo.colour.l_star, photo.colour.a_star, photo.colour.b_star)
    assert measured == pytest.approx((again.l_star, again.a_star, again.b_star), abs=0.15)
    assert photo.colour.ita_deg == pytest.approx(again.ita_deg, abs=0.5)


def test_colour_of_bytes_follows_their_exif_orientation():
    # Marker top-left in the stored pixels; orientation 3 shows it bottom-right.
    rotated = make_photo(400, 300, orientation=3)
    bottom_right = colour_metrics(rotated, region=(0.8, 0.8, 1.0, 1.0))
    top_left = colour_metrics(rotated, region=(0.0, 0.0, 0.2, 0.2))
    marker = srgb_to_lab(np.array(MARKER_COLOUR, np.uint8))
    assert bottom_right.a_star == pytest.approx(marker[1], abs=3)
    assert top_left.a_star > 10


def test_colour_metrics_of_bad_bytes_is_image_rejected():
    with pytest.raises(ImageRejected):
        colour_metrics(b"not a photo")


def test_colour_as_dict_rounds_to_two_places():
    metrics = ColourMetrics(l_star=61.23456, a_star=18.005, b_star=-3.3333, ita_deg=73.98765)
    assert metrics.as_dict() == {"L": 61.23, "a": 18.0, "b": -3.33, "ita": 73.99}


@pytest.mark.parametrize(
    "region",
    [
        None,
        "0,0,1,1",
        (0.0, 0.0, 1.0),
        (0.0, 0.0, 1.0, 1.0, 0.5),
        (0.5, 0.0, 0.4, 1.0),
        (0.0, 0.5, 1.0, 0.5),
        (-0.1, 0.0, 1.0, 1.0),
        (0.0, 0.0, 1.2, 1.0),
        (float("nan"), 0.0, 1.0, 1.0),
        (0.0, 0.0, float("inf"), 1.0),
        (True, 0.0, 1.0, 1.0),
        ("0", 0.0, 1.0, 1.0),
        {"left": 0, "top": 0, "right": 1, "bottom": 1},
    ],
)
def test_validate_region_rejects_bad_input_with_a_message(region):
    with pytest.raises(ValueError, match=r"region|Region") as caught:
        validate_region(region)
    assert str(caught.value).endswith(".")


def test_validate_region_accepts_a_json_list_and_returns_floats():
    region = validate_region([0, 0.1, 1, 0.9])
    assert region == (0.0, 0.1, 1.0, 0.9)
    assert all(isinstance(value, float) for value in region)


def test_colour_metrics_refuses_a_bad_region():
    with pytest.raises(ValueError, match="left"):
        colour_metrics(red_centre_white_edges(), region=(0.9, 0.0, 0.1, 1.0))


# --------------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------------


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    width=st.integers(1, 700),
    height=st.integers(1, 700),
    fmt=st.sampled_from(["JPEG", "PNG", "WEBP"]),
    seed=st.integers(0, 2**32 - 1),
    orientation=st.sampled_from([None, 1, 2, 3, 4, 5, 6, 7, 8]),
    gps=st.booleans(),
)
def test_any_small_rgb_image_ingests_within_bounds_and_without_metadata(
    width, height, fmt, seed, orientation, gps
):
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    exif = make_exif(orientation=orientation, gps=gps)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, fmt, exif=exif.tobytes())

    photo = ingest_photo(buffer.getvalue())

    turned = orientation in (5, 6, 7, 8)
    expected_full = (height, width) if turned else (width, height)
    assert (photo.width, photo.height) == expected_full, "small images are never scaled"
    for name, rendition in photo.renditions.items():
        assert max(rendition.width, rendition.height) <= RENDITION_SIZES[name]
        assert min(rendition.width, rendition.height) >= 1
        assert decode(rendition.data).size == (rendition.width, rendition.height)
        assert_no_metadata(rendition)
    assert math.isfinite(photo.colour.ita_deg)


@settings(max_examples=60, deadline=None)
@given(
    fmt=st.sampled_from(["JPEG", "PNG", "WEBP"]),
    cut=st.floats(0.0, 1.0),
    flips=st.lists(st.tuples(st.floats(0.0, 1.0), st.integers(0, 255)), max_size=6),
)
def test_damaged_files_either_ingest_or_are_rejected_never_crash(fmt, cut, flips):
    data = bytearray(make_photo(96, 64, fmt=fmt, gps=True, orientation=6))
    for where, value in flips:
        data[min(int(where * len(data)), len(data) - 1)] = value
    damaged = bytes(data[: max(1, int(cut * len(data)))])
    try:
        photo = ingest_photo(damaged)
    except ImageRejected as rejected:
        assert rejected.status in (413, 415, 422)
        assert_human(str(rejected))
    else:
        assert photo.renditions["full"].data.startswith(b"\xff\xd8\xff")
