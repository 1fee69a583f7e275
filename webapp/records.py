"""Reading and writing a patient's records: the rules shared by the HTML pages and the sync API.

Every query here takes the owner and is scoped to them; a row of another user is simply not found.
Writes are idempotent by the client-made UUID and settle conflicts by last writer wins on
`client_updated_at`, so a replayed or late upload never duplicates or clobbers newer data.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from . import imaging
from .extensions import db
from .models import Entry, Photo, TreatmentSession, User, utcnow
from .storage import PhotoStore, new_key
from .validation import EntryData, SessionData
from .vocabulary import MAX_PHOTOS_PER_ENTRY, RATINGS

log = logging.getLogger(__name__)

SyncedRow = TypeVar("SyncedRow", Entry, TreatmentSession, Photo)

# The earliest timezone on Earth: a date that has not begun anywhere is in the future for everyone.
EARLIEST_TIMEZONE = timezone(timedelta(hours=14))


class DateTaken(Exception):
    """Another live entry already holds this date; the client should merge into it."""

    def __init__(self, existing: Entry) -> None:
        super().__init__(f"an entry for {existing.date} exists")
        self.existing = existing


class UuidTaken(Exception):
    """The UUID exists but is not this user's (or not this kind of row): answer 404."""


class TooManyPhotos(Exception):
    pass


@dataclass
class SaveResult:
    row: Entry | TreatmentSession
    created: bool
    applied: bool  # False when a newer version was already stored (last writer wins)


