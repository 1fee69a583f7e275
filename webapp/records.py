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
from sqlalchemy.orm import joinedload, selectinload

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


def claim_changes(user_id: int, count: int = 1) -> int:
    """Take the patient's write lock and the next `count` numbers of their change sequence;
    returns the first. Every write of a synced row calls this first, in its transaction.

    The UPDATE holds the patient's row lock until commit or rollback (PostgreSQL makes a second
    writer wait for it; SQLite's write lock is database-wide), so one patient's writes run one at
    a time. That makes two things true by construction:

    * read-compare-write (last writer wins) cannot interleave with another write of the patient;
    * change numbers commit in the order they were taken, so a reader who has seen number N
      committed has seen everything before N: /changes can never skip a row (changes_since).

    A patient writes a few times a day: serialising them costs nothing anyone would notice.
    """
    last = db.session.execute(
        db.update(User)
        .where(User.id == user_id)
        .values(change_seq=User.change_seq + count)
        .returning(User.change_seq),
        execution_options={"synchronize_session": False},
    ).scalar_one()
    return last - count + 1


def _locked_version(model: type[SyncedRow], user: User, row_uuid: str) -> SyncedRow | None:
    """The user's row with this UUID as committed now, tombstones included (a newer write brings
    one back). Call under claim_changes: the row cannot change until this transaction ends.

    Raises UuidTaken (after rolling back) when the UUID belongs to another user's row.
    """
    row = db.session.execute(
        db.select(model)
        .where(model.user_id == user.id, model.uuid == row_uuid)
        .execution_options(populate_existing=True)  # not a copy read before the lock
    ).scalar_one_or_none()
    if row is None and _uuid_used_elsewhere(model, user, row_uuid):
        db.session.rollback()
        raise UuidTaken(row_uuid)
    return row


def _write_stamp(requested: datetime | None, stored: SyncedRow | None) -> datetime:
    """The client's stamp, or for a write the server stamps itself (an HTML form) now, but never
    older than the stored version: a form the patient submits now always applies."""
    if requested is not None:
        return requested
    now = utcnow()
    return max(now, stored.client_updated_at) if stored is not None else now


def save_entry(user: User, entry_uuid: str, data: EntryData) -> SaveResult:
    """Create or update an entry by UUID, last writer wins. Raises DateTaken or UuidTaken."""
    change = claim_changes(user.id)
    entry = _locked_version(Entry, user, entry_uuid)
    stamp = _write_stamp(data.client_updated_at, entry)
    if entry is not None and stamp < entry.client_updated_at:
        db.session.rollback()
        return SaveResult(entry, created=False, applied=False)
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
    _stamp(entry, stamp, change)
    entry.deleted_at = None  # a newer write brings a deleted entry back
    _commit_or_uuid_taken(entry_uuid)
    return SaveResult(entry, created=created, applied=True)


def save_session(user: User, session_uuid: str, data: SessionData) -> SaveResult:
    """Create or update a treatment session by UUID, last writer wins. Raises UuidTaken."""
    change = claim_changes(user.id)
    session = _locked_version(TreatmentSession, user, session_uuid)
    stamp = _write_stamp(data.client_updated_at, session)
    if session is not None and stamp < session.client_updated_at:
        db.session.rollback()
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
    _stamp(session, stamp, change)
    session.deleted_at = None
    _commit_or_uuid_taken(session_uuid)
    return SaveResult(session, created=created, applied=True)


def _stamp(row: Entry | TreatmentSession | Photo, stamp: datetime, change: int) -> None:
    row.client_updated_at = stamp
    row.change_seq = change
    row.updated_at = utcnow()


def _commit_or_uuid_taken(row_uuid: str) -> None:
    """Commit a write made under the patient's lock. The one conflict left is a UUID that another
    patient committed meanwhile (their lock is not ours): the same answer as any foreign UUID."""
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise UuidTaken(row_uuid) from None


