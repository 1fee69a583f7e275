"""The similarity that lays one photo of an area onto another, so days compare as the same skin.

Photos of one area taken days apart differ in distance, angle and framing; the compare slider and
a region drawn on one of them only mean something once each is laid onto a common frame. Every
photo of an area is aligned to the area's reference photo (chosen by records.alignment) with a
similarity: rotation, uniform scale and translation, which is what moving a hand-held phone
changes (tilting it changes perspective too; a similarity is the part that can be estimated
robustly from a face at 512 px).

How (`align`, on the grey analysis copies, <= 512 px on the long side):

1. ORB keypoints on both, matched by Hamming distance with Lowe's ratio test, and a similarity
   fitted to the matches by RANSAC (`cv2.estimateAffinePartial2D`): large moves, any start.
2. ECC (`cv2.findTransformECC`, affine, on copies ECC_LONG_SIDE px long) refines it from there,
   or from no move at all when the keypoints found nothing (photos taken with the camera's ghost
   are nearly aligned already). ECC has no similarity model: its affine answer is brought back to
   the nearest similarity (least squares over the frame). ECC's correlation is blind to exposure
   and contrast, so a change of light does not pull it.
3. The candidate (keypoints alone, or refined) that matches best is kept, if plausible: a scale
   within SCALE_RANGE and a rotation within MAX_ROTATION_DEGREES.

The score is the zero-mean normalised cross-correlation of the two grey copies (ECC_LONG_SIDE px)
over the part of the reference the moved photo covers, clipped to 0..1: 1 for the same picture
under any exposure, about 0 for unrelated pictures. A photo is `aligned` when a plausible
transform was found, it covers at least MIN_OVERLAP of the reference and the score reaches
ALIGNED_MIN_SCORE. `align` never raises: an unusable image (too small, flat, not 2-D uint8) or a
failed match gives the identity with aligned False.

The matrix convention (`Matrix`, six numbers, row-major 2 x 3 `(a, b, tx, c, d, ty)`): it maps a
point (u, v) of the MOVING photo, in fractions of that photo's own width and height (0, 0 its
top-left corner, 1, 1 its bottom-right), to the point (u', v') of the REFERENCE photo that shows
the same skin, in fractions of the reference's width and height:

    u' = a u + b v + tx
    v' = c u + d v + ty

Fractions make it independent of rendition sizes (thumb, display, full, analysis copy), and they
are the units of `Region`. In pixels the map is a similarity; in fractions it is one only when
both photos have the same aspect ratio. `map_region`, `invert`, `compose` and `between` carry a
region drawn on any photo of an area onto any other aligned to the same reference.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from .colour import Region

Matrix = tuple[float, float, float, float, float, float]  # (a, b, tx, c, d, ty), see above
IDENTITY: Matrix = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)

# Calibrated on the generated faces of tests/synthetic_faces.py (384 x 512): a face moved (shift
# 10 %, rotation 10°, scale +-10 %) and exposed, white-balanced, gamma-curved, JPEG-compressed and
# noised as the bench's perturbations do, all at once, scores over 0.99 once aligned; noise, blobs,
# a checkerboard, a gradient or a face upside down against a face score under 0.2. Real photos of
# one area days apart score lower than generated ones (the skin itself changes, the light falls
# from elsewhere); 0.6 leaves room for that while an unrelated picture stays far below.
ALIGNED_MIN_SCORE = 0.6
MIN_OVERLAP = 0.5  # fraction of the reference the moved photo must cover
SCALE_RANGE = (0.5, 2.0)  # a photo twice as close or far is another framing, not a moved phone
MAX_ROTATION_DEGREES = 30.0
MIN_SIDE = 16  # px: below this neither keypoints nor correlation mean anything

ORB_FEATURES = 1000
ORB_FAST_THRESHOLD = 10  # FAST's default 20 finds few corners on smooth skin at 512 px
RATIO_TEST = 0.8  # Lowe's ratio: a match must be clearly better than the second best
RANSAC_PIXELS = 3.0  # reprojection error of an inlier at 512 px
MIN_INLIERS = 12  # fewer consistent matches than this is chance, not the same scene
ECC_LONG_SIDE = 256  # px; ECC refines, and the score is taken, on this copy: ~10 ms
ECC_ITERATIONS = 60
ECC_EPSILON = 1e-5

# Pixel coordinates here are continuous, as in tests/synthetic_faces.py: pixel (i, j) covers
# [i, i + 1) x [j, j + 1). OpenCV's put pixel (i, j)'s centre at (i, j): half a pixel apart.
_CV_TO_CONTINUOUS = np.array([[1.0, 0.0, 0.5], [0.0, 1.0, 0.5], [0.0, 0.0, 1.0]])
_CONTINUOUS_TO_CV = np.linalg.inv(_CV_TO_CONTINUOUS)


@dataclass(frozen=True)
class Alignment:
    """Where a moving photo lies on the reference: `matrix` (see the module docstring), `score`
    0..1 (normalised cross-correlation once moved) and `aligned` (a plausible match, good enough
    for the compare view and the measured curves)."""

    matrix: Matrix
    score: float
    aligned: bool

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape stored on the photo (records.alignment adds "reference")."""
        return {
            "matrix": [round(value, 6) for value in self.matrix],
            "score": round(self.score, 3),
            "aligned": self.aligned,
        }


