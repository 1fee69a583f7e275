"""Each area's reference photo, and the patient's other photos of that area aligned to it.

The compare slider and a region drawn on one photo only mean the same skin on another photo once
both lie on one frame: every photo of an area (a patient's left cheek, say) is aligned to one of
them, the area's reference (imaging.alignment). Stored on each photo as `Photo.alignment`:

    {"reference": the reference's uuid, or None on the reference itself,
     "matrix": [a, b, tx, c, d, ty]  (this photo's fractions -> the reference's; identity on it),
     "score": 0..1, "aligned": bool}

or None: not aligned, because no photo of the area was fit to be the reference yet, or a
photo's pixels could not be read.

Which photo is the reference. The first photo of the area fit to measure: the earliest-dated
live one graded "good", else the earliest "fair" one (photos stored before quality was graded
count as fair); a "poor" photo never is. Once a photo is the reference (it carries
{"reference": None}), later photos align to it, even an earlier-dated one uploaded afterwards by
a phone that was offline, so the area stays on one frame. A reference is picked again only when
none is left: it was deleted, or the area's photos predate alignment. `realign_area` re-picks by
the rule and aligns the area's photos again; `ensure_reference` does so only when the area has
lost its reference (after a delete) or gained two (two first photos added at once); `backfill`
for every area with photos never aligned. A photo's alignment is derived on the server, like its
measures; rewritten ones take change numbers so other devices learn of them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date
from typing import Any

import numpy as np

from .. import imaging
from ..extensions import db
from ..models import Entry, Photo, User
from ..storage import PhotoStore, StorageError
from .sync import claim_changes

log = logging.getLogger(__name__)

REFERENCE_ALIGNMENT: dict[str, Any] = {
    "reference": None,
    "matrix": list(imaging.IDENTITY),
    "score": 1.0,
    "aligned": True,
}
MATRIX_TOLERANCE = 1e-3  # of the frame: half a pixel at 512 px; closer is the same alignment
_RANK = {"good": 0, "fair": 1}  # a photo's fitness to be the reference: lower first; poor never


def align_new_photo(photo: Photo, grey: np.ndarray, store: PhotoStore) -> dict[str, Any] | None:
    """The alignment of a photo being added (its row made, not necessarily flushed) to its
    area's reference, given its grey analysis copy (IngestedPhoto.grey). A new photo becomes the
    reference itself when the area has none and it is the first fit to be; None when it cannot
    be aligned (no reference, or the reference's pixels are unreadable). Writes nothing."""
    others = [row for row in _live_photos(photo.user_id, photo.area) if row[0].uuid != photo.uuid]
    established = [row for row, _ in others if _is_reference(row)]
    if established:
        reference = established[0]
    else:
        new_date = db.session.get(Entry, photo.entry_id).date
        reference = _first_fit([*others, (photo, new_date)])
        if reference is None:
            return None
        if reference is photo:
            return dict(REFERENCE_ALIGNMENT)
    reference_grey = _grey(reference, store)
    if reference_grey is None:
        return None
    return {"reference": reference.uuid, **imaging.align(reference_grey, grey).as_dict()}


def realign_area(user: User, area: str, store: PhotoStore) -> int:
    """Pick the area's reference again by the rule and align every live photo of the area to
    it (reading each one's display rendition); the number of photos whose alignment changed.

    For a backfill of photos stored before alignment and after the reference was deleted. The
    pixels are read and matched before the patient's lock is taken; the writes then take it and
    their change numbers, skipping photos deleted meanwhile.
    """
    photos = _live_photos(user.id, area)
    ranked = sorted((row for row in photos if _rank(row[0]) is not None), key=_order)
    reference, reference_grey = None, None
    for candidate, _ in ranked:  # the first whose pixels can be read
        reference_grey = _grey(candidate, store)
        if reference_grey is not None:
            reference = candidate
            break
    wanted: dict[int, dict[str, Any] | None] = {}
    for photo, _ in photos:
        if reference is None:
            wanted[photo.id] = None
        elif photo is reference:
            wanted[photo.id] = dict(REFERENCE_ALIGNMENT)
        else:
            grey = _grey(photo, store)
            fit = None if grey is None else imaging.align(reference_grey, grey).as_dict()
            wanted[photo.id] = None if fit is None else {"reference": reference.uuid, **fit}
    changed = [photo for photo, _ in photos if not _same(photo.alignment, wanted[photo.id])]
    if not changed:
        return 0
    first = claim_changes(user.id, len(changed))
    written = 0
    for offset, photo in enumerate(changed):
        db.session.refresh(photo)  # as committed now, under the lock
        if photo.deleted_at is not None:
            continue
        photo.alignment = wanted[photo.id]
        photo.change_seq = first + offset
        written += 1
    db.session.commit()
    return written


def ensure_reference(user: User, area: str, store: PhotoStore) -> int:
    """Unless the area's live photos have exactly one reference, pick one and align the others
    to it (realign_area); the number of photos changed. After a photo of the area is deleted
    (it may have been the reference), and after two first photos of an area were added at once
    (each found no reference and became one)."""
    photos = _live_photos(user.id, area)
    if not photos or sum(_is_reference(photo) for photo, _ in photos) == 1:
        return 0
    return realign_area(user, area, store)


def backfill(store: PhotoStore) -> int:
    """Align every area that holds a live photo without an alignment record (stored before
    alignment was, or whose pixels could not be read then), each by realign_area; the number of
    photos changed. For `flask photos align`."""
    rows = db.session.execute(
        db.select(Photo.user_id, Photo.area, Photo.alignment).where(Photo.deleted_at.is_(None))
    ).all()
    areas = sorted({(user_id, area) for user_id, area, fit in rows if fit is None})
    return sum(realign_area(db.session.get(User, user), area, store) for user, area in areas)


def _live_photos(user_id: int, area: str) -> list[tuple[Photo, date]]:
    """The patient's live photos of `area` with their entries' dates, earliest first."""
    rows = db.session.execute(
        db.select(Photo, Entry.date)
        .join(Entry, Photo.entry_id == Entry.id)
        .where(Photo.user_id == user_id, Photo.area == area, Photo.deleted_at.is_(None))
        .order_by(Entry.date, Photo.id)
    ).all()
    return [(photo, day) for photo, day in rows]


def _same(stored: object, wanted: Mapping[str, Any] | None) -> bool:
    """The stored alignment says what `wanted` says: the same reference and verdict, and a
    matrix within MATRIX_TOLERANCE (the grey copy read back from the display rendition differs
    a little from ingest's, made before that rendition was encoded)."""
    if wanted is None or not isinstance(stored, Mapping):
        return stored is None and wanted is None
    if stored.get("reference") != wanted["reference"] or stored.get("aligned") != wanted["aligned"]:
        return False
    matrix = stored.get("matrix")
    if not isinstance(matrix, list) or len(matrix) != len(wanted["matrix"]):
        return False
    return all(
        isinstance(value, (int, float)) and abs(value - other) <= MATRIX_TOLERANCE
        for value, other in zip(matrix, wanted["matrix"], strict=True)
    )


def _is_reference(photo: Photo) -> bool:
    fit = photo.alignment
    return isinstance(fit, Mapping) and "reference" in fit and fit["reference"] is None


def _rank(photo: Photo) -> int | None:
    quality = photo.quality
    if quality is None:
        return _RANK["fair"]  # graded before quality was: not known to be poor
    verdict = quality.get("verdict") if isinstance(quality, Mapping) else None
    return _RANK.get(verdict) if isinstance(verdict, str) else None


def _order(row: tuple[Photo, date]) -> tuple[int, date, float]:
    """Good before fair, then earliest date, then first stored (a new photo has no id yet).
    Only for photos fit to be the reference (`_rank` not None)."""
    photo, day = row
    rank = _rank(photo)
    return len(_RANK) if rank is None else rank, day, float("inf") if photo.id is None else photo.id


def _first_fit(rows: list[tuple[Photo, date]]) -> Photo | None:
    fit = [row for row in rows if _rank(row[0]) is not None]
    return min(fit, key=_order)[0] if fit else None


def _grey(photo: Photo, store: PhotoStore) -> np.ndarray | None:
    """The grey analysis copy of a stored photo's display rendition; None when its bytes are
    missing or unreadable (logged: the photo is then left unaligned, never an error)."""
    try:
        data = store.read(photo.rendition_key("display"))
        return imaging.analysis_grey(imaging.analysis_copy(data))
    except (KeyError, StorageError, imaging.ImageRejected):
        log.warning("photo %s: display rendition unreadable, not aligned", photo.uuid)
        return None
