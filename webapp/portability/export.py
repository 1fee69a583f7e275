"""The patient's complete export: a ZIP streamed as it is made (docs/export.md is its schema).

Memory stays bounded however long the history: rows are read in batches (`yield_per`), each file
is written as it is read, the photos one at a time in chunks from the store (the stored full
rendition, byte for byte), and the FHIR Bundle one stretch of dates at a time with its photos
naming their files instead of carrying them as base64. What grows with the history is only the
set of photo ids written (some 50 bytes a photo), so that data.json names exactly the files the
archive holds: the photos go first, a photo whose bytes the store has lost is logged and left
out, and its row in data.json says `"file": null`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Iterator
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload
from zipstream import ZIP_DEFLATED, ZIP_STORED, ZipStream

from ..extensions import db
from ..models import (
    CalendarFeed,
    Entry,
    LoginSession,
    Photo,
    PushSubscription,
    ReminderSettings,
    ShareLink,
    TreatmentSession,
    User,
    iso_utc,
    token_digest,
    utcnow,
)
from ..progress import SessionCalendar
from ..serializers import (
    entry_json,
    exported_photo_json,
    push_subscription_json,
    session_json,
    share_link_json,
)
from ..sharing.export import Scope, read_entries, read_photos, read_sessions
from ..sharing.fhir import FhirRecords, bundle_entries, bundle_header
from ..storage import PhotoStore
from ..templating import coarse_device
from . import tables

log = logging.getLogger(__name__)

FORMAT = "skinlog-export"
VERSION = 1
# Rows per database round trip, and the days of history in one stretch of the FHIR Bundle (at
# most MAX_PHOTOS_PER_ENTRY photos a day): both keep what is in memory at once small.
BATCH = 200
FHIR_DAYS = 92
# Text is gathered into chunks of about this many bytes before it goes to the ZIP.
CHUNK_BYTES = 64 * 1024

README = """\
Your Skinlog data
=================

Exported {exported_at} (UTC) from the account {email}.

README.txt     this file.
data.json      everything, machine-readable: your profile, reminder settings, every treatment
               session, daily entry, photo (with what was measured on it), share link with who
               opened it and when, and your signed-in devices. Skinlog can import this archive
               into an account ("Import" under Account, Your data). Its format is described at
               docs/export.md in Skinlog's source ("skinlog-export", version 1).
sessions.csv   your treatment sessions, one row each, for a spreadsheet.
entries.csv    your daily entries, one row each, one column per rating, with the session each
               follows and the days since it.
photos/        every photo at full size, named <date>_<area>_<id>.jpg. Location, camera and
               time were removed from the files when they were uploaded.
fhir.json      the same records as a FHIR R5 Bundle, for a clinic's records system; its photos
               point at the files in photos/.