_NOT_ALIGNED = Alignment(IDENTITY, 0.0, False)


def align(reference: np.ndarray, moving: np.ndarray) -> Alignment:
    """The similarity laying `moving` onto `reference` (uint8 grey analysis copies, H x W, of any
    sizes), its score and whether it holds. Never raises: see the module docstring."""
    ref, mov = _usable(reference), _usable(moving)
    if ref is None or mov is None:
        return _NOT_ALIGNED
    ref_small, mov_small = _small(ref), _small(mov)
    # Everything below is in continuous pixels of the small copies: moving -> reference.
    to_small_ref = _scaling(ref.shape, ref_small.shape)
    from_small_mov = np.linalg.inv(_scaling(mov.shape, mov_small.shape))
    start = _scaling(mov_small.shape, ref_small.shape)  # no move: the frames laid on each other
    candidates = []
    found = _keypoint_similarity(ref, mov)
    if found is not None:
        start = to_small_ref @ found @ from_small_mov
        candidates.append(start)
    refined = _ecc_similarity(ref_small, mov_small, start)
    if refined is not None:
        candidates.append(refined)
    best, best_score, best_overlap = None, -1.0, 0.0
    for candidate in candidates:
        if not _plausible(candidate, ref_small.shape, mov_small.shape):
            continue
        score, overlap = _score(ref_small, mov_small, candidate)
        if score > best_score:
            best, best_score, best_overlap = candidate, score, overlap
    if best is None:
        return _NOT_ALIGNED
    aligned = best_overlap >= MIN_OVERLAP and best_score >= ALIGNED_MIN_SCORE
    fractions = np.linalg.inv(_frame(ref_small.shape)) @ best @ _frame(mov_small.shape)
    return Alignment(_as_matrix(fractions), best_score, aligned)


def map_point(point: tuple[float, float], matrix: Sequence[float]) -> tuple[float, float]:
    """(u, v) in fractions of one photo -> the same point in the photo `matrix` maps onto."""
    a, b, tx, c, d, ty = _checked(matrix)
    u, v = point
    return a * u + b * v + tx, c * u + d * v + ty


def map_region(region: Region, matrix: Sequence[float]) -> Region | None:
    """The region (left, top, right, bottom fractions) of one photo as a region of the photo
    `matrix` maps onto: the bounding box of its four mapped corners, clamped to 0..1. None when
    it falls wholly outside that photo. Raises ValueError for a matrix that is not six finite
    numbers."""
    left, top, right, bottom = region
    corners = [
        map_point(p, matrix) for p in ((left, top), (right, top), (left, bottom), (right, bottom))
    ]
    us, vs = [p[0] for p in corners], [p[1] for p in corners]
    box = (
        min(max(min(us), 0.0), 1.0),
        min(max(min(vs), 0.0), 1.0),
        min(max(max(us), 0.0), 1.0),
        min(max(max(vs), 0.0), 1.0),
    )
    if not (box[0] < box[2] and box[1] < box[3]):
        return None
    return box


