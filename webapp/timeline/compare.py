"""Two photos of one area in the same framing: the compare view draws the second photo as the
first was framed, and a region drawn on one photo maps onto the others (region.py).

Each photo of an area is aligned at ingest to that area's reference photo (records.alignment):
its `alignment` maps points of the photo, in fractions of its own width and height, to points of
the reference, in fractions of the reference's (imaging.alignment). Two photos aligned to the
same reference are therefore related by the one to the reference followed by the inverse of the
other's. Photos stored before alignment (None), found unaligned, or aligned to another reference
have no such relation: they are shown and measured as they are.

Pure: plain data in, plain data out; no Flask, no database.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..imaging import alignment
from ..photo_choice import PhotoItem

Matrix = alignment.Matrix  # (a, b, tx, c, d, ty): fractions of one photo -> another's
IDENTITY = alignment.IDENTITY

ALIGNED_NOTE = "Aligned to the same framing."
UNALIGNED_NOTE = "These photos could not be aligned; the framing may differ."


def to_reference(uuid: str, fit: Mapping[str, Any] | None) -> tuple[str, Matrix] | None:
    """The reference a photo is aligned to and the matrix onto it; None when it is not aligned
    (never measured, below the score threshold, or a malformed record: shown as it is)."""
    if not isinstance(fit, Mapping) or fit.get("aligned") is not True:
        return None
    reference = fit.get("reference")
    if reference is None:  # the reference itself
        return uuid, IDENTITY
    matrix = fit.get("matrix")
    if not isinstance(reference, str) or not isinstance(matrix, (list, tuple)) or len(matrix) != 6:
        return None
    if not all(isinstance(value, (int, float)) and math.isfinite(value) for value in matrix):
        return None
    if abs(matrix[0] * matrix[4] - matrix[1] * matrix[3]) < 1e-9:  # flat: no inverse
        return None
    return reference, tuple(float(value) for value in matrix)  # type: ignore[return-value]


def between(
    source: tuple[str, Mapping[str, Any] | None], target: tuple[str, Mapping[str, Any] | None]
) -> Matrix | None:
    """The matrix taking points of `source` to points of `target` (each a photo's uuid and its
    alignment), in fractions of each photo's width and height: `source` onto the reference, then
    back from the reference onto `target`. None unless both are aligned to the same reference."""
    ends = to_reference(*source), to_reference(*target)
    # A reference stored before alignment was (no record of its own) is known by the other's.
    if ends[0] is None and ends[1] is not None and ends[1][0] == source[0]:
        ends = (source[0], IDENTITY), ends[1]
    if ends[1] is None and ends[0] is not None and ends[0][0] == target[0]:
        ends = ends[0], (target[0], IDENTITY)
    if ends[0] is None or ends[1] is None or ends[0][0] != ends[1][0]:
        return None
    return alignment.between(ends[0][1], ends[1][1])


@dataclass(frozen=True)
class Framing:
    """How the compare view draws its pair: `transform` (CSS, with transform-origin 0 0) draws the
    second photo, stretched to the first one's box, in the first one's framing; `note` says so,
    or that the photos could not be aligned. Both None: photos never aligned, shown as today."""

    transform: str | None = None
    note: str | None = None


def framing(first: PhotoItem | None, second: PhotoItem | None) -> Framing:
    """How to draw `second` over `first`, in `first`'s framing when both are aligned to one
    reference."""
    if first is None or second is None:
        return Framing()
    if first.image_alignment is None and second.image_alignment is None:
        return Framing()
    matrix = between((second.uuid, second.image_alignment), (first.uuid, first.image_alignment))
    if matrix is None:
        return Framing(note=UNALIGNED_NOTE)
    return Framing(css_transform(matrix, (first.width, first.height)), ALIGNED_NOTE)


def css_transform(matrix: Matrix, size: tuple[int, int]) -> str:
    """`matrix` (fractions to fractions) as a CSS transform of an element of the target's aspect
    ratio `size`, its origin at the top left.

    In pixels of a W x H box, x' = a·x + b·(W/H)·y + tx·W and y' = c·(H/W)·x + d·y + ty·H. The
    linear part needs only the aspect ratio, known here; the shift is a translate() in percent of
    the element's own box, so the transform holds at whatever size the page draws the photo.
    """
    a, b, tx, c, d, ty = matrix
    width, height = size
    aspect = width / height if width > 0 and height > 0 else 1.0
    linear = (a, c / aspect, b * aspect, d)  # CSS matrix(a, b, c, d, e, f): column-major
    numbers = ", ".join(f"{value:.6f}" for value in linear)
    return f"translate({tx * 100:.4f}%, {ty * 100:.4f}%) matrix({numbers}, 0, 0)"
