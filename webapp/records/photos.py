"""A patient's photos: stored once per client-made UUID, bytes before the row, and tombstoned
without their bytes or their measures of the skin."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.exc import IntegrityError

from .. import imaging
from ..extensions import db
from ..models import Entry, Photo, User, utcnow
from ..storage import PhotoStore, StorageError, new_key
from ..vocabulary import MAX_PHOTOS_PER_ENTRY
from .alignment import REFERENCE_ALIGNMENT, align_new_photo, ensure_reference
from .sync import UuidTaken, claim_changes

log = logging.getLogger(__name__)


class TooManyPhotos(Exception):
    pass


def add_photo(
    user: User, entry: Entry, photo_uuid: str, area: str, upload: bytes, store: PhotoStore
) -> tuple[Photo, bool]:
    """Store a photo once. A replay of the same UUID returns the stored photo, never a copy.

    Raises imaging.ImageRejected for bad bytes, TooManyPhotos, UuidTaken.
    """
    existing = _photo_with_uuid(photo_uuid)
    if existing is not None:
        return _replayed(existing, user, entry), False
    # An early answer for a full entry, before the costly ingest. It is not the decision: another
    # upload can take the last slot meanwhile, so the cap is checked again under the patient's lock.
    if len(entry.photos) >= MAX_PHOTOS_PER_ENTRY:
        raise TooManyPhotos()
    ingested = imaging.ingest_photo(upload)
    key = new_key()
    # Bytes first, row second: a row must never name bytes that are not there. If the process dies
    # in between, or the commit fails, housekeeping.sweep_photos removes the unnamed bytes later.
    for name, rendition in ingested.renditions.items():
        store.put(f"{key}/{name}.jpg", rendition.data, imaging.CONTENT_TYPE)
    photo = _photo_row(user, entry, photo_uuid, area, key, ingested)
    # Before the lock: it may read the area's reference photo from the store.
    photo.alignment = align_new_photo(photo, ingested.grey, store)
    try:
        photo.change_seq = claim_changes(user.id)
        # Under the patient's lock, in this order: a replay of this very upload that won while we
        # ingested is answered as a replay (it is not a seventh photo), then the cap decides.
        winner = _photo_with_uuid(photo_uuid)
        if winner is None:
            if _live_photo_count(entry) >= MAX_PHOTOS_PER_ENTRY:
                raise TooManyPhotos()
            db.session.add(photo)
            db.session.commit()
            db.session.expire(entry, ["photos"])
            if photo.alignment == REFERENCE_ALIGNMENT:
                # Two first photos of an area added at once each became its reference: keep one.
                ensure_reference(user, area, store)
            return photo, True
    except TooManyPhotos:
        db.session.rollback()  # releases the patient's lock
        _drop_bytes(store, key)
        raise
    except IntegrityError:
        # The same UUID committed by another user, whose lock is not ours: keep the first.
        winner = None
    db.session.rollback()
    _drop_bytes(store, key)
    winner = winner or _photo_with_uuid(photo_uuid)
    if winner is None:
        raise UuidTaken(photo_uuid)
    return _replayed(winner, user, entry), False


def _photo_row(
    user: User, entry: Entry, photo_uuid: str, area: str, key: str, ingested: imaging.IngestedPhoto
) -> Photo:
    return Photo(
        uuid=photo_uuid,
        user_id=user.id,
        entry_id=entry.id,
        area=area,
        storage_key=key,
        width=ingested.width,
        height=ingested.height,
        byte_size=len(ingested.renditions["full"].data),
        sha256=ingested.sha256,
        taken_at=ingested.taken_at if user.keep_photo_times else None,
        lab_l=ingested.colour.l_star,
        lab_a=ingested.colour.a_star,
        lab_b=ingested.colour.b_star,
        ita_deg=ingested.colour.ita_deg,
        quality=ingested.quality.as_dict(),
        marks=ingested.marks.as_dict(),
    )


def _photo_with_uuid(photo_uuid: str) -> Photo | None:
    # Not scoped to the user: a UUID is unique across all users, and _replayed tells them apart.
    return db.session.execute(db.select(Photo).where(Photo.uuid == photo_uuid)).scalar_one_or_none()


def _replayed(existing: Photo, user: User, entry: Entry) -> Photo:
    """The stored photo a replayed upload gets back; UuidTaken if the UUID is not this one's."""
    if existing.user_id != user.id or existing.entry_id != entry.id:
        raise UuidTaken(existing.uuid)
    return existing


