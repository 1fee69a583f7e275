"""imaging.alignment: the similarity laying one photo of an area onto another, on generated faces
(tests/synthetic_faces.py) moved by a known similarity, and the matrix helpers the compare view
uses to carry a region from one photo to another."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image

from tests import synthetic_faces as faces
from tests.hostile_input import fuzz_settings
from webapp.imaging import analysis_grey
from webapp.imaging.alignment import (
    ALIGNED_MIN_SCORE,
    IDENTITY,
    Alignment,
    align,
    between,
    compose,
    invert,
    map_point,
    map_region,
)

WIDTH, HEIGHT = 384, 512  # the analysis copy of a portrait phone photo
MARGIN = (96, 128)  # px of scene beyond the frame on each side, as a real scene has


def moved_scene(
    seed: int, shift: tuple[float, float], degrees: float, scale: float, perturb=None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(reference RGB, moving RGB, the true matrix moving -> reference in fractions).

    The phone moved between two photos of one scene: a face larger than the frame is moved by
    faces.similarity and both photos are the frame's crop of their scene, so no fill colour
    enters the frame (a real photo has the scene there). `perturb` changes the moving photo's
    light too."""
    mx, my = MARGIN
    scene = faces.make_face(
        seed, skin_type=1 + seed % 6, width=WIDTH + 2 * mx, height=HEIGHT + 2 * my
    )
    moved, matrix = faces.similarity(scene.rgb, shift, degrees, scale)
    if perturb is not None:
        moved = perturb(moved)
    crop = (slice(my, my + HEIGHT), slice(mx, mx + WIDTH))
    # Scene pixels -> frame pixels is a shift by the margin; truth is the move's inverse there.
    to_frame = np.array([[1.0, 0.0, -mx], [0.0, 1.0, -my], [0.0, 0.0, 1.0]])
    move = to_frame @ np.vstack([matrix, [0.0, 0.0, 1.0]]) @ np.linalg.inv(to_frame)
    frame = np.diag([WIDTH, HEIGHT, 1.0])
    truth = np.linalg.inv(frame) @ np.linalg.inv(move) @ frame
    return np.ascontiguousarray(scene.rgb[crop]), np.ascontiguousarray(moved[crop]), truth


