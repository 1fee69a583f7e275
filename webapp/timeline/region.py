"""The measured region of a photo: the patient picks where its marks and colour are measured
(writes, apart from the timeline's read path).

The choice holds for the area: a region drawn on a photo aligned to its area's reference is
carried onto the other photos aligned to the same reference (compare.between), and they are
measured again too, so the curves follow the same skin. Photos not aligned keep their own region.
"""

from __future__ import annotations

from typing import Any

from .. import imaging, records
from ..extensions import db
from ..imaging import alignment
from ..models import Entry, Photo, User
from ..storage import PhotoStore, StorageError
from . import compare


def live_photo(user: User, photo_uuid: str) -> Photo | None:
    """`user`'s photo, unless it or its entry is deleted."""
    photo = records.owned(Photo, user, photo_uuid)
    if photo is None or photo.entry.deleted_at is not None:
        return None
    return photo


def remeasure_area(photo: Photo, region: imaging.Region | None, store: PhotoStore) -> int:
    """Measure `photo` in `region` (None: the defaults, the centre for colour and the whole frame
    for marks), then every other live photo of its area aligned with it, in the same region
    mapped onto each. Returns how many others were measured again. Raises ValueError for a bad
    region, KeyError or imaging.ImageRejected when `photo`'s own image cannot be read; another
    photo whose image cannot be read, or outside which the region falls, is left as it was.
    The pixels are read and measured before the patient's lock is taken (_write)."""
    box = None if region is None else imaging.validate_region(region)
    measured = [(photo, _measure(photo, box, store))]
    for other in _area_photos(photo):
        matrix = compare.between((photo.uuid, photo.alignment), (other.uuid, other.alignment))
        if matrix is None:
            continue
        mapped = None if box is None else alignment.map_region(box, matrix)
        if box is not None and mapped is None:
            continue
        try:
            measured.append((other, _measure(other, mapped, store)))
        except (KeyError, StorageError, imaging.ImageRejected):
            continue
    written = _write(photo.user_id, measured)
    return sum(1 for row in written if row is not photo)


def carry_region_to(photo: Photo, store: PhotoStore) -> bool:
    """Measure a newly aligned photo in the region the patient chose for its area, if any: the
    region of the area's aligned photo measured last in a chosen region, mapped onto this one.
    True when it was measured again; False when there is no such region, it falls outside this
    photo, or this photo's image cannot be read (its measures at ingest stay)."""
    chosen = []
    for other in _area_photos(photo):
        matrix = compare.between((other.uuid, other.alignment), (photo.uuid, photo.alignment))
        if other.region is not None and matrix is not None:
            chosen.append((other.updated_at, other.id, other.region, matrix))
    if not chosen:
        return False
    *_, region, matrix = max(chosen)
    mapped = alignment.map_region(imaging.validate_region(region), matrix)
    if mapped is None:
        return False
    try:
        values = _measure(photo, mapped, store)
    except (KeyError, StorageError, imaging.ImageRejected):
        return False
    return bool(_write(photo.user_id, [(photo, values)]))


def _write(user_id: int, measured: list[tuple[Photo, dict[str, Any]]]) -> list[Photo]:
    """Store each photo's new measures under the patient's lock, with a change number each (the
    photos' JSON carries their measures), skipping photos deleted meanwhile; those written."""
    first = records.claim_changes(user_id, len(measured))
    written = []
    for offset, (row, values) in enumerate(measured):
        db.session.refresh(row)  # as committed now, under the lock
        if row.deleted_at is not None:
            continue
        for name, value in values.items():
            setattr(row, name, value)
        row.change_seq = first + offset
        written.append(row)
    db.session.commit()
    return written


def _measure(photo: Photo, box: imaging.Region | None, store: PhotoStore) -> dict[str, Any]:
    """The photo's measures in `box`, as its columns: colour on the full rendition (as the
    region was always measured), marks on the analysis copy of the display rendition (as ingest
    measures them)."""
    colour = imaging.colour_metrics(store.read(photo.rendition_key("full")), box)
    copy = imaging.analysis_copy(store.read(photo.rendition_key("display")))
    return {
        "region": None if box is None else [round(value, 4) for value in box],
        "lab_l": colour.l_star,
        "lab_a": colour.a_star,
        "lab_b": colour.b_star,
        "ita_deg": colour.ita_deg,
        "marks": imaging.measure_marks(copy, box).as_dict(),
    }


def _area_photos(photo: Photo) -> list[Photo]:
    """The owner's other live photos of `photo`'s area (a reference may have no record of its
    own: compare.between knows it by the others')."""
    query = (
        db.select(Photo)
        .join(Entry, Entry.id == Photo.entry_id)
        .where(
            Photo.user_id == photo.user_id,
            Photo.area == photo.area,
            Photo.id != photo.id,
            Photo.deleted_at.is_(None),
            Entry.deleted_at.is_(None),
        )
        .order_by(Photo.id)
    )
    return list(db.session.execute(query).scalars())
