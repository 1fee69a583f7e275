"""Importing an export archive (docs/export.md) into the signed-in account: merged by UUID, last
writer wins, photos ingested again, all or nothing.

In two steps, so the patient's write lock (on SQLite, the database's) is held only for the writes:

1. Read (archive.py, rows.py): the ZIP is checked, data.json's rows validated by the API's rules,
   every photo the account lacks is ingested from its JPEG as an upload is (sanitised, measured
   in its region, aligned to its area's reference) and its renditions put in the store. Nothing
   is written to the database.
2. Write, in one transaction under the patient's lock (records.claim_changes): each session,
   entry and photo is created, updated (the archive's `client_updated_at` is newer) or left as
   it is; a UUID of another account refuses the whole import, as a date that already has
   another entry does. Every row written takes a change number, so the patient's phones sync it.

Any refusal or failure rolls the transaction back and deletes every photo byte this import put
in the store (the store has no transaction). Importing the same archive again writes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

import numpy as np
from sqlalchemy.exc import IntegrityError

from .. import imaging
from ..extensions import db
from ..models import Entry, Photo, ReminderSettings, TreatmentSession, User, utcnow
from ..records import claim_changes, latest_allowed_date
from ..records.alignment import REFERENCE_ALIGNMENT, ensure_reference
from ..reminders import service as reminder_service
from ..storage import PhotoStore, StorageError, new_key
from ..vocabulary import MAX_PHOTOS_PER_ENTRY, RATINGS
from . import archive
from .rows import EntryRow, ExportRows, PhotoRow, ReminderRow, SessionRow, parse_rows

log = logging.getLogger(__name__)

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
class _NewPhoto:
    """A photo ingested in step 1: its key in the store and its columns, no pixels."""

    row: PhotoRow
    key: str
    columns: dict[str, Any]


def import_archive(
    user: User, fileobj: IO[bytes], store: PhotoStore, *, limits: archive.Limits | None = None
) -> ImportReport:
    """Merge the export archive `fileobj` into `user`'s account; ImportRefused (nothing imported)
    for an archive that is not a Skinlog export, is unsafe, or holds a row this account cannot
    take. Other errors (the database or the store down) are re-raised after the same clean-up.
    `limits`: what an archive may hold (archive.Limits by default)."""
    written: list[str] = []  # base keys of the photo bytes this import put in the store
    try:
        with archive.open_export(fileobj, limits) as export:
            rows = parse_rows(export.data(), latest_date=latest_allowed_date(), now=utcnow())
            for photo in rows.photos:
                if photo.file is not None and not export.has(photo.file):
                    raise ImportRefused(f"{photo.file}: missing from the ZIP ({_at(photo)}).")
            _refuse_foreign(user, rows)  # before the costly ingest; again under the lock
            new_photos = _ingest(user, export, _photos_to_add(user, rows), store, written)
        report, unused = _write(user, rows, new_photos)
    except archive.ArchiveRefused as refused:
        _forget(store, written)
        raise ImportRefused(str(refused)) from None
    except BaseException:
        db.session.rollback()
        _forget(store, written)
        raise
    _forget(store, unused)
    for area in sorted({photo.row.area for photo in new_photos}):
        ensure_reference(user, area, store)  # none was found at ingest, or two now: pick one
    return report


# --- Step 1: read and ingest, no database writes ------------------------------------------------


def _refuse_foreign(user: User, rows: ExportRows) -> None:
    """ImportRefused when a row's UUID is another account's: it is never overwritten."""
    for model, kind_rows in (
        (TreatmentSession, rows.sessions),
        (Entry, rows.entries),
        (Photo, rows.photos),
    ):
        where = {row.uuid: row for row in kind_rows}
        for stored in _with_uuids(model, where):
            if stored.user_id != user.id:
                raise ImportRefused(
                    f"data.json: {where[stored.uuid].where}.id: is used by another account; "
                    "nothing was imported."
                )


def _photos_to_add(user: User, rows: ExportRows) -> list[PhotoRow]:
    """The photos with a file that this account does not hold yet: the ones to ingest, each
    area's reference in the archive first (so it stays the reference here)."""
    held = {photo.uuid for photo in _with_uuids(Photo, {row.uuid for row in rows.photos})}
    wanted = [row for row in rows.photos if row.file is not None and row.uuid not in held]
    return sorted(wanted, key=lambda row: not row.was_reference)


def _ingest(
    user: User,
    export: archive.ExportArchive,
    photos: list[PhotoRow],
    store: PhotoStore,
    written: list[str],
) -> list[_NewPhoto]:
    """Each photo ingested from its file like an upload and put in the store (its key added to
    `written` first, so a failure half-way still removes it)."""
    references: dict[str, tuple[str, np.ndarray] | None] = {}
    added = []
    for row in photos:
        assert row.file is not None  # noqa: S101 (only photos with a file are ingested)
        data = export.photo(row.file)
        try:
            ingested = imaging.ingest_photo(data)
            columns = _measures(ingested, row.region)
        except imaging.ImageRejected as rejected:
            raise ImportRefused(f"{row.file}: not a photo we can import ({rejected}).") from None
        if row.area not in references:
            references[row.area] = _account_reference(user, row.area, store)
        reference = references[row.area]
        if reference is None and row.was_reference and ingested.quality.verdict != "poor":
            references[row.area] = (row.uuid, ingested.grey)
            columns["alignment"] = dict(REFERENCE_ALIGNMENT)
        elif reference is not None:
            ref_uuid, ref_grey = reference
            fit = imaging.align(ref_grey, ingested.grey).as_dict()
            columns["alignment"] = {"reference": ref_uuid, **fit}
        key = new_key()
        written.append(key)
        for name, rendition in ingested.renditions.items():
            store.put(f"{key}/{name}.jpg", rendition.data, imaging.CONTENT_TYPE)
        added.append(_NewPhoto(row, key, columns))
    return added