def moved_photo(
    seed: int, shift: tuple[float, float], degrees: float, scale: float, perturb=None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """moved_scene's photos as their grey analysis copies."""
    reference, moving, truth = moved_scene(seed, shift, degrees, scale, perturb)
    return analysis_grey(reference), analysis_grey(moving), truth


def pixel_error(matrix, truth: np.ndarray, size: tuple[int, int] = (WIDTH, HEIGHT)) -> float:
    """The largest distance, in pixels of the reference, between where `matrix` and `truth` put
    the points of a grid over the frame's central 70 % (where the face is)."""
    width, height = size
    worst = 0.0
    for u in np.linspace(0.15, 0.85, 5):
        for v in np.linspace(0.15, 0.85, 5):
            got = map_point((u, v), matrix)
            want = truth[:2] @ (u, v, 1.0)
            worst = max(worst, math.hypot((got[0] - want[0]) * width, (got[1] - want[1]) * height))
    return worst


def grey_face(seed: int = 3) -> np.ndarray:
    return analysis_grey(faces.make_face(seed).rgb)


# align: moves recovered
# --------------------------------------------------------------------------------------------

MOVES = [
    (0, (30.0, -20.0), 0.0, 1.0),
    (1, (0.0, 0.0), 10.0, 1.0),
    (2, (0.0, 0.0), -10.0, 1.0),
    (3, (0.0, 0.0), 0.0, 0.9),
    (4, (0.0, 0.0), 0.0, 1.1),
    (5, (-38.0, 51.0), 7.0, 0.92),
    (6, (38.0, -51.0), -9.0, 1.08),
    (7, (12.0, 25.0), 4.5, 1.05),
]


@pytest.mark.parametrize(("seed", "shift", "degrees", "scale"), MOVES)
def test_a_known_move_is_recovered_within_a_pixel(seed, shift, degrees, scale) -> None:
    reference, moving, truth = moved_photo(seed, shift, degrees, scale)
    result = align(reference, moving)
    assert result.aligned
    assert pixel_error(result.matrix, truth) < 1.0


@pytest.mark.parametrize(
    "move",
    [
        {"shift": (0.1 * WIDTH, -0.1 * HEIGHT)},
        {"degrees": 10.0},
        {"scale": 0.9},
        {"scale": 1.1},
    ],
    ids=["shift 10%", "rotate 10 deg", "scale x0.9", "scale x1.1"],
)
def test_the_benchs_moves_are_recovered_despite_their_fill(move: dict) -> None:
    # faces.similarity shows grey where the frame moved away; no real photo has that flat band,
    # and ECC leans on it a little, so the bound is looser than a real scene's.
    face = faces.make_face(4)
    moved, matrix = faces.similarity(face.rgb, **move)
    frame = np.diag([WIDTH, HEIGHT, 1.0])
    truth = np.linalg.inv(frame) @ np.linalg.inv(np.vstack([matrix, [0, 0, 1]])) @ frame
    result = align(analysis_grey(face.rgb), analysis_grey(moved))
    assert result.aligned
    assert pixel_error(result.matrix, truth) < 2.0


def test_the_same_photo_aligns_to_the_identity() -> None:
    grey = grey_face()
    result = align(grey, grey)
    assert result.aligned
    assert result.score == pytest.approx(1.0, abs=1e-6)
    assert result.matrix == pytest.approx(IDENTITY, abs=1e-6)


LIGHT = {
    "exposure x0.6": lambda rgb: faces.exposure(rgb, 0.6),
    "exposure x1.4": lambda rgb: faces.exposure(rgb, 1.4),
    "white balance 5000 K": lambda rgb: faces.white_balance(rgb, 5000.0),
    "white balance 8000 K": lambda rgb: faces.white_balance(rgb, 8000.0),
    "gamma 0.85": lambda rgb: faces.gamma(rgb, 0.85),
    "gamma 1.15": lambda rgb: faces.gamma(rgb, 1.15),
    "jpeg q60": lambda rgb: faces.jpeg(rgb, 60),
    "noise sigma 4": lambda rgb: faces.noise(rgb, 4.0),
}


@pytest.mark.parametrize("name", list(LIGHT))
def test_a_change_of_light_does_not_move_the_photo(name: str) -> None:
    face = faces.make_face(5)
    result = align(analysis_grey(face.rgb), analysis_grey(LIGHT[name](face.rgb)))
    assert result.aligned
    assert pixel_error(result.matrix, np.eye(3)) < 0.5


@pytest.mark.parametrize(
    "perturb",
    [
        lambda rgb: faces.exposure(rgb, 0.6),
        lambda rgb: faces.white_balance(faces.exposure(rgb, 1.3), 5000.0),
        lambda rgb: faces.jpeg(faces.noise(rgb, 4.0), 60),
    ],
    ids=["darker", "brighter and warmer", "noisy jpeg"],
)
def test_a_move_is_recovered_under_other_light(perturb) -> None:
    reference, moving, truth = moved_photo(8, (20.0, -30.0), -6.0, 1.06, perturb)
    result = align(reference, moving)
    assert result.aligned
    assert pixel_error(result.matrix, truth) < 1.0


def test_photos_of_different_sizes_align_in_fractions() -> None:
    # The reference's copy at 384 x 512, the new photo's at 300 x 400 (its display rendition was
    # smaller): the matrix, in fractions of each frame, is the same as between equal sizes.
    reference, moving, truth = moved_photo(9, (15.0, 10.0), 5.0, 0.95)
    smaller = np.asarray(Image.fromarray(moving).resize((300, 400), Image.Resampling.BOX))
    result = align(reference, smaller)
    assert result.aligned
    assert pixel_error(result.matrix, truth) < 1.0


def test_a_landscape_photo_aligns_onto_a_portrait_reference() -> None:
    # The phone held the other way: the same scene, cropped 512 x 384 instead of 384 x 512.
    scene = analysis_grey(faces.make_face(4, width=576, height=768).rgb)
    portrait = np.ascontiguousarray(scene[128:640, 96:480])
    landscape = np.ascontiguousarray(scene[192:576, 32:544])
    # Landscape pixel (x, y) is scene (x + 32, y + 192), portrait (x - 64, y + 64).
    truth = np.array([[512 / 384, 0.0, -64 / 384], [0.0, 384 / 512, 64 / 512], [0.0, 0.0, 1.0]])
    result = align(portrait, landscape)
    assert result.aligned
    assert pixel_error(result.matrix, truth) < 1.0


def test_several_moves_in_sequence_compose() -> None:
    # Two photos each aligned to one reference: `between` carries the first onto the second.
    reference, first, truth_first = moved_photo(10, (20.0, 0.0), 5.0, 1.0)
    _, second, truth_second = moved_photo(10, (-10.0, 30.0), -4.0, 1.07)
    first_to_second = between(align(reference, first).matrix, align(reference, second).matrix)
    truth = np.linalg.inv(truth_second) @ truth_first
    assert pixel_error(first_to_second, truth) < 1.5


# align: what must not align, and what must not break it
# --------------------------------------------------------------------------------------------


def _unrelated(kind: str, shape: tuple[int, int]) -> np.ndarray:
    rng = np.random.default_rng(1)
    height, width = shape
    if kind == "noise":
        return rng.integers(0, 256, shape, dtype=np.uint8)
    if kind == "checkerboard":
        return ((np.indices(shape).sum(axis=0) // 32) % 2 * 255).astype(np.uint8)
    if kind == "gradient":
        return np.tile(np.linspace(0, 255, height).astype(np.uint8)[:, None], (1, width))
    return np.ascontiguousarray(grey_face()[::-1])  # "upside down"


@pytest.mark.parametrize("kind", ["noise", "checkerboard", "gradient", "upside down"])
def test_an_unrelated_picture_is_not_aligned(kind: str) -> None:
    face = grey_face()
    other = _unrelated(kind, face.shape)
    for result in (align(face, other), align(other, face)):
        assert not result.aligned
        assert result.score < ALIGNED_MIN_SCORE


def test_a_flat_photo_is_not_aligned() -> None:
    result = align(grey_face(), np.full((HEIGHT, WIDTH), 128, np.uint8))
    assert result == Alignment(IDENTITY, 0.0, False)


@pytest.mark.parametrize(
    "image",
    [np.zeros((HEIGHT, WIDTH, 3), np.uint8), np.zeros((HEIGHT, WIDTH), np.float32), None, []],
    ids=["rgb", "float", "none", "list"],
)
def test_what_is_not_a_grey_copy_is_not_aligned(image) -> None:
    assert align(grey_face(), image) == Alignment(IDENTITY, 0.0, False)


def test_the_result_is_the_same_every_time() -> None:
    reference, moving, _ = moved_photo(11, (25.0, 5.0), 8.0, 0.94)
    assert align(reference, moving) == align(reference, moving)


def _greys() -> st.SearchStrategy[np.ndarray]:
    shapes = st.tuples(st.integers(0, 80), st.integers(0, 80))
    flat = st.builds(lambda shape, v: np.full(shape, v, np.uint8), shapes, st.integers(0, 255))
    return st.one_of(
        st.sampled_from([np.zeros((1, 1), np.uint8), np.full((16, 16), 255, np.uint8)]),
        flat,
        shapes.flatmap(lambda shape: arrays(np.uint8, shape)),
    )


@fuzz_settings(150)
@given(_greys(), _greys())
def test_any_pair_of_grey_images_gives_an_alignment(reference, moving) -> None:
    result = align(reference, moving)
    assert len(result.matrix) == 6
    assert all(math.isfinite(value) for value in result.matrix)
    assert 0.0 <= result.score <= 1.0
    assert not result.aligned or result.score >= ALIGNED_MIN_SCORE


def test_the_stored_shape_is_rounded_json() -> None:
    data = Alignment((1.0, 1e-9, 0.1234567, 0.0, 1.0, 0.0), 0.98765, True).as_dict()
    assert data == {"matrix": [1.0, 0.0, 0.123457, 0.0, 1.0, 0.0], "score": 0.988, "aligned": True}


# Matrices and regions
# --------------------------------------------------------------------------------------------

SHIFT_RIGHT = (1.0, 0.0, 0.1, 0.0, 1.0, 0.0)  # a point of the moving photo is 10 % further right
HALF_SIZE = (0.5, 0.0, 0.25, 0.0, 0.5, 0.25)  # the moving photo is the reference's centre, zoomed


def test_the_identity_maps_a_region_onto_itself() -> None:
    assert map_region((0.2, 0.3, 0.6, 0.7), IDENTITY) == pytest.approx((0.2, 0.3, 0.6, 0.7))


def test_a_region_moves_with_the_photo() -> None:
    assert map_region((0.2, 0.3, 0.6, 0.7), SHIFT_RIGHT) == pytest.approx((0.3, 0.3, 0.7, 0.7))
    assert map_region((0.0, 0.0, 1.0, 1.0), HALF_SIZE) == pytest.approx((0.25, 0.25, 0.75, 0.75))


def test_a_rotated_region_maps_to_its_bounding_box() -> None:
    turn = math.radians(30)
    rotation = (math.cos(turn), -math.sin(turn), 0.5, math.sin(turn), math.cos(turn), 0.5)
    left, top, right, bottom = map_region((-0.1, -0.1, 0.1, 0.1), rotation)
    half = 0.1 * (math.cos(turn) + math.sin(turn))
    assert (left, top, right, bottom) == pytest.approx(
        (0.5 - half, 0.5 - half, 0.5 + half, 0.5 + half)
    )


def test_a_region_is_clamped_to_the_photo() -> None:
    assert map_region((0.5, 0.2, 0.95, 0.4), SHIFT_RIGHT) == pytest.approx((0.6, 0.2, 1.0, 0.4))


def test_a_region_wholly_outside_the_other_photo_maps_to_nothing() -> None:
    assert map_region((0.92, 0.2, 0.98, 0.4), SHIFT_RIGHT) is None


def test_a_region_drawn_round_a_mark_maps_onto_the_same_mark() -> None:
    mx, my = MARGIN
    reference, moving, truth = moved_photo(12, (30.0, -25.0), 8.0, 1.07)
    matrix = align(reference, moving).matrix
    scene = faces.make_face(12, skin_type=1 + 12 % 6, width=WIDTH + 2 * mx, height=HEIGHT + 2 * my)
    mark = scene.truth.marks[0]
    centre = ((mark.x - mx) / WIDTH, (mark.y - my) / HEIGHT)  # in the reference, fractions
    on_moving = np.linalg.inv(truth)[:2] @ (*centre, 1.0)  # where the patient sees it that day
    box = (on_moving[0] - 0.02, on_moving[1] - 0.015, on_moving[0] + 0.02, on_moving[1] + 0.015)
    left, top, right, bottom = map_region(box, matrix)
    assert (left + right) / 2 == pytest.approx(centre[0], abs=1.0 / WIDTH)
    assert (top + bottom) / 2 == pytest.approx(centre[1], abs=1.0 / HEIGHT)


def test_a_matrix_composed_with_its_inverse_is_the_identity() -> None:
    matrix = (0.93, -0.12, 0.08, 0.15, 0.97, -0.04)
    assert compose(matrix, invert(matrix)) == pytest.approx(IDENTITY, abs=1e-12)
    assert compose(invert(matrix), matrix) == pytest.approx(IDENTITY, abs=1e-12)


def test_compose_applies_the_first_matrix_first() -> None:
    point = map_point(map_point((0.3, 0.6), HALF_SIZE), SHIFT_RIGHT)
    assert map_point((0.3, 0.6), compose(HALF_SIZE, SHIFT_RIGHT)) == pytest.approx(point)


def test_between_a_photo_and_the_reference_is_its_own_matrix() -> None:
    assert between(HALF_SIZE, IDENTITY) == pytest.approx(HALF_SIZE)
    assert between(IDENTITY, HALF_SIZE) == pytest.approx(invert(HALF_SIZE))


def test_a_matrix_that_cannot_be_inverted_is_refused() -> None:
    with pytest.raises(ValueError, match="invertible"):
        invert((0.0, 0.0, 0.5, 0.0, 0.0, 0.5))


@pytest.mark.parametrize(
    "matrix", [(1.0, 0.0, 0.0), (1.0, 0.0, math.nan, 0.0, 1.0, 0.0), (1.0,) * 7]
)
def test_a_malformed_matrix_is_refused(matrix) -> None:
    with pytest.raises(ValueError, match="six finite numbers"):
        map_region((0.2, 0.2, 0.4, 0.4), matrix)