def invert(matrix: Sequence[float]) -> Matrix:
    """The matrix mapping back: the reference's points onto the moving photo. Raises ValueError
    for a matrix that cannot be inverted."""
    full = _homogeneous(matrix)
    if abs(np.linalg.det(full)) < 1e-12:
        msg = "An alignment matrix must be invertible."
        raise ValueError(msg)
    return _as_matrix(np.linalg.inv(full))


def compose(first: Sequence[float], then: Sequence[float]) -> Matrix:
    """The matrix applying `first`, then `then`."""
    return _as_matrix(_homogeneous(then) @ _homogeneous(first))


def between(source: Sequence[float], target: Sequence[float]) -> Matrix:
    """From a photo aligned by `source` to a photo aligned by `target`, both onto one reference
    (the reference itself is aligned by IDENTITY): through the reference and back."""
    return compose(source, invert(target))


# --- The match ----------------------------------------------------------------------------------


def _usable(image: object) -> np.ndarray | None:
    """The image as contiguous uint8 grey, or None when nothing can be matched on it."""
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 2:
        return None
    if min(image.shape) < MIN_SIDE or int(image.max()) == int(image.min()):
        return None
    return np.ascontiguousarray(image)


def _small(grey: np.ndarray) -> np.ndarray:
    """The copy ECC and the score work on: at most ECC_LONG_SIDE long, area-averaged."""
    height, width = grey.shape
    ratio = ECC_LONG_SIDE / max(height, width)
    if ratio >= 1.0:
        return grey
    size = (max(MIN_SIDE, round(width * ratio)), max(MIN_SIDE, round(height * ratio)))
    return cv2.resize(grey, size, interpolation=cv2.INTER_AREA)


def _keypoint_similarity(ref: np.ndarray, mov: np.ndarray) -> np.ndarray | None:
    """ORB matches and RANSAC: the similarity moving -> reference (3 x 3, continuous pixels of
    the copies given), or None when too few matches agree."""
    orb = cv2.ORB_create(nfeatures=ORB_FEATURES, fastThreshold=ORB_FAST_THRESHOLD)
    ref_points, ref_descriptors = orb.detectAndCompute(ref, None)
    mov_points, mov_descriptors = orb.detectAndCompute(mov, None)
    if ref_descriptors is None or mov_descriptors is None or len(ref_points) < 2:
        return None
    pairs = cv2.BFMatcher(cv2.NORM_HAMMING).knnMatch(mov_descriptors, ref_descriptors, k=2)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < RATIO_TEST * p[1].distance]
    if len(good) < MIN_INLIERS:
        return None
    source = np.float32([mov_points[m.queryIdx].pt for m in good])
    target = np.float32([ref_points[m.trainIdx].pt for m in good])
    estimate, inliers = cv2.estimateAffinePartial2D(
        source, target, method=cv2.RANSAC, ransacReprojThreshold=RANSAC_PIXELS
    )
    if estimate is None or inliers is None or int(inliers.sum()) < MIN_INLIERS:
        return None
    return _CV_TO_CONTINUOUS @ np.vstack([estimate, [0.0, 0.0, 1.0]]) @ _CONTINUOUS_TO_CV


def _ecc_similarity(ref: np.ndarray, mov: np.ndarray, start: np.ndarray) -> np.ndarray | None:
    """ECC from `start` (moving -> reference, continuous pixels of these copies), brought back to
    a similarity; None when it does not converge."""
    # ECC's warp takes the template's (reference's) pixels to the input's, in OpenCV's pixels.
    warp = _CONTINUOUS_TO_CV @ np.linalg.inv(start) @ _CV_TO_CONTINUOUS
    criteria = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, ECC_ITERATIONS, ECC_EPSILON)
    try:
        _, result = cv2.findTransformECC(
            ref.astype(np.float32),
            mov.astype(np.float32),
            warp[:2].astype(np.float32),
            cv2.MOTION_AFFINE,
            criteria,
            None,
            5,
        )
    except cv2.error:
        return None
    affine = _CV_TO_CONTINUOUS @ np.vstack([result, [0.0, 0.0, 1.0]]) @ _CONTINUOUS_TO_CV
    if abs(np.linalg.det(affine)) < 1e-9 or not np.isfinite(affine).all():
        return None
    return _nearest_similarity(np.linalg.inv(affine), mov.shape)