Measured colours and marks are indicative: they depend on the light and the camera, and are a
trend for you, not a diagnosis.
"""


def export_archive(user: User, store: PhotoStore) -> tuple[str, Iterable[bytes]]:
    """The archive's file name and its bytes, made as they are read: iterate within the request
    (stream_with_context), whose database session the rows are read in."""
    _one_snapshot()
    now = utcnow()
    head = {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": iso_utc(now),
        "account": _account(user),
        "reminders": _reminders(user.id),
    }
    patient = FhirRecords(
        patient_key=token_digest(f"skinlog-account:{user.id}:{iso_utc(user.created_at)}"),
        patient_name=user.display_name,
        created_at=now,
    )
    readme = README.format(exported_at=now.strftime("%Y-%m-%d %H:%M"), email=user.email)
    filename = f"skinlog-export-{now.date().isoformat()}.zip"
    return filename, _archive(user.id, store, head, patient, readme)


def _one_snapshot() -> None:
    """Make every query of the export see the account as it was at one moment, so that a phone
    syncing during a long download cannot split it (a photo listed without its entry). The
    request's read-only transaction ends here; the next one is a snapshot: REPEATABLE READ on
    PostgreSQL, and on SQLite an explicit BEGIN (its driver begins none for reads, so each query
    would read the latest data). It ends when the archive is made or abandoned."""
    db.session.commit()
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        db.session.execute(sa.text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"))
    elif dialect == "sqlite":
        db.session.execute(sa.text("BEGIN"))


def _archive(
    user_id: int, store: PhotoStore, head: dict[str, Any], patient: FhirRecords, readme: str
) -> Iterator[bytes]:
    try:
        yield from _files(user_id, store, head, patient, readme)
    finally:
        db.session.rollback()  # ends the snapshot, read only: the session can write again


def _files(
    user_id: int, store: PhotoStore, head: dict[str, Any], patient: FhirRecords, readme: str
) -> Iterator[bytes]:
    archive = ZipStream(compress_type=ZIP_DEFLATED)
    archive.add(readme, "README.txt")
    yield from archive.all_files()
    written: set[str] = set()
    for photo, _entry_uuid, day in _photos(user_id):
        try:
            chunks = store.open(photo.rendition_key("full"))
        except KeyError:
            log.warning("export: photo %s has no stored bytes; left out", photo.uuid)
            continue
        # JPEG does not deflate; stored as is.
        name = tables.photo_file(day, photo.area, photo.uuid)
        archive.add(chunks, name, compress_type=ZIP_STORED)
        yield from archive.all_files()
        written.add(photo.uuid)
    archive.add(_encoded(_data_json(user_id, head, written)), "data.json")
    archive.add(_sessions_csv(user_id), "sessions.csv")
    archive.add(_entries_csv(user_id), "entries.csv")
    archive.add(_encoded(_fhir_json(user_id, patient, written)), "fhir.json")
    yield from archive.all_files()
    yield from archive.footer()


# --- data.json -----------------------------------------------------------------------------------


def _data_json(user_id: int, head: dict[str, Any], written: set[str]) -> Iterator[str]:
    """data.json as text pieces: the small parts whole, the lists one row at a time (each list's
    query runs when its turn comes, so one cursor is open at a time)."""
    lists: list[tuple[str, Callable[[], Iterator[dict[str, Any]]]]] = [
        ("sessions", lambda: map(session_json, _live(TreatmentSession, user_id))),
        ("entries", lambda: map(entry_json, _live(Entry, user_id))),
        ("photos", lambda: (_photo_json(*row, written) for row in _photos(user_id))),
        ("share_links", lambda: _share_links(user_id)),
        ("devices", lambda: _devices(user_id)),
    ]
    yield "{\n" + ",\n".join(f"{_dumps(key)}: {_dumps(value)}" for key, value in head.items())
    for key, rows in lists:
        yield f",\n{_dumps(key)}: "
        yield from _json_list(rows())
    yield "\n}\n"


def _account(user: User) -> dict[str, Any]:
    return {
        "email": user.email,
        "display_name": user.display_name,
        "track": user.track,
        "fitzpatrick": user.fitzpatrick,
        "timezone": user.timezone,
        "keep_photo_times": user.keep_photo_times,
        "created_at": iso_utc(user.created_at),
    }


def _reminders(user_id: int) -> dict[str, Any]:
    """The reminder settings as stored, or the defaults a first visit would store: an export
    writes nothing."""
    settings = (
        db.session.execute(
            sa.select(ReminderSettings).where(ReminderSettings.user_id == user_id)
        ).scalar_one_or_none()
        or _default_reminder_settings()
    )
    subscriptions = db.session.execute(
        sa.select(PushSubscription)
        .where(PushSubscription.user_id == user_id)
        .order_by(PushSubscription.created_at)
    ).scalars()
    feed = db.session.execute(
        sa.select(CalendarFeed.id).where(CalendarFeed.user_id == user_id)
    ).first()
    return {
        "daily_enabled": settings.daily_enabled,
        "remind_at": settings.remind_at.strftime("%H:%M"),
        "photo_days_enabled": settings.photo_days_enabled,
        "session_due_enabled": settings.session_due_enabled,
        "devices": [
            {key: value for key, value in push_subscription_json(row).items() if key != "id"}
            for row in subscriptions
        ],
        "calendar_feed": feed is not None,
    }


def _default_reminder_settings() -> ReminderSettings:
    """An unsaved row holding the columns' defaults (the model is where they are written)."""
    columns = ReminderSettings.__table__.columns
    return ReminderSettings(
        **{
            column.key: column.default.arg
            for column in columns
            if column.default is not None and column.default.is_scalar
        }
    )


def _photo_json(photo: Photo, entry_uuid: str, day: date, written: set[str]) -> dict[str, Any]:
    """The photo's record, naming its file in the archive if its bytes were written there."""
    written_file = tables.photo_file(day, photo.area, photo.uuid) if photo.uuid in written else None
    return exported_photo_json(photo, entry_uuid, written_file)


def _share_links(user_id: int) -> Iterator[dict[str, Any]]:
    query = (
        sa.select(ShareLink)
        .where(ShareLink.user_id == user_id)
        .options(selectinload(ShareLink.views))
        .order_by(ShareLink.created_at.desc(), ShareLink.id.desc())
    )
    for link in _batched(query).scalars():
        views = [{"viewed_at": iso_utc(v.viewed_at), "client": v.client} for v in link.views]
        yield {**share_link_json(link), "views": views}


def _devices(user_id: int) -> Iterator[dict[str, Any]]:
    query = (
        sa.select(LoginSession.user_agent, LoginSession.created_at)
        .where(LoginSession.user_id == user_id)
        .order_by(LoginSession.created_at)
    )
    for user_agent, created_at in db.session.execute(query):
        yield {"device": coarse_device(user_agent), "created_at": iso_utc(created_at)}


