"""webapp.imaging.quality: exposure, sharpness and colour cast graded on generated photos; and the
analysis copy that ingest makes for quality, marks and alignment.

The faces come from tests/synthetic_faces.py (fixed seeds), at the analysis copy's size.
"""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image, ImageFilter

from tests import synthetic_faces
from tests.hostile_input import fuzz_settings
from tests.photo_factory import MARKER_COLOUR, make_photo
from webapp.imaging import (
    ANALYSIS_LONG_SIDE_MARKS,
    ImageRejected,
    MarkMetrics,
    PhotoQuality,
    analysis_copy,
    analysis_grey,
    assess_quality,
    ingest_photo,
)
from webapp.imaging.quality import MEAN_L_GOOD


def face(seed: int = 0, skin_type: int = 3) -> np.ndarray:
    return synthetic_faces.make_face(seed, skin_type=skin_type).rgb


def blurred(rgb: np.ndarray, sigma: float) -> np.ndarray:
    return np.asarray(Image.fromarray(rgb).filter(ImageFilter.GaussianBlur(sigma)))


@pytest.mark.parametrize("skin_type", [1, 3, 4, 6])
def test_a_well_lit_sharp_face_is_good(skin_type: int) -> None:
    quality = assess_quality(face(0, skin_type))
    assert quality.verdict == "good"
    assert quality.reasons == ()


def test_a_blurred_face_is_poor_for_being_blurred() -> None:
    quality = assess_quality(blurred(face(), 1.5))
    assert quality.verdict == "poor"
    assert quality.reasons == ("Blurred",)


def test_blurring_lowers_sharpness_step_by_step() -> None:
    rgb = face(1)
    figures = [assess_quality(blurred(rgb, s)).sharpness for s in (0.5, 1.0, 2.0)]
    assert assess_quality(rgb).sharpness > figures[0] > figures[1] > figures[2]


def test_an_underexposed_face_is_too_dark() -> None:
    quality = assess_quality(synthetic_faces.exposure(face(), 0.25))
    assert quality.mean_l < 45
    assert quality.reasons == ("Too dark",)


def test_a_nearly_black_frame_is_poor_for_being_too_dark() -> None:
    quality = assess_quality(synthetic_faces.exposure(face(), 0.02))
    assert quality.verdict == "poor"
    assert quality.mean_l < 30
    assert "Too dark" in quality.reasons


def test_a_black_frame_is_all_crushed_shadow() -> None:
    quality = assess_quality(np.zeros((16, 16, 3), np.uint8))
    assert quality.dark_clipped == 1.0
    assert quality.verdict == "poor"


def test_an_overexposed_face_is_poor_for_being_too_bright() -> None:
    quality = assess_quality(synthetic_faces.exposure(face(), 2.0))
    assert quality.verdict == "poor"
    assert quality.mean_l > 75
    assert quality.clipped > 0.2
    assert quality.reasons == ("Too bright",)


def test_burnt_out_highlights_alone_are_too_bright() -> None:
    rgb = face().copy()
    rgb[:40] = 255  # a lamp across the top of a well-exposed frame: 8 % of it clipped
    quality = assess_quality(rgb)
    assert MEAN_L_GOOD[0] <= quality.mean_l <= MEAN_L_GOOD[1]
    assert quality.clipped > 0.05
    assert quality.reasons == ("Too bright",)


def test_tungsten_light_on_a_daylight_setting_is_a_colour_cast() -> None:
    quality = assess_quality(synthetic_faces.white_balance(face(), 2700.0))
    assert quality.verdict == "poor"
    assert "Colour cast" in quality.reasons
    assert quality.cast > 18


def test_a_green_cast_is_a_colour_cast() -> None:
    rgb = face().astype(np.float64)
    rgb[..., (0, 2)] *= 0.7  # fluorescent light on a daylight setting: green
    quality = assess_quality(np.round(rgb).astype(np.uint8))
    assert "Colour cast" in quality.reasons


@pytest.mark.parametrize("kelvin", [5000.0, 8000.0])
def test_white_balance_off_by_1500_kelvin_is_no_cast(kelvin: float) -> None:
    quality = assess_quality(synthetic_faces.white_balance(face(), kelvin))
    assert quality.cast < 8
    assert "Colour cast" not in quality.reasons


def test_a_coloured_wall_around_the_face_is_no_cast() -> None:
    rgb = face(1)  # seed 1 stands the face before a green wall
    assert assess_quality(rgb).cast == 0.0


def test_a_grey_frame_is_no_cast() -> None:
    assert assess_quality(np.full((64, 64, 3), 128, np.uint8)).cast < 8


def test_as_dict_is_the_api_shape_rounded() -> None:
    quality = assess_quality(blurred(face(), 1.5))
    shape = quality.as_dict()
    assert set(shape) == {
        "verdict",
        "reasons",
        "mean_l",
        "clipped",
        "dark_clipped",
        "sharpness",
        "cast",
    }
    assert shape["reasons"] == ["Blurred"]
    assert shape["mean_l"] == round(quality.mean_l, 1)