def _nearest_similarity(affine: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """The similarity that moves a 5 x 5 grid over the frame of `shape` closest to where `affine`
    moves it (least squares): the affine without its shear and uneven scale."""
    height, width = shape[:2]
    xs, ys = np.meshgrid(np.linspace(0.0, width, 5), np.linspace(0.0, height, 5))
    points = np.stack([xs.ravel(), ys.ravel(), np.ones(xs.size)])
    moved = affine @ points
    x, y = points[0], points[1]
    one, zero = np.ones_like(x), np.zeros_like(x)
    design = np.vstack([np.stack([x, -y, one, zero], 1), np.stack([y, x, zero, one], 1)])
    p, q, tx, ty = np.linalg.lstsq(design, np.concatenate([moved[0], moved[1]]), rcond=None)[0]
    return np.array([[p, -q, tx], [q, p, ty], [0.0, 0.0, 1.0]])


def _plausible(similarity: np.ndarray, ref_shape: tuple[int, ...], mov_shape: tuple[int, ...]):
    """A phone moved between two photos of one area: scale and rotation within bounds, taken
    against the two frames laid on each other (so copies of different sizes compare)."""
    if not np.isfinite(similarity).all():
        return False
    linear = (np.linalg.inv(_scaling(mov_shape, ref_shape)) @ similarity)[:2, :2]
    scale = math.sqrt(abs(np.linalg.det(linear)))
    degrees = math.degrees(math.atan2(linear[1, 0] - linear[0, 1], linear[0, 0] + linear[1, 1]))
    return SCALE_RANGE[0] <= scale <= SCALE_RANGE[1] and abs(degrees) <= MAX_ROTATION_DEGREES


def _score(ref: np.ndarray, mov: np.ndarray, similarity: np.ndarray) -> tuple[float, float]:
    """(normalised cross-correlation 0..1, covered fraction of the reference) with `mov` moved
    onto `ref` by `similarity`."""
    height, width = ref.shape
    warp = (_CONTINUOUS_TO_CV @ similarity @ _CV_TO_CONTINUOUS)[:2]
    moved = cv2.warpAffine(mov.astype(np.float32), warp, (width, height), flags=cv2.INTER_LINEAR)
    inside = cv2.warpAffine(
        np.ones(mov.shape, np.float32), warp, (width, height), flags=cv2.INTER_LINEAR
    )
    covered = inside >= 0.999
    overlap = float(covered.mean())
    if covered.sum() < MIN_SIDE * MIN_SIDE:
        return 0.0, overlap
    a = ref[covered].astype(np.float64)
    b = moved[covered].astype(np.float64)
    a -= a.mean()
    b -= b.mean()
    # Sums of products, not `@`: a BLAS call here waits on the threads OpenCV just used.
    norm = math.sqrt(float((a * a).sum()) * float((b * b).sum()))
    if norm < 1e-6:
        return 0.0, overlap
    return max(0.0, min(1.0, float((a * b).sum()) / norm)), overlap


# --- Matrices -----------------------------------------------------------------------------------


def _scaling(source_shape: tuple[int, ...], target_shape: tuple[int, ...]) -> np.ndarray:
    """Continuous pixels of a copy of `source_shape` -> those of a copy of `target_shape`."""
    return _frame(target_shape) @ np.linalg.inv(_frame(source_shape))


def _frame(shape: tuple[int, ...]) -> np.ndarray:
    """Fractions of the frame -> continuous pixels of an image of `shape` (H, W)."""
    height, width = shape[:2]
    return np.diag([float(width), float(height), 1.0])


def _checked(matrix: Sequence[float]) -> Matrix:
    values = tuple(float(value) for value in matrix)
    if len(values) != 6 or not all(math.isfinite(value) for value in values):
        msg = "An alignment matrix is six finite numbers: a, b, tx, c, d, ty."
        raise ValueError(msg)
    return values  # type: ignore[return-value]


def _homogeneous(matrix: Sequence[float]) -> np.ndarray:
    return np.vstack([np.reshape(_checked(matrix), (2, 3)), [0.0, 0.0, 1.0]])


def _as_matrix(full: np.ndarray) -> Matrix:
    return tuple(float(value) for value in full[:2].ravel())  # type: ignore[return-value]