# --- sessions.csv, entries.csv --------------------------------------------------------------------


def _sessions_csv(user_id: int) -> Iterator[bytes]:
    rows = (
        tables.session_row(session_json(session), number)
        for number, session in enumerate(_live(TreatmentSession, user_id), start=1)
    )
    return tables.csv_chunks(tables.SESSION_COLUMNS, rows)


def _entries_csv(user_id: int) -> Iterator[bytes]:
    dates = db.session.execute(
        sa.select(TreatmentSession.date).where(
            TreatmentSession.user_id == user_id, TreatmentSession.deleted_at.is_(None)
        )
    ).scalars()
    calendar = SessionCalendar(list(dates))
    rows = (
        tables.entry_row(entry_json(entry), calendar.align(entry.date))
        for entry in _live(Entry, user_id)
    )
    return tables.csv_chunks(tables.ENTRY_COLUMNS, rows)


# --- fhir.json ------------------------------------------------------------------------------------


def _fhir_json(user_id: int, patient: FhirRecords, written: set[str]) -> Iterator[str]:
    """The account's Bundle, written one stretch of FHIR_DAYS at a time: each stretch's
    sessions, entries and their photos, read with the share link's readers."""

    def named_file(photo: Photo, day: date) -> dict[str, Any]:
        file = tables.photo_file(day, photo.area, photo.uuid) if photo.uuid in written else None
        return {"jpeg": None, "file": file}

    yield _dumps(bundle_header(patient))[:-1] + ', "entry": ['
    first = True
    for start, end in _stretches(user_id):
        scope = Scope(user_id, start, end)
        stretch = FhirRecords(
            patient_key=patient.patient_key,
            patient_name=patient.patient_name,
            created_at=patient.created_at,
            sessions=read_sessions(scope),
            entries=read_entries(scope),
            photos=read_photos(scope, named_file),
        )
        for item in bundle_entries(stretch, patient=first):
            yield ("\n" if first else ",\n") + _dumps(item)
            first = False
    if first:  # no records at all: the Bundle still names the patient
        yield "\n" + ",\n".join(_dumps(item) for item in bundle_entries(patient))
    yield "\n]}\n"


def _stretches(user_id: int) -> Iterator[tuple[date, date]]:
    """Consecutive date ranges of FHIR_DAYS covering every live session and entry."""
    bounds = [
        db.session.execute(
            sa.select(sa.func.min(model.date), sa.func.max(model.date)).where(
                model.user_id == user_id, model.deleted_at.is_(None)
            )
        ).one()
        for model in (TreatmentSession, Entry)
    ]
    firsts = [low for low, _ in bounds if low is not None]
    lasts = [high for _, high in bounds if high is not None]
    if not firsts:
        return
    start, last = min(firsts), max(lasts)
    while start <= last:
        end = start + timedelta(days=FHIR_DAYS - 1)
        yield start, end
        start = end + timedelta(days=1)


# --- Reading and writing pieces -------------------------------------------------------------------


def _batched(query: sa.Select) -> sa.Result:
    """The query's rows fetched BATCH at a time (a server-side cursor on PostgreSQL)."""
    return db.session.execute(query.execution_options(yield_per=BATCH))


def _live(model: type[Entry] | type[TreatmentSession], user_id: int) -> Iterator[Any]:
    """The patient's live sessions or entries, by date."""
    query = (
        sa.select(model)
        .where(model.user_id == user_id, model.deleted_at.is_(None))
        .order_by(model.date, model.id)
    )
    return _batched(query).scalars()


def _photos(user_id: int) -> Iterator[tuple[Photo, str, date]]:
    """The live photos of live entries, with their entry's id and date, by date then upload."""
    query = (
        sa.select(Photo, Entry.uuid, Entry.date)
        .join(Entry, Photo.entry_id == Entry.id)
        .where(Photo.user_id == user_id, Photo.deleted_at.is_(None), Entry.deleted_at.is_(None))
        .order_by(Entry.date, Photo.id)
    )
    return iter(_batched(query).tuples())


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _json_list(rows: Iterator[Any]) -> Iterator[str]:
    """A JSON list written one row a line."""
    yield "["
    separator = "\n"
    for row in rows:
        yield separator + _dumps(row)
        separator = ",\n"
    yield "\n]" if separator != "\n" else "]"


def _encoded(pieces: Iterable[str]) -> Iterator[bytes]:
    """Text pieces as UTF-8 in chunks of about CHUNK_BYTES."""
    buffer: list[str] = []
    size = 0
    for piece in pieces:
        buffer.append(piece)
        size += len(piece)
        if size >= CHUNK_BYTES:
            yield "".join(buffer).encode()
            buffer, size = [], 0
    if buffer:
        yield "".join(buffer).encode()
