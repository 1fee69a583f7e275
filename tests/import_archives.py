"""Accounts with every kind of row, their export archives, and archives taken apart and put back
together with a change: for tests/test_import.py, tests/test_import_fuzz.py and the benchmark.

Plain functions (no fixtures); they run inside an app context.
"""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from tests.photo_factory import make_photo
from webapp import records
from webapp.extensions import db
from webapp.models import Entry, Photo, TreatmentSession, User
from webapp.portability import export
from webapp.reminders import service as reminder_service
from webapp.storage import PhotoStore
from webapp.timeline import region as timeline_region
from webapp.validation import parse_entry, parse_session

TODAY = date.today()
STAMP = datetime(2026, 1, 1, tzinfo=UTC)


def fill_account(user: User, store: PhotoStore, *, photos: int = 3) -> dict[str, list[str]]:
    """Two sessions, three entries with every field set, `photos` photos (one with a region,
    one with a capture time) and reminder settings; the UUIDs made, by kind."""
    user.keep_photo_times = True
    db.session.commit()
    made: dict[str, list[str]] = {"sessions": [], "entries": [], "photos": []}
    for offset, depth in ((30, 1.0), (10, 1.5)):
        session_uuid = str(uuid.uuid4())
        data = parse_session(
            {
                "date": (TODAY - timedelta(days=offset)).isoformat(),
                "device": "pen",
                "needle_depth_mm": depth,
                "areas": ["left_cheek", "right_cheek"],
                "topicals": ["hyaluronic_acid"],
                "setting": "clinic",
                "provider": "Dr Ó Súilleabháin",
                "notes": f"session {offset} days ago",
                "client_updated_at": (STAMP + timedelta(minutes=offset)).isoformat(),
            },
            latest_date=TODAY,
        )
        records.save_session(user, session_uuid, data)
        made["sessions"].append(session_uuid)
    entries = []
    for offset in (9, 8, 7):
        entry_uuid = str(uuid.uuid4())
        data = parse_entry(
            {
                "date": (TODAY - timedelta(days=offset)).isoformat(),
                "ratings": {
                    "redness": 6,
                    "swelling": 3,
                    "pain": 2,
                    "itching": 1,
                    "dryness": 4,
                    "bruising": None,
                },
                "pie_severity": 3,
                "pih_severity": None,
                "red_flags": ["fever"],
                "aftercare": ["sunscreen", "no_makeup"],
                "notes": f"day {offset}: tight, a little warm ✓",
                "client_updated_at": (STAMP + timedelta(hours=offset)).isoformat(),
            },
            latest_date=TODAY,
        )
        entries.append(records.save_entry(user, entry_uuid, data).row)
        made["entries"].append(entry_uuid)
    areas = ("left_cheek", "right_cheek", "left_cheek", "forehead", "chin", "nose")
    for index in range(photos):
        taken = datetime(2026, 1, 2, 8, 0, index) if index == 1 else None
        upload = make_photo(800, 600, colour=(200, 120 + 5 * index, 110), taken_at=taken)
        photo_uuid = str(uuid.uuid4())
        entry = entries[index % len(entries)]
        photo, _ = records.add_photo(user, entry, photo_uuid, areas[index], upload, store)
        made["photos"].append(photo_uuid)
        if index == 0:
            timeline_region.remeasure_area(photo, (0.2, 0.25, 0.7, 0.8), store)
    reminder_service.update_settings(
        user,
        daily_enabled=True,
        remind_at=time(21, 15),
        photo_days_enabled=False,
        session_due_enabled=True,
    )
    return made


def export_bytes(user: User, store: PhotoStore) -> bytes:
    """The account's export archive, as the download gives it."""
    _, chunks = export.export_archive(user, store)
    archive = b"".join(chunks)
    # The export reads in a read-only snapshot transaction that a request's teardown ends.
    db.session.rollback()
    return archive


def members(archive: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(archive)) as opened:
        return {name: opened.read(name) for name in opened.namelist()}


def data_json(archive: bytes) -> dict[str, Any]:
    return json.loads(members(archive)["data.json"])


def rezip(contents: dict[str, bytes], *, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in contents.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def with_data(archive: bytes, change: Callable[[dict[str, Any]], object]) -> bytes:
    """The archive with data.json changed in place by `change`."""
    contents = members(archive)
    data = json.loads(contents["data.json"])
    change(data)
    contents["data.json"] = json.dumps(data).encode()
    return rezip(contents)


def row_counts() -> dict[str, int]:
    """How many rows of each kind the database holds, tombstones included."""
    return {
        model.__tablename__: db.session.execute(
            db.select(db.func.count()).select_from(model)
        ).scalar_one()
        for model in (TreatmentSession, Entry, Photo)
    }


def stored_keys(store: PhotoStore) -> set[str]:
    return {prefix.base_key for prefix in store.list_prefixes()}