def _measures(ingested: imaging.IngestedPhoto, region: list[float] | None) -> dict[str, Any]:
    """The photo's columns measured as an upload's, in its region if it has one (measured as
    the region page measures it: colour on the full rendition, marks on the analysis copy)."""
    colour, marks = ingested.colour, ingested.marks
    if region is not None:
        box = imaging.validate_region(region)
        colour = imaging.colour_metrics(ingested.renditions["full"].data, box)
        copy = imaging.analysis_copy(ingested.renditions["display"].data)
        marks = imaging.measure_marks(copy, box)
    return {
        "width": ingested.width,
        "height": ingested.height,
        "byte_size": len(ingested.renditions["full"].data),
        "sha256": ingested.sha256,
        "lab_l": colour.l_star,
        "lab_a": colour.a_star,
        "lab_b": colour.b_star,
        "ita_deg": colour.ita_deg,
        "region": region,
        "quality": ingested.quality.as_dict(),
        "marks": marks.as_dict(),
        "alignment": None,
    }


def _account_reference(user: User, area: str, store: PhotoStore) -> tuple[str, np.ndarray] | None:
    """The account's reference photo of `area` (uuid, grey analysis copy), if it has one whose
    pixels can be read: the imported photos of the area align to it."""
    live = db.session.execute(
        db.select(Photo).where(
            Photo.user_id == user.id, Photo.area == area, Photo.deleted_at.is_(None)
        )
    ).scalars()
    for photo in live:
        if isinstance(photo.alignment, dict) and photo.alignment.get("reference", 0) is None:
            try:
                data = store.read(photo.rendition_key("display"))
                return photo.uuid, imaging.analysis_grey(imaging.analysis_copy(data))
            except (KeyError, StorageError, imaging.ImageRejected):
                return None
    return None


# --- Step 2: one transaction --------------------------------------------------------------------


def _write(
    user: User, rows: ExportRows, new_photos: list[_NewPhoto]
) -> tuple[ImportReport, list[str]]:
    """Merge every row under the patient's lock and commit once; the report and the keys of
    ingested photos that were not needed after all (to remove from the store)."""
    claim_changes(user.id, 0)  # the patient's lock: nothing of theirs changes until commit
    report = ImportReport()
    _refuse_foreign(user, rows)
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
        raise ImportRefused(
            "An ID in this archive was just taken by another account; nothing was imported."
        ) from None
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
    stored = {row.uuid: row for row in _with_uuids(model, {row.uuid for row in rows})}
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
                f"{row.data.date} (id {other}); nothing was imported."
            )


def _place_photos(
    rows: ExportRows,
    entry_writes: list[tuple[Entry, EntryRow]],
    new_photos: list[_NewPhoto],
    report: ImportReport,
) -> tuple[list[tuple[Entry, _NewPhoto]], list[str]]:
    """Which photos are added, under which entry; the rest are counted. Returns the photos to
    add and the store keys of ingested ones not added (held already, or their entry deleted)."""
    ingested = {photo.row.uuid: photo for photo in new_photos}
    held = {photo.uuid: photo for photo in _with_uuids(Photo, {row.uuid for row in rows.photos})}
    entries = {e.uuid: e for e in _with_uuids(Entry, {row.entry_uuid for row in rows.photos})}
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
                    "another entry; nothing was imported."
                )
            report.photos.unchanged += 1
        elif new is None or entry is None or row.entry_uuid not in live:
            report.photos_skipped += 1
        else:
            count = live_counts.get(row.entry_uuid, 0) + 1
            if count > MAX_PHOTOS_PER_ENTRY:
                raise ImportRefused(
                    f"data.json: {row.where}: its entry would hold more than "
                    f"{MAX_PHOTOS_PER_ENTRY} photos; nothing was imported."
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


def _add_photo(user: User, entry: Entry, photo: _NewPhoto, change: int) -> None:
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


# --- Helpers ------------------------------------------------------------------------------------


def _with_uuids(model: Any, uuids: Iterable[str]) -> Iterator[Any]:
    """Every row of `model` with one of `uuids`, of any account and tombstones included, as
    committed now (not a copy read before the lock)."""
    for chunk in _chunks(sorted(uuids)):
        yield from db.session.execute(
            db.select(model).where(model.uuid.in_(chunk)).execution_options(populate_existing=True)
        ).scalars()


def _chunks(values: list[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(values), _IN_CHUNK):
        yield values[start : start + _IN_CHUNK]


def _at(photo: PhotoRow) -> str:
    return f"named by data.json {photo.where}"


def _forget(store: PhotoStore, keys: list[str]) -> None:
    """Remove photo bytes no row names, best effort: if the store is down, the sweep
    (housekeeping.sweep_photos) removes them later, as no photo row names them."""
    for key in keys:
        try:
            store.delete_prefix(key)
        except Exception:
            log.exception("could not delete imported photo bytes under %s; the sweep will", key)
