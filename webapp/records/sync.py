"""The rules every write of a synced row follows: scoped to its owner, one patient's writes at a
time under their lock, numbered in commit order, and last writer wins on `client_updated_at`."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import Entry, Photo, TreatmentSession, User, utcnow

SyncedRow = TypeVar("SyncedRow", Entry, TreatmentSession, Photo)

# The earliest timezone on Earth: a date that has not begun anywhere is in the future for everyone.
EARLIEST_TIMEZONE = timezone(timedelta(hours=14))


class UuidTaken(Exception):
    """The UUID exists but is not this user's (or not this kind of row): answer 404."""


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


def locked_version(model: type[SyncedRow], user: User, row_uuid: str) -> SyncedRow | None:
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


def write_stamp(requested: datetime | None, stored: SyncedRow | None) -> datetime:
    """The client's stamp, or for a write the server stamps itself (an HTML form) now, but never
    older than the stored version: a form the patient submits now always applies."""
    if requested is not None:
        return requested
    now = utcnow()
    return max(now, stored.client_updated_at) if stored is not None else now


def stamp(row: Entry | TreatmentSession | Photo, client_stamp: datetime, change: int) -> None:
    row.client_updated_at = client_stamp
    row.change_seq = change
    row.updated_at = utcnow()


def commit_or_uuid_taken(row_uuid: str) -> None:
    """Commit a write made under the patient's lock. The one conflict left is a UUID that another
    patient committed meanwhile (their lock is not ours): the same answer as any foreign UUID."""
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise UuidTaken(row_uuid) from None