def user_today(user: User) -> date:
    try:
        zone = ZoneInfo(user.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return datetime.now(zone).date()


def latest_allowed_date() -> date:
    """For clients in any timezone (the API): today where the day starts first."""
    return datetime.now(EARLIEST_TIMEZONE).date()


def owned(model: type[SyncedRow], user: User, row_uuid: str, *, include_deleted: bool = False):
    """The user's row with this UUID, or None (also when another user owns it)."""
    query = db.select(model).where(model.user_id == user.id, model.uuid == row_uuid)
    if not include_deleted:
        query = query.where(model.deleted_at.is_(None))
    return db.session.execute(query).scalar_one_or_none()


def _uuid_used_elsewhere(model: type[SyncedRow], user: User, row_uuid: str) -> bool:
    other = db.session.execute(
        db.select(model.id).where(model.uuid == row_uuid, model.user_id != user.id)
    ).first()
    return other is not None


def live_sessions(user: User) -> list[TreatmentSession]:
    return list(
        db.session.execute(
            db.select(TreatmentSession)
            .where(TreatmentSession.user_id == user.id, TreatmentSession.deleted_at.is_(None))
            .order_by(TreatmentSession.date, TreatmentSession.id)
        ).scalars()
    )


def entries_with_photos(user: User) -> list[Entry]:
    """All live entries, newest first, photos loaded in one more query (no N+1)."""
    return list(
        db.session.execute(
            db.select(Entry)
            .where(Entry.user_id == user.id, Entry.deleted_at.is_(None))
            .options(selectinload(Entry.photos))
            .order_by(Entry.date.desc())
        ).scalars()
    )


def entry_on(user: User, entry_date: date) -> Entry | None:
    return db.session.execute(
        db.select(Entry).where(
            Entry.user_id == user.id, Entry.date == entry_date, Entry.deleted_at.is_(None)
        )
    ).scalar_one_or_none()


def save_entry(user: User, entry_uuid: str, data: EntryData) -> SaveResult:
    """Create or update an entry by UUID. Raises DateTaken or UuidTaken."""
    entry = owned(Entry, user, entry_uuid, include_deleted=True)
    if entry is None and _uuid_used_elsewhere(Entry, user, entry_uuid):
        raise UuidTaken(entry_uuid)
    stamp = data.client_updated_at or utcnow()
    created = entry is None
    if entry is not None and stamp < entry.client_updated_at:
        return SaveResult(entry, created=False, applied=False)
    clash = entry_on(user, data.date)
    if clash is not None and clash.uuid != entry_uuid:
        raise DateTaken(clash)
    if entry is None:
        entry = Entry(uuid=entry_uuid, user_id=user.id)
        db.session.add(entry)
    entry.date = data.date
    for name in RATINGS:
        setattr(entry, name, data.ratings.get(name))
    entry.pie_severity = data.pie_severity
    entry.pih_severity = data.pih_severity
    entry.red_flags = data.red_flags
    entry.aftercare = data.aftercare
    entry.notes = data.notes
    entry.client_updated_at = stamp
    entry.deleted_at = None  # a newer write brings a deleted entry back
    entry.updated_at = utcnow()
    try:
        db.session.commit()
    except IntegrityError:
        # A concurrent request won the race for this date or this UUID.
        db.session.rollback()
        clash = entry_on(user, data.date)
        if clash is not None and clash.uuid != entry_uuid:
            raise DateTaken(clash) from None
        return save_entry(user, entry_uuid, data)
    return SaveResult(entry, created=created, applied=True)


def save_session(user: User, session_uuid: str, data: SessionData) -> SaveResult:
    """Create or update a treatment session by UUID. Raises UuidTaken."""
    session = owned(TreatmentSession, user, session_uuid, include_deleted=True)
    if session is None and _uuid_used_elsewhere(TreatmentSession, user, session_uuid):
        raise UuidTaken(session_uuid)
    stamp = data.client_updated_at or utcnow()
    created = session is None
    if session is not None and stamp < session.client_updated_at:
        return SaveResult(session, created=False, applied=False)
    if session is None:
        session = TreatmentSession(uuid=session_uuid, user_id=user.id)
        db.session.add(session)
    session.date = data.date
    session.device = data.device
    session.needle_depth_mm = data.needle_depth_mm
    session.areas = data.areas
    session.topicals = data.topicals
    session.setting = data.setting
    session.provider = data.provider
    session.notes = data.notes
    session.client_updated_at = stamp
    session.deleted_at = None
    session.updated_at = utcnow()
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return save_session(user, session_uuid, data)
    return SaveResult(session, created=created, applied=True)


def delete_row(
    row: Entry | TreatmentSession, store: PhotoStore, stamp: datetime | None = None
) -> bool:
    """Tombstone a session or an entry (and the entry's photos). False if a newer edit wins."""
    stamp = stamp or utcnow()
    if stamp < row.client_updated_at:
        return False
    now = utcnow()
    row.deleted_at = row.deleted_at or now
    row.client_updated_at = stamp
    row.updated_at = now
    photos: list[Photo] = []
    if isinstance(row, Entry):
        photos = list(row.photos)
        for photo in photos:
            photo.deleted_at = now
            photo.updated_at = now
    db.session.commit()
    for photo in photos:
        _remove_bytes(store, photo)
    return True


def add_photo(
    user: User, entry: Entry, photo_uuid: str, area: str, upload: bytes, store: PhotoStore
) -> tuple[Photo, bool]:
    """Store a photo once. A replay of the same UUID returns the stored photo, never a copy.

    Raises imaging.ImageRejected for bad bytes, TooManyPhotos, UuidTaken.
    """
    existing = db.session.execute(
        db.select(Photo).where(Photo.uuid == photo_uuid)
    ).scalar_one_or_none()
    if existing is not None:
        if existing.user_id != user.id or existing.entry_id != entry.id:
            raise UuidTaken(photo_uuid)
        return existing, False
    if len(entry.photos) >= MAX_PHOTOS_PER_ENTRY:
        raise TooManyPhotos()
    ingested = imaging.ingest_photo(upload)
    key = new_key()
    for name, rendition in ingested.renditions.items():
        store.put(f"{key}/{name}.jpg", rendition.data, imaging.CONTENT_TYPE)
    photo = Photo(
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
    )
    db.session.add(photo)
    try:
        db.session.commit()
    except IntegrityError:
        # The same upload arrived twice at once: keep the first, drop our bytes.
        db.session.rollback()
        store.delete_prefix(key)
        existing = db.session.execute(
            db.select(Photo).where(Photo.uuid == photo_uuid, Photo.user_id == user.id)
        ).scalar_one_or_none()
        if existing is None:
            raise UuidTaken(photo_uuid) from None
        return existing, False
    db.session.expire(entry, ["photos"])
    return photo, True


def delete_photo(photo: Photo, store: PhotoStore) -> None:
    now = utcnow()
    photo.deleted_at = photo.deleted_at or now
    photo.updated_at = now
    db.session.commit()
    _remove_bytes(store, photo)


def _remove_bytes(store: PhotoStore, photo: Photo) -> None:
    # The tombstone row is what devices sync; the pixels of a deleted photo must not linger.
    try:
        store.delete_prefix(photo.storage_key)
    except Exception:  # storage down: the row is tombstoned, a later cleanup can retry
        log.exception("could not delete photo bytes for %s", photo.uuid)
