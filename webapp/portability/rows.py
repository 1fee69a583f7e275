"""data.json's rows (docs/export.md), validated by the rules the forms and the sync API follow
(webapp.validation), so an import can never store what the API would refuse. No Flask, no
database. A bad row is refused with a message naming the file, the row and the field:
"data.json: entries[12].ratings.redness: Redness must be from 0 to 10".
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, NoReturn, TypeVar

from ..imaging import validate_region
from ..validation import (
    EARLIEST_DATE,
    ENTRY_ANSWER_ONLY,
    ENTRY_FIELDS,
    SESSION_ANSWER_ONLY,
    SESSION_FIELDS,
    EntryData,
    Invalid,
    SessionData,
    parse_area,
    parse_client_stamp,
    parse_entry,
    parse_session,
    parse_uuid,
)
from ..vocabulary import MAX_PHOTOS_PER_ENTRY, RATINGS
from .archive import DATA_FILE, ArchiveRefused


@dataclass(frozen=True)
class SessionRow:
    where: str  # "sessions[3]": how a message names the row
    uuid: str
    data: SessionData
    created_at: datetime | None


@dataclass(frozen=True)
class EntryRow:
    where: str
    uuid: str
    data: EntryData
    created_at: datetime | None


@dataclass(frozen=True)
class PhotoRow:
    where: str
    uuid: str
    entry_uuid: str
    area: str
    file: str | None  # its path in the archive; None: the exporting server had lost its bytes
    region: list[float] | None
    taken_at: datetime | None  # the camera's local time, naive
    client_updated_at: datetime
    created_at: datetime | None
    # It was its area's reference photo (docs/export.md "alignment"): imported first, it stays one.
    was_reference: bool


@dataclass(frozen=True)
class ReminderRow:
    daily_enabled: bool
    remind_at: time
    photo_days_enabled: bool
    session_due_enabled: bool


@dataclass(frozen=True)
class ExportRows:
    sessions: list[SessionRow]
    entries: list[EntryRow]
    photos: list[PhotoRow]
    reminders: ReminderRow | None


# Keys a row of data.json may carry; others are ignored (docs/export.md: a reader ignores keys
# a later version 1 adds), except a rating misplaced outside "ratings", which validation names.
_SESSION_KEYS = SESSION_FIELDS | SESSION_ANSWER_ONLY
_ENTRY_KEYS = ENTRY_FIELDS | ENTRY_ANSWER_ONLY | frozenset(RATINGS)
Parsed = TypeVar("Parsed", SessionData, EntryData)
_PHOTO_FILE = re.compile(r"photos/[A-Za-z0-9_.-]{1,200}\.jpg\Z")


def parse_rows(data: dict[str, Any], *, latest_date: date, now: datetime) -> ExportRows:
    """Every row data.json asks to import, validated; ArchiveRefused naming the first bad row
    ("data.json: entries[12].ratings.redness: Redness must be from 0 to 10")."""

    def session(row: dict[str, Any]) -> SessionData:
        return parse_session(row, latest_date=latest_date, now=now)

    def entry(row: dict[str, Any]) -> EntryData:
        return parse_entry(row, latest_date=latest_date, now=now)

    sessions = [SessionRow(*row) for row in _rows(data, "sessions", _SESSION_KEYS, session, now)]
    entries = [EntryRow(*row) for row in _rows(data, "entries", _ENTRY_KEYS, entry, now)]
    dates: dict[date, str] = {}
    for row in entries:
        if row.data.date in dates:
            _refuse(
                row.where, "date", f"{row.data.date} has another entry ({dates[row.data.date]})"
            )
        dates[row.data.date] = row.where
    entry_uuids = {row.uuid for row in entries}
    photos = [_photo(where, row, entry_uuids, now) for where, row in _listed(data, "photos")]
    _unique(photos)
    per_entry = Counter(photo.entry_uuid for photo in photos)
    for photo in photos:
        if per_entry[photo.entry_uuid] > MAX_PHOTOS_PER_ENTRY:
            _refuse(
                photo.where, "entry_id", f"an entry holds at most {MAX_PHOTOS_PER_ENTRY} photos"
            )
    return ExportRows(sessions, entries, photos, _reminders(data.get("reminders")))


def _listed(data: dict[str, Any], kind: str) -> Iterator[tuple[str, Any]]:
    rows = data.get(kind)
    if rows is None:
        return
    if not isinstance(rows, list):
        raise ArchiveRefused(f'{DATA_FILE}: "{kind}" must be a list.')
    for index, row in enumerate(rows):
        if not isinstance(row, dict):
            raise ArchiveRefused(f"{DATA_FILE}: {kind}[{index}]: must be an object.")
        yield f"{kind}[{index}]", row


def _rows(
    data: dict[str, Any],
    kind: str,
    known: frozenset[str],
    parse: Callable[[dict[str, Any]], Parsed],
    now: datetime,
) -> list[tuple[str, str, Parsed, datetime | None]]:
    """Each row of a list, validated by `parse` (given its known keys), with its place, UUID
    and created_at."""
    seen: set[str] = set()
    parsed = []
    for where, row in _listed(data, kind):
        row_uuid = _uuid(where, row.get("id"))
        if row_uuid in seen:
            _refuse(where, "id", "appears twice")
        seen.add(row_uuid)
        if row.get("client_updated_at") is None:
            _refuse(where, "client_updated_at", "missing: every exported row has one")
        if row.get("deleted") not in (None, False):
            _refuse(where, "deleted", "a deleted row is never exported")
        created = _optional_stamp(where, row, "created_at", now)
        try:
            value = parse({key: item for key, item in row.items() if key in known})
        except Invalid as invalid:
            raise ArchiveRefused(_message(where, invalid)) from None
        parsed.append((where, row_uuid, value, created))
    return parsed


def _photo(where: str, row: dict[str, Any], entry_uuids: set[str], now: datetime) -> PhotoRow:
    photo_uuid = _uuid(where, row.get("id"))
    entry_uuid = _uuid(where, row.get("entry_id"), "entry_id")
    if entry_uuid not in entry_uuids:
        _refuse(where, "entry_id", "names no entry of data.json")
    try:
        area = parse_area(row.get("area"))
        stamp = parse_client_stamp(row.get("client_updated_at"), now=now)
    except Invalid as invalid:
        raise ArchiveRefused(_message(where, invalid)) from None
    file = row.get("file")
    if file is not None and (not isinstance(file, str) or not _PHOTO_FILE.match(file)):
        _refuse(where, "file", "must be a path photos/<name>.jpg")
    region = row.get("region")
    if region is not None:
        try:
            region = list(validate_region(region))
        except ValueError as error:
            _refuse(where, "region", str(error))
        except OverflowError:  # an integer beyond any float (validate_region lets it escape)
            _refuse(where, "region", "must be four fractions between 0 and 1")
    return PhotoRow(
        where,
        photo_uuid,
        entry_uuid,
        area,
        file,
        region,
        _taken_at(where, row.get("taken_at")),
        stamp,
        _optional_stamp(where, row, "created_at", now),
        isinstance(alignment := row.get("alignment"), dict)
        and alignment.get("reference", 0) is None,
    )


def _unique(photos: list[PhotoRow]) -> None:
    seen: set[str] = set()
    files: set[str] = set()
    for photo in photos:
        if photo.uuid in seen:
            _refuse(photo.where, "id", "appears twice")
        if photo.file is not None and photo.file in files:
            _refuse(photo.where, "file", "names the file of another photo")
        seen.add(photo.uuid)
        files.add(photo.file or "")


def _reminders(raw: object) -> ReminderRow | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ArchiveRefused(f'{DATA_FILE}: "reminders" must be an object.')
    flags = {}
    for name in ("daily_enabled", "photo_days_enabled", "session_due_enabled"):
        if not isinstance(raw.get(name), bool):
            _refuse("reminders", name, "must be true or false")
        flags[name] = raw[name]
    remind_at = raw.get("remind_at")
    try:
        if not isinstance(remind_at, str) or len(remind_at) != 5:
            raise ValueError
        at = time.fromisoformat(remind_at)
    except ValueError:
        _refuse("reminders", "remind_at", "must be a time like 20:00")
    return ReminderRow(remind_at=at, **flags)


def _uuid(where: str, value: object, name: str = "id") -> str:
    try:
        return parse_uuid(value)
    except Invalid:
        _refuse(where, name, "must be a UUID")


def _optional_stamp(where: str, row: dict[str, Any], name: str, now: datetime) -> datetime | None:
    if row.get(name) is None:
        return None
    try:
        return parse_client_stamp(row[name], now=now, name=name)
    except Invalid as invalid:
        raise ArchiveRefused(_message(where, invalid)) from None


def _taken_at(where: str, raw: object) -> datetime | None:
    if raw is None:
        return None
    try:
        if not isinstance(raw, str):
            raise ValueError
        value = datetime.fromisoformat(raw)
    except ValueError:
        _refuse(where, "taken_at", "must be a local time like 2026-11-20T08:01:02")
    if value.tzinfo is not None:
        _refuse(where, "taken_at", "must be the camera's local time, without an offset")
    if not EARLIEST_DATE <= value.date() <= date.today() + timedelta(days=1):
        _refuse(where, "taken_at", "is not a possible capture time")
    return value


def _message(where: str, invalid: Invalid) -> str:
    # Validation names a field "_" when the row as a whole is wrong.
    problems = "; ".join(
        f"{where}{'' if name == '_' else '.' + name}: {problem}"
        for name, problem in invalid.fields.items()
    )
    return f"{DATA_FILE}: {problems}"


def _refuse(where: str, name: str, problem: str) -> NoReturn:
    raise ArchiveRefused(f"{DATA_FILE}: {where}.{name}: {problem}")
