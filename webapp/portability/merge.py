"""Step 2 of an import (importer.py): every row of the archive merged into the account in one
transaction, under the patient's lock (records.claim_changes), last writer wins by
`client_updated_at`, each row written taking a change number so the patient's phones sync it.
A UUID of another account, or a date this account holds under another entry, refuses it all.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import Entry, Photo, ReminderSettings, TreatmentSession, User, utcnow
from ..records import claim_changes
from ..reminders import service as reminder_service
from ..vocabulary import MAX_PHOTOS_PER_ENTRY, RATINGS
from .rows import EntryRow, ExportRows, PhotoRow, ReminderRow, SessionRow

_MESSAGE_LENGTH = 400
_IN_CHUNK = 500  # UUIDs per IN (...) query: well inside every database's parameter limit


class ImportRefused(Exception):
    """The archive is not imported (nothing was); the message names the file and row at fault.

    The message may quote the archive (a bad value, a name): it is cut short and made encodable
    (a lone surrogate from JSON becomes "?"), so any page can show it."""

    def __init__(self, message: str) -> None:
        if len(message) > _MESSAGE_LENGTH:
            message = message[: _MESSAGE_LENGTH - 1] + "…"
        super().__init__(message.encode("utf-8", "replace").decode("utf-8"))


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged


@dataclass
class ImportReport:
    """What an import did, per kind of row, for the result page."""

    sessions: Counts = field(default_factory=Counts)
    entries: Counts = field(default_factory=Counts)
    photos: Counts = field(default_factory=Counts)
    # Rows of photos not imported: no file in the archive, or their entry is deleted here.
    photos_skipped: int = 0
    reminders_changed: bool = False


@dataclass
class NewPhoto:
    """A photo ingested in step 1: its key in the store and its columns, no pixels."""

    row: PhotoRow
    key: str
    columns: dict[str, Any]


def write(
    user: User, rows: ExportRows, new_photos: list[NewPhoto]
) -> tuple[ImportReport, list[str]]:
    """Merge every row under the patient's lock and commit once; the report and the keys of
    ingested photos that were not needed after all (to remove from the store)."""
    claim_changes(user.id, 0)  # the patient's lock: nothing of theirs changes until commit
    report = ImportReport()
    refuse_foreign(user, rows)
    sessions = _merge(user, TreatmentSession, rows.sessions, report.sessions)
    entries = _merge(user, Entry, rows.entries, report.entries)
    _check_dates(user, entries)
    writes: list[Any] = [*sessions, *entries]
    placed, unused = _place_photos(rows, entries, new_photos, report)
    if writes or placed:
        first = claim_changes(user.id, len(writes) + len(placed))
        numbers = iter(range(first, first + len(writes) + len(placed)))
        for stored, row in writes:
            db.session.add(stored)
            _apply(stored, row, next(numbers))
        db.session.flush()  # new entries get their ids, which photos point at
        for entry_row, photo in placed:
            _add_photo(user, entry_row, photo, next(numbers))
    if rows.reminders is not None:
        report.reminders_changed = _apply_reminders(user, rows.reminders)
    try:
        db.session.commit()
    except IntegrityError:
        raise ImportRefused("An ID in this archive was just taken by another account.") from None
    return report, unused


def _merge(
    user: User,
    model: type[TreatmentSession] | type[Entry],
    rows: list[SessionRow] | list[EntryRow],
    counts: Counts,
) -> list[tuple[Any, SessionRow | EntryRow]]:
    """Last writer wins: the (row to write, archive row) pairs, a new row not yet added to the
    session (so no query flushes it half-filled); rows whose stored version is as new or newer
    are counted unchanged and left alone."""
    stored = {row.uuid: row for row in with_uuids(model, {row.uuid for row in rows})}
    writes = []
    for row in rows:
        current = stored.get(row.uuid)
        stamp = row.data.client_updated_at
        assert stamp is not None  # noqa: S101 (rows.py requires it)
        if current is None:
            current = model(uuid=row.uuid, user_id=user.id, created_at=row.created_at or utcnow())
            counts.created += 1
        elif stamp > current.client_updated_at:
            counts.updated += 1
        else:
            counts.unchanged += 1
            continue
        writes.append((current, row))
    return writes


def _apply(stored: Entry | TreatmentSession, row: SessionRow | EntryRow, change: int) -> None:
    data = row.data
    stored.date = data.date
    if isinstance(stored, Entry):
        for name in RATINGS:
            setattr(stored, name, data.ratings.get(name))
        stored.pie_severity, stored.pih_severity = data.pie_severity, data.pih_severity
        stored.red_flags, stored.aftercare = data.red_flags, data.aftercare
    else:
        stored.device, stored.needle_depth_mm = data.device, data.needle_depth_mm
        stored.areas, stored.topicals = data.areas, data.topicals
        stored.setting, stored.provider = data.setting, data.provider
    stored.notes = data.notes
    stored.client_updated_at = data.client_updated_at
    stored.change_seq = change
    stored.updated_at = utcnow()
    stored.deleted_at = None  # a newer write brings a deleted row back, as the API's does


def _check_dates(user: User, writes: list[tuple[Any, EntryRow]]) -> None:
    """One live entry per date: an archive entry for a date this account holds under another
    id refuses the import (which to keep is the patient's call, in the app)."""
    moving = {row.uuid: row for _, row in writes}
    live = db.session.execute(
        db.select(Entry.uuid, Entry.date).where(
            Entry.user_id == user.id, Entry.deleted_at.is_(None)
        )
    ).all()
    taken = {day: uuid for uuid, day in live if uuid not in moving}
    for row in moving.values():
        other = taken.get(row.data.date)
        if other is not None:
            raise ImportRefused(
                f"data.json: {row.where}.date: this account already has an entry on "
                f"{row.data.date} (id {other})."
            )


def _place_photos(
    rows: ExportRows,
    entry_writes: list[tuple[Entry, EntryRow]],
    new_photos: list[NewPhoto],
    report: ImportReport,
) -> tuple[list[tuple[Entry, NewPhoto]], list[str]]:
    """Which photos are added, under which entry; the rest are counted. Returns the photos to
    add and the store keys of ingested ones not added (held already, or their entry deleted)."""
    ingested = {photo.row.uuid: photo for photo in new_photos}
    held = {photo.uuid: photo for photo in with_uuids(Photo, {row.uuid for row in rows.photos})}
    entries = {e.uuid: e for e in with_uuids(Entry, {row.entry_uuid for row in rows.photos})}
    written = {entry.uuid: entry for entry, _ in entry_writes}
    entries.update(written)  # new ones too (not in the database yet)
    live = {uuid for uuid, entry in entries.items() if uuid in written or not entry.deleted_at}
    live_counts = _live_photo_counts([entry.id for entry in entries.values() if entry.id])
    placed, unused = [], []
    for row in rows.photos:
        new = ingested.get(row.uuid)
        entry = entries.get(row.entry_uuid)
        if row.uuid in held:
            if entry is None or held[row.uuid].entry_id != entry.id:
                raise ImportRefused(
                    f"data.json: {row.where}.entry_id: this account holds this photo under "
                    "another entry."
                )
            report.photos.unchanged += 1
        elif new is None or entry is None or row.entry_uuid not in live:
            report.photos_skipped += 1
        else:
            count = live_counts.get(row.entry_uuid, 0) + 1
            if count > MAX_PHOTOS_PER_ENTRY:
                raise ImportRefused(
                    f"data.json: {row.where}: its entry would hold more than "
                    f"{MAX_PHOTOS_PER_ENTRY} photos."
                )
            live_counts[row.entry_uuid] = count
            placed.append((entry, new))
            report.photos.created += 1
            continue
        if new is not None:
            unused.append(new.key)
    return placed, unused


def _live_photo_counts(entry_ids: list[int]) -> dict[str, int]:
    """Live photos per entry uuid, for the per-entry cap."""
    counts: dict[str, int] = {}
    for chunk in _chunks(entry_ids):
        for entry_uuid, count in db.session.execute(
            db.select(Entry.uuid, db.func.count(Photo.id))
            .join(Photo, Photo.entry_id == Entry.id)
            .where(Entry.id.in_(chunk), Photo.deleted_at.is_(None))
            .group_by(Entry.uuid)
        ).all():
            counts[entry_uuid] = count
    return counts


def _add_photo(user: User, entry: Entry, photo: NewPhoto, change: int) -> None:
    row = photo.row
    db.session.add(
        Photo(
            uuid=row.uuid,
            user_id=user.id,
            entry_id=entry.id,
            area=row.area,
            storage_key=photo.key,
            taken_at=row.taken_at if user.keep_photo_times else None,
            client_updated_at=row.client_updated_at,
            created_at=row.created_at or utcnow(),
            change_seq=change,
            **photo.columns,
        )
    )


def _apply_reminders(user: User, wanted: ReminderRow) -> bool:
    """The archive's reminder settings on this account; whether they changed anything."""
    settings = db.session.execute(
        db.select(ReminderSettings).where(ReminderSettings.user_id == user.id)
    ).scalar_one_or_none()
    if settings is None:
        settings = ReminderSettings(user_id=user.id)
        db.session.add(settings)
    values = {
        "daily_enabled": wanted.daily_enabled,
        "remind_at": wanted.remind_at,
        "photo_days_enabled": wanted.photo_days_enabled,
        "session_due_enabled": wanted.session_due_enabled,
    }
    if all(getattr(settings, name) == value for name, value in values.items()):
        return False
    for name, value in values.items():
        setattr(settings, name, value)
    settings.attempts = 0  # as service.update_settings saves a patient's choice
    settings.next_due_at = reminder_service.next_due_for(settings, user.timezone, utcnow())
    return True


def refuse_foreign(user: User, rows: ExportRows) -> None:
    """ImportRefused, naming the first such row, when a row's UUID is another account's: it is
    never overwritten."""
    for model, kind_rows in (
        (TreatmentSession, rows.sessions),
        (Entry, rows.entries),
        (Photo, rows.photos),
    ):
        uuids = {row.uuid for row in kind_rows}
        foreign = {row.uuid for row in with_uuids(model, uuids) if row.user_id != user.id}
        for row in kind_rows:
            if row.uuid in foreign:
                raise ImportRefused(f"data.json: {row.where}.id: is used by another account.")


# --- Helpers ------------------------------------------------------------------------------------


def with_uuids(model: Any, uuids: Iterable[str]) -> Iterator[Any]:
    """Every row of `model` with one of `uuids`, of any account and tombstones included, as
    committed now (not a copy read before the lock)."""
    for chunk in _chunks(sorted(uuids)):
        yield from db.session.execute(
            db.select(model).where(model.uuid.in_(chunk)).execution_options(populate_existing=True)
        ).scalars()


def _chunks(values: list[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(values), _IN_CHUNK):
        yield values[start : start + _IN_CHUNK]
