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


def _stored_version(
    model: type[SyncedRow], user: User, row_uuid: str, stamp: datetime
) -> tuple[SyncedRow | None, bool]:
    """The user's row with this UUID, tombstones included (a newer write brings one back), and
    whether a write stamped `stamp` may replace it: last writer wins by client_updated_at.

    Raises UuidTaken when the UUID belongs to another user's row.
    """
    row = owned(model, user, row_uuid, include_deleted=True)
    if row is None:
        if _uuid_used_elsewhere(model, user, row_uuid):
            raise UuidTaken(row_uuid)
        return None, True
    return row, stamp >= row.client_updated_at


def save_entry(user: User, entry_uuid: str, data: EntryData) -> SaveResult:
    """Create or update an entry by UUID. Raises DateTaken or UuidTaken."""
    stamp = data.client_updated_at or utcnow()
    entry, newer = _stored_version(Entry, user, entry_uuid, stamp)
    if entry is not None and not newer:
        return SaveResult(entry, created=False, applied=False)
    created = entry is None
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
    stamp = data.client_updated_at or utcnow()
    session, newer = _stored_version(TreatmentSession, user, session_uuid, stamp)
    if session is not None and not newer:
        return SaveResult(session, created=False, applied=False)
    created = session is None
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
    existing = _photo_with_uuid(photo_uuid)
    if existing is not None:
        return _replayed(existing, user, entry), False
    # An early answer for a full entry, before the costly ingest. It is not the decision: another
    # upload can take the last slot meanwhile, so the cap is checked again under the entry's lock.
    if len(entry.photos) >= MAX_PHOTOS_PER_ENTRY:
        raise TooManyPhotos()
    ingested = imaging.ingest_photo(upload)
    key = new_key()
    # Bytes first, row second: a row must never name bytes that are not there. If the process dies
    # in between, or the commit fails, housekeeping.sweep_photos removes the unnamed bytes later.
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
    try:
        _lock_entry(entry)
        # Under the lock, in this order: a replay of this very upload that won while we ingested
        # is answered as a replay (it is not a seventh photo), then the cap decides.
        winner = _photo_with_uuid(photo_uuid)
        if winner is None:
            if _live_photo_count(entry) >= MAX_PHOTOS_PER_ENTRY:
                raise TooManyPhotos()
            db.session.add(photo)
            db.session.commit()
            db.session.expire(entry, ["photos"])
            return photo, True
    except TooManyPhotos:
        db.session.rollback()  # releases the entry's lock
        _drop_bytes(store, key)
        raise
    except IntegrityError:
        # The same UUID committed by a request that did not need this entry's lock (sent to
        # another entry, or by another user): keep the first.
        winner = None
    db.session.rollback()
    _drop_bytes(store, key)
    winner = winner or _photo_with_uuid(photo_uuid)
    if winner is None:
        raise UuidTaken(photo_uuid)
    return _replayed(winner, user, entry), False


def _photo_with_uuid(photo_uuid: str) -> Photo | None:
    # Not scoped to the user: a UUID is unique across all users, and _replayed tells them apart.
    return db.session.execute(db.select(Photo).where(Photo.uuid == photo_uuid)).scalar_one_or_none()


def _replayed(existing: Photo, user: User, entry: Entry) -> Photo:
    """The stored photo a replayed upload gets back; UuidTaken if the UUID is not this one's."""
    if existing.user_id != user.id or existing.entry_id != entry.id:
        raise UuidTaken(existing.uuid)
    return existing


def _lock_entry(entry: Entry) -> None:
    """Hold the entry's row lock until the transaction ends: photo inserts into one entry then
    run one at a time, so a count taken under it stays true until the commit.

    A plain UPDATE does this on every database: PostgreSQL locks the row and makes a second
    UPDATE wait for the first transaction to end (the count after it, a new statement, then sees
    the other photo), and in SQLite any write takes the database's write lock. SELECT ... FOR
    UPDATE would do on PostgreSQL only: SQLAlchemy leaves it out for SQLite. It writes updated_at
    back unchanged, so the entry does not reappear in the /changes feed.
    """
    db.session.execute(
        db.update(Entry).where(Entry.id == entry.id).values(updated_at=Entry.updated_at),
        execution_options={"synchronize_session": False},
    )


def _live_photo_count(entry: Entry) -> int:
    # A query, not len(entry.photos): the relationship was loaded before the lock was taken.
    return db.session.execute(
        db.select(db.func.count())
        .select_from(Photo)
        .where(Photo.entry_id == entry.id, Photo.deleted_at.is_(None))
    ).scalar_one()


def delete_photo(photo: Photo, store: PhotoStore) -> None:
    now = utcnow()
    photo.deleted_at = photo.deleted_at or now
    photo.updated_at = now
    db.session.commit()
    _remove_bytes(store, photo)


def _remove_bytes(store: PhotoStore, photo: Photo) -> None:
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
