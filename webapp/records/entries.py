"""A patient's daily entries and treatment sessions: reading them, and writing them by UUID with
last writer wins (the rules are in records.sync)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import Entry, TreatmentSession, User, utcnow
from ..storage import PhotoStore
from ..validation import EntryData, SessionData
from ..vocabulary import RATINGS
from .alignment import ensure_reference
from .photos import live_photos, remove_bytes, tombstone_photo
from .sync import claim_changes, commit_or_uuid_taken, locked_version, stamp, write_stamp


class DateTaken(Exception):
    """Another live entry already holds this date; the client should merge into it."""

    def __init__(self, existing: Entry) -> None:
        super().__init__(f"an entry for {existing.date} exists")
        self.existing = existing


@dataclass
class SaveResult:
    """The stored version (newer than the one sent, if that was older) and whether it is new."""

    row: Entry | TreatmentSession
    created: bool


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


def recent_entries(user: User, since: date) -> list[Entry]:
    """Live entries dated `since` or later, oldest first, with their photos (no N+1)."""
    return list(
        db.session.execute(
            db.select(Entry)
            .where(Entry.user_id == user.id, Entry.deleted_at.is_(None), Entry.date >= since)
            .options(selectinload(Entry.photos))
            .order_by(Entry.date)
        ).scalars()
    )


def entry_on(user: User, entry_date: date) -> Entry | None:
    return db.session.execute(
        db.select(Entry).where(
            Entry.user_id == user.id, Entry.date == entry_date, Entry.deleted_at.is_(None)
        )
    ).scalar_one_or_none()


def save_entry(user: User, entry_uuid: str, data: EntryData) -> SaveResult:
    """Create or update an entry by UUID, last writer wins. Raises DateTaken or UuidTaken."""
    change = claim_changes(user.id)
    entry = locked_version(Entry, user, entry_uuid)
    client_stamp = write_stamp(data.client_updated_at, entry)
    if entry is not None and client_stamp < entry.client_updated_at:
        db.session.rollback()
        return SaveResult(entry, created=False)
    clash = entry_on(user, data.date)
    if clash is not None and clash.uuid != entry_uuid:
        db.session.rollback()
        raise DateTaken(clash)
    created = entry is None
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
    stamp(entry, client_stamp, change)
    entry.deleted_at = None  # a newer write brings a deleted entry back
    commit_or_uuid_taken(entry_uuid)
    return SaveResult(entry, created=created)


def save_session(user: User, session_uuid: str, data: SessionData) -> SaveResult:
    """Create or update a treatment session by UUID, last writer wins. Raises UuidTaken."""
    change = claim_changes(user.id)
    session = locked_version(TreatmentSession, user, session_uuid)
    client_stamp = write_stamp(data.client_updated_at, session)
    if session is not None and client_stamp < session.client_updated_at:
        db.session.rollback()
        return SaveResult(session, created=False)
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
    stamp(session, client_stamp, change)
    session.deleted_at = None
    commit_or_uuid_taken(session_uuid)
    return SaveResult(session, created=created)


def delete_row(
    row: Entry | TreatmentSession, store: PhotoStore, requested: datetime | None = None
) -> bool:
    """Tombstone a session or an entry (and the entry's photos), erasing their content: a
    tombstone keeps only its id, date and stamps. False if a newer edit wins."""
    user = db.session.get(User, row.user_id)
    change = claim_changes(row.user_id)
    row = locked_version(type(row), user, row.uuid)
    client_stamp = write_stamp(requested, row)
    if client_stamp < row.client_updated_at:
        db.session.rollback()
        return False
    photos = live_photos(row) if isinstance(row, Entry) else []
    now = utcnow()
    _erase_content(row)
    row.deleted_at = row.deleted_at or now
    stamp(row, client_stamp, change)
    if photos:
        # Still under the lock: the numbers right after `change`.
        first = claim_changes(user.id, len(photos))
        for offset, photo in enumerate(photos):
            tombstone_photo(photo, now, first + offset)
    db.session.commit()
    for photo in photos:
        remove_bytes(store, photo)
    for area in sorted({photo.area for photo in photos}):  # a reference may have gone with them
        ensure_reference(user, area, store)
    return True


def _erase_content(row: Entry | TreatmentSession) -> None:
    if isinstance(row, Entry):
        for name in RATINGS:
            setattr(row, name, None)
        row.pie_severity = row.pih_severity = None
        row.red_flags, row.aftercare = [], []
    else:
        row.device = row.needle_depth_mm = None
        row.areas, row.topicals = [], []
        row.provider = ""
    row.notes = ""