def delete_row(
    row: Entry | TreatmentSession, store: PhotoStore, stamp: datetime | None = None
) -> bool:
    """Tombstone a session or an entry (and the entry's photos), erasing their content: a
    tombstone keeps only its id, date and stamps. False if a newer edit wins."""
    user = db.session.get(User, row.user_id)
    change = claim_changes(row.user_id)
    row = _locked_version(type(row), user, row.uuid)
    stamp = _write_stamp(stamp, row)
    if stamp < row.client_updated_at:
        db.session.rollback()
        return False
    photos = _live_photos(row) if isinstance(row, Entry) else []
    now = utcnow()
    _erase_content(row)
    row.deleted_at = row.deleted_at or now
    _stamp(row, stamp, change)
    if photos:
        first = claim_changes(
            user.id, len(photos)
        )  # still under the lock: the numbers after `change`
        for offset, photo in enumerate(photos):
            _tombstone_photo(photo, now, first + offset)
    db.session.commit()
    for photo in photos:
        _remove_bytes(store, photo)
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


def _tombstone_photo(photo: Photo, now: datetime, change: int) -> None:
    """A deleted photo keeps no measure of the skin: its bytes go, and so do its numbers."""
    photo.deleted_at = photo.deleted_at or now
    photo.lab_l = photo.lab_a = photo.lab_b = photo.ita_deg = None
    photo.region = photo.taken_at = None
    photo.change_seq = change
    photo.updated_at = now


@dataclass
class Changes:
    """One page of a patient's changes, oldest first, and the cursor to ask from next."""

    sessions: list[TreatmentSession]
    entries: list[Entry]
    photos: list[Photo]
    cursor: int
    more: bool


def changes_since(user: User, cursor: int, page_size: int) -> Changes:
    """The user's rows written after change number `cursor`, tombstones included.

    Correct in commit order by construction (claim_changes): first read the patient's last
    committed change number; every row numbered up to it has committed, and nothing numbered
    later can commit below it. So the answer holds every row in (cursor, last]; a row rewritten
    meanwhile has a newer number and comes with a later call. A page holds at most `page_size`
    rows in all: the cut falls after the page_size-th number, and every kind was read up to it
    (a kind that filled its own page reached at least that far).
    """
    last = db.session.execute(db.select(User.change_seq).where(User.id == user.id)).scalar_one()
    fetched: list[Entry | TreatmentSession | Photo] = []
    more = False
    for model in (TreatmentSession, Entry, Photo):
        query = (
            db.select(model)
            .where(model.user_id == user.id, model.change_seq > cursor, model.change_seq <= last)
            .order_by(model.change_seq)
            .limit(page_size)
        )
        if model is Entry:
            query = query.options(selectinload(Entry.photos))
        if model is Photo:
            query = query.options(joinedload(Photo.entry))
        rows = list(db.session.execute(query).scalars())
        more = more or len(rows) == page_size  # this kind may have more after its page
        fetched.extend(rows)
    fetched.sort(key=lambda row: row.change_seq)
    more = more or len(fetched) > page_size
    page = fetched[:page_size]
    return Changes(
        sessions=[row for row in page if isinstance(row, TreatmentSession)],
        entries=[row for row in page if isinstance(row, Entry)],
        photos=[row for row in page if isinstance(row, Photo)],
        # Past the end, `last`: a cursor from beyond it (a restored database) heals itself.
        cursor=page[-1].change_seq if more else last,
        more=more,
    )


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


def _photo_with_uuid(photo_uuid: str) -> Photo | None:
    # Not scoped to the user: a UUID is unique across all users, and _replayed tells them apart.
    return db.session.execute(db.select(Photo).where(Photo.uuid == photo_uuid)).scalar_one_or_none()


def _replayed(existing: Photo, user: User, entry: Entry) -> Photo:
    """The stored photo a replayed upload gets back; UuidTaken if the UUID is not this one's."""
    if existing.user_id != user.id or existing.entry_id != entry.id:
        raise UuidTaken(existing.uuid)
    return existing


def _live_photos(entry: Entry) -> list[Photo]:
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
    _tombstone_photo(photo, utcnow(), claim_changes(photo.user_id))
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
