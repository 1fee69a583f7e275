"""The timeline's read step: one patient's live rows, in four queries whatever the history's length
(sessions, entries, photos, the days with warning signs; three when photos are left out). Only
the columns a view shows: a two-year history has thousands of photos, and each JSON column (the
region, the warning signs) costs a decode per row even when it is null or empty; a photo's
quality, marks and alignment, which the curves and the strips' badges need, are read as one.
What the rows mean is worked out in align.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, NamedTuple

import sqlalchemy as sa

from ..extensions import db
from ..models import Entry, Photo, TreatmentSession, User
from ..records import user_today


class SessionRow(NamedTuple):
    uuid: str
    date: date
    device: str
    needle_depth_mm: float
    areas: list[str] | None


class EntryRow(NamedTuple):
    id: int
    date: date
    redness: float | None
    swelling: float | None
    pie_severity: float | None
    pih_severity: float | None


class PhotoRow(NamedTuple):
    """A photo's columns. No date: its entry's (saves decoding a date per photo)."""

    uuid: str
    area: str
    entry_id: int
    width: int
    height: int
    storage_key: str
    lab_a: float | None
    ita_deg: float | None
    measures: str  # its quality, marks and alignment as one JSON array: [{...} | null, ...]


@dataclass(frozen=True)
class History:
    """One patient's rows as read. Entries and photos are database rows shaped like EntryRow and
    PhotoRow, not converted: a two-year history has thousands."""

    today: date  # in the patient's time zone
    sessions: list[SessionRow]  # every live session (numbering needs them all), oldest first
    entries: Sequence[EntryRow]  # the live entries within the range, oldest first
    photos: Sequence[PhotoRow]  # the live photos of live entries within the range, by id
    flagged: Sequence[tuple[date, list[str]]] = ()  # the entries reporting warning signs, by date


def read_history(
    user: User, *, date_from: date | None, date_to: date | None, include_photos: bool
) -> History:
    today, sessions = user_today(user), _sessions(user)
    entries = _rows(
        _within(_entry_query(user), Entry.date, date_from, date_to).order_by(Entry.date)
    )
    photos = []
    if include_photos:
        # Ordered by id alone, the rows come straight off the index; ordering by the entry's
        # date in SQL would sort every row's payload in a temporary B-tree, a third of this
        # query's time. align.py sorts each area's photos by date instead.
        query = _within(_photo_query(user), Entry.date, date_from, date_to).order_by(Photo.id)
        photos = _rows(query)
    return History(today, sessions, entries, photos, _flagged(user, date_from, date_to))


def _flagged(
    user: User, date_from: date | None, date_to: date | None
) -> list[tuple[date, list[str]]]:
    """The days with warning signs: only those rows, so only their JSON is decoded."""
    query = sa.select(Entry.date, Entry.red_flags).where(
        Entry.user_id == user.id,
        Entry.deleted_at.is_(None),
        sa.cast(Entry.red_flags, sa.Text).not_in(["[]", "null"]),
    )
    rows = db.session.execute(_within(query, Entry.date, date_from, date_to).order_by(Entry.date))
    return [(day, list(flags or ())) for day, flags in rows]


def _sessions(user: User) -> list[SessionRow]:
    query = (
        sa.select(
            TreatmentSession.uuid,
            TreatmentSession.date,
            TreatmentSession.device,
            TreatmentSession.needle_depth_mm,
            TreatmentSession.areas,
        )
        .where(TreatmentSession.user_id == user.id, TreatmentSession.deleted_at.is_(None))
        .order_by(TreatmentSession.date, TreatmentSession.id)
    )
    return [SessionRow(*row) for row in db.session.execute(query)]


def _entry_query(user: User) -> sa.Select:
    return sa.select(
        Entry.id, Entry.date, Entry.redness, Entry.swelling, Entry.pie_severity, Entry.pih_severity
    ).where(Entry.user_id == user.id, Entry.deleted_at.is_(None))


def _photo_query(user: User) -> sa.Select:
    return (
        sa.select(
            Photo.uuid,
            Photo.area,
            Photo.entry_id,
            Photo.width,
            Photo.height,
            Photo.storage_key,
            Photo.lab_a,
            Photo.ita_deg,
            _measures(),
        )
        .join(Entry, Entry.id == Photo.entry_id)
        .where(
            Photo.user_id == user.id,
            Entry.user_id == user.id,
            Photo.deleted_at.is_(None),
            Entry.deleted_at.is_(None),
        )
    )


def _measures() -> sa.ColumnElement[str]:
    """A photo's quality, marks and alignment as the text of one JSON array, put together in
    SQL: one decode per photo instead of three (a two-year history has 1,460 photos, and their
    decoding was half the page's time)."""
    parts = [
        sa.func.coalesce(sa.cast(column, sa.Text), "null")
        for column in (Photo.quality, Photo.marks, Photo.alignment)
    ]
    return sa.literal("[") + parts[0] + "," + parts[1] + "," + parts[2] + "]"


def _rows(query: sa.Select) -> Sequence[Any]:
    # .all() on the connection fetches in one call, without the ORM's per-row wrapping.
    return db.session.connection().execute(query).all()


def _within(query: sa.Select, column: Any, date_from: date | None, date_to: date | None):
    if date_from is not None:
        query = query.where(column >= date_from)
    if date_to is not None:
        query = query.where(column <= date_to)
    return query