def test_analysis_grey_is_pillows_luma() -> None:
    rgb = np.random.default_rng(2).integers(0, 256, (300, 400, 3), dtype=np.uint8)
    assert np.array_equal(analysis_grey(rgb), np.asarray(Image.fromarray(rgb).convert("L")))


def test_a_one_pixel_photo_is_blurred_not_an_error() -> None:
    quality = assess_quality(np.full((1, 1, 3), 150, np.uint8))
    assert quality.sharpness == 0.0
    assert "Blurred" in quality.reasons


@pytest.mark.parametrize(
    "array",
    [np.zeros((4, 4), np.uint8), np.zeros((4, 4, 3), np.float32), np.zeros((0, 4, 3), np.uint8)],
    ids=["grey", "float", "empty"],
)
def test_anything_but_rgb_pixels_is_a_value_error(array: np.ndarray) -> None:
    with pytest.raises(ValueError, match="uint8 RGB"):
        assess_quality(array)


def _images() -> st.SearchStrategy[np.ndarray]:
    shapes = st.tuples(st.integers(1, 40), st.integers(1, 40), st.just(3))
    flat = st.tuples(shapes, st.integers(0, 255)).map(
        lambda drawn: np.full(drawn[0], drawn[1], np.uint8)
    )
    return st.one_of(
        st.sampled_from([np.zeros((1, 1, 3), np.uint8), np.full((8, 8, 3), 255, np.uint8)]),
        flat,
        shapes.flatmap(lambda shape: arrays(np.uint8, shape)),
    )


@fuzz_settings(200)
@given(_images())
def test_any_image_gets_a_valid_verdict(rgb: np.ndarray) -> None:
    quality = assess_quality(rgb)
    assert isinstance(quality, PhotoQuality)
    assert quality.verdict in {"good", "fair", "poor"}
    assert (quality.verdict == "good") == (quality.reasons == ())
    figures = (quality.mean_l, quality.clipped, quality.dark_clipped, quality.sharpness)
    assert all(math.isfinite(value) for value in (*figures, quality.cast))
    assert 0.0 <= quality.mean_l <= 100.001  # white is 100 within float error
    assert 0.0 <= quality.clipped <= 1.0
    assert 0.0 <= quality.dark_clipped <= 1.0
    assert quality.sharpness >= 0.0
    assert quality.cast >= 0.0


# The analysis copy, and what ingest measures on it
# --------------------------------------------------------------------------------------------


def jpeg_of(rgb: np.ndarray, **kwargs: object) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "JPEG", quality=95, **kwargs)
    return buffer.getvalue()


@pytest.mark.parametrize("size", [(4000, 3000), (1280, 960), (700, 1000)])
def test_analysis_copy_of_bytes_is_rgb_512_long(size: tuple[int, int]) -> None:
    copy = analysis_copy(make_photo(*size))
    assert copy.dtype == np.uint8
    assert copy.ndim == 3 and copy.shape[2] == 3
    assert max(copy.shape[:2]) == ANALYSIS_LONG_SIDE_MARKS
    assert copy.shape[1] / copy.shape[0] == pytest.approx(size[0] / size[1], rel=0.01)


def test_analysis_copy_of_bytes_follows_their_exif_orientation() -> None:
    copy = analysis_copy(make_photo(1600, 1200, orientation=6))  # marker turns to the top right
    assert copy.shape[:2] == (512, 384)
    assert np.abs(copy[4, -5].astype(int) - MARKER_COLOUR).max() <= 30
    assert np.abs(copy[4, 4].astype(int) - MARKER_COLOUR).max() > 30


def test_analysis_copy_never_enlarges_a_small_photo() -> None:
    image = Image.fromarray(face()).resize((150, 200))
    assert analysis_copy(image).shape == (200, 150, 3)


def test_analysis_copy_of_a_transparent_image_is_rgb() -> None:
    image = Image.new("RGBA", (1024, 600), (200, 120, 110, 0))
    copy = analysis_copy(image)
    assert copy.shape == (300, 512, 3)


def test_analysis_copy_of_bad_bytes_is_image_rejected() -> None:
    with pytest.raises(ImageRejected):
        analysis_copy(b"not a photo")


def test_ingest_grades_the_photo_on_its_analysis_copy() -> None:
    rgb = np.asarray(Image.fromarray(face()).resize((1536, 2048), Image.Resampling.LANCZOS))
    photo = ingest_photo(jpeg_of(rgb))
    assert photo.quality.verdict == "good"
    dark = ingest_photo(jpeg_of(synthetic_faces.exposure(rgb, 0.1)))
    assert "Too dark" in dark.quality.reasons


def test_ingest_measures_marks_and_keeps_the_grey_for_alignment() -> None:
    photo = ingest_photo(make_photo(2400, 1800, orientation=6))
    assert isinstance(photo.marks, MarkMetrics)
    assert photo.grey.dtype == np.uint8
    assert photo.grey.shape == (512, 384)  # upright, as the renditions are