def live_photos(entry: Entry) -> list[Photo]:
    return list(
        db.session.execute(
            db.select(Photo).where(Photo.entry_id == entry.id, Photo.deleted_at.is_(None))
        ).scalars()
    )


def _live_photo_count(entry: Entry) -> int:
    # A query, not len(entry.photos): the relationship was loaded before the lock was taken.
    return db.session.execute(
        db.select(db.func.count())
        .select_from(Photo)
        .where(Photo.entry_id == entry.id, Photo.deleted_at.is_(None))
    ).scalar_one()


def delete_photo(photo: Photo, store: PhotoStore) -> None:
    tombstone_photo(photo, utcnow(), claim_changes(photo.user_id))
    db.session.commit()
    remove_bytes(store, photo)
    # It may have been its area's reference: the others then align to the next fit.
    ensure_reference(db.session.get(User, photo.user_id), photo.area, store)


def tombstone_photo(photo: Photo, now: datetime, change: int) -> None:
    """A deleted photo keeps no measure of the skin: its bytes go, and so do its numbers."""
    photo.deleted_at = photo.deleted_at or now
    photo.lab_l = photo.lab_a = photo.lab_b = photo.ita_deg = None
    photo.region = photo.taken_at = photo.quality = photo.marks = photo.alignment = None
    photo.change_seq = change
    photo.updated_at = now


def remove_bytes(store: PhotoStore, photo: Photo) -> None:
    # The tombstone row is what devices sync; the pixels of a deleted photo must not linger.
    _drop_bytes(store, photo.storage_key)


def _drop_bytes(store: PhotoStore, key: str) -> None:
    """Delete a photo's renditions, best effort: the row's fate is already decided.

    If the store is down the bytes stay; no row needs them, so `flask photos sweep`
    (housekeeping.sweep_photos) removes them on a later run.
    """
    try:
        store.delete_prefix(key)
    except Exception:
        log.exception("could not delete photo bytes under %s; the sweep will retry", key)


def measure_unmeasured_photos(store: PhotoStore) -> int:
    """Grade and map the marks of every live photo stored before photos were (quality None),
    from its display rendition, within the region its patient chose; the number measured.

    For `flask photos measure`. Each patient's photos are measured before their lock is taken,
    then written under it with a change number each, so their phones hear of the new measures.
    A photo whose bytes cannot be read keeps None and is counted out.
    """
    rows = db.session.execute(
        db.select(Photo).where(Photo.deleted_at.is_(None), Photo.quality.is_(None))
    ).scalars()
    by_user: dict[int, list[tuple[Photo, imaging.PhotoQuality, imaging.MarkMetrics]]] = {}
    for photo in rows:
        try:
            copy = imaging.analysis_copy(store.read(photo.rendition_key("display")))
        except (KeyError, StorageError, imaging.ImageRejected):
            log.warning("photo %s could not be read to measure it", photo.id)
            continue
        box = None if photo.region is None else imaging.validate_region(photo.region)
        measures = (imaging.assess_quality(copy), imaging.measure_marks(copy, box))
        by_user.setdefault(photo.user_id, []).append((photo, *measures))
    measured = 0
    for user_id, photos in by_user.items():
        first = claim_changes(user_id, len(photos))
        for offset, (photo, quality, marks) in enumerate(photos):
            db.session.refresh(photo)  # as committed now, under the lock
            if photo.deleted_at is not None:
                continue
            photo.quality, photo.marks = quality.as_dict(), marks.as_dict()
            photo.change_seq = first + offset
            measured += 1
        db.session.commit()
    return measured
