"""Deleting an account leaves nothing of it (issue 16, "Deletion is complete"): no row in any
table, no photo byte in the store (folder or S3), nothing readable in SQLite's files, and no link,
calendar feed or login of it that still answers.

The history is made through the real routes, as a phone makes it: notes edited several times,
entries and photos deleted (tombstones), another patient's rows written in between so the two
share database pages, and the account deleted with its password while other connections are open.
The other deletion tests: tests/test_auth.py (password, rate limit) and
tests/test_security_sqlite.py (secure_delete on an SQLite build where it is off by default).
"""

from __future__ import annotations

import sqlite3
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from tests.conftest import PASSWORD, Auth, CSRFClient
from tests.photo_factory import make_photo
from tests.test_api import entry_body, put_photo, session_body, stamp
from tests.test_share import create_link
from webapp.extensions import db
from webapp.models import (
    CalendarFeed,
    Photo,
    PushSubscription,
    ReminderSettings,
    User,
    token_digest,
)

MARKER = "Quagga7319marker"
EMAIL = "ottoline.quagmire@example.com"
NAME = "Ottoline Quagmire"
# Enough days that the entries span many pages and SQLite moves rows between them as they grow.
DAYS = 60
FIRST_DAY = date(2026, 3, 1)


def new_id() -> str:
    return str(uuid.uuid4())


def note(day: int, version: int) -> str:
    """A note holding the marker, of a length that changes with each edit (rows move in pages)."""
    return f"{MARKER} day {day} v{version} " + "itchy and warm " * ((day * 7 + version * 5) % 23)


@dataclass
class History:
    """A patient with a bit of everything, and a bystander whose rows share the pages."""

    patient: User
    bystander: User
    phone: CSRFClient  # deletes the account
    tablet: CSRFClient  # a second signed-in device, with a remember-me cookie
    share_path: str  # /s/<token>
    shared_photo: str  # uuid of a photo the link shows
    calendar_token: str
    photo_keys: list[str] = field(default_factory=list)  # storage keys, tombstoned ones too


def _signed_in(app: Flask, email: str, remember: bool = False) -> CSRFClient:
    client = app.test_client()
    assert Auth(client).login(email, remember=remember).status_code == 302
    return client


def _write_history(client: CSRFClient, photo: bytes, *, own: bool) -> list[str]:
    """DAYS entries, edited three times, every fifth one deleted; sessions; photos. Returns the
    uuids of the entries that stayed."""
    text = note if own else (lambda day, version: f"bystander day {day} v{version} " * 3)
    entries = [new_id() for _ in range(DAYS)]
    for version in range(4):
        for day, entry_id in enumerate(entries):
            body = entry_body(
                FIRST_DAY + timedelta(days=day),
                notes=text(day, version),
                client_updated_at=stamp(version * 10_000 + day),
            )
            assert client.put(f"/api/v1/entries/{entry_id}", json=body).status_code in (200, 201)
    for day in range(0, DAYS, 5):
        assert client.delete(f"/api/v1/entries/{entries[day]}").status_code == 200
    for number in range(3):
        body = session_body(
            date=(FIRST_DAY + timedelta(days=number * 20)).isoformat(),
            notes=text(number, 9),
            provider=f"{MARKER} clinic" if own else "Bystander clinic",
        )
        session_id = new_id()
        assert client.put(f"/api/v1/sessions/{session_id}", json=body).status_code == 201
    assert client.delete(f"/api/v1/sessions/{session_id}").status_code == 200
    kept = [entry_id for day, entry_id in enumerate(entries) if day % 5]
    for entry_id in kept[:3]:
        assert put_photo(client, entry_id, new_id(), photo).status_code == 201
    return kept


@pytest.fixture
def history(app: Flask, make_user) -> History:
    patient = make_user(EMAIL, name=NAME)
    bystander = make_user("bystander@example.com", name="Bystander")
    phone = _signed_in(app, EMAIL)
    tablet = _signed_in(app, EMAIL, remember=True)
    other = _signed_in(app, bystander.email)
    photo = make_photo(800, 600)
    kept = _write_history(phone, photo, own=True)
    _write_history(other, photo, own=False)
    deleted_photo = new_id()
    assert put_photo(phone, kept[3], deleted_photo, photo).status_code == 201
    path = f"/api/v1/entries/{kept[3]}/photos/{deleted_photo}"
    assert phone.delete(path).status_code == 200

    share_path = create_link(phone, include_notes="y")
    dermatologist = app.test_client()
    assert dermatologist.get(share_path).status_code == 200  # a view is logged
    calendar_token = f"{MARKER}-calendar-token"
    with app.app_context():
        db.session.add_all(
            [
                ReminderSettings(user_id=patient.id, daily_enabled=True),
                PushSubscription(
                    user_id=patient.id,
                    endpoint=f"https://push.example.net/{MARKER}",
                    p256dh="BKey" + "A" * 80,
                    auth="secret-auth",
                    device="Chrome on Android",
                ),
                CalendarFeed(user_id=patient.id, token_hash=token_digest(calendar_token)),
            ]
        )
        db.session.commit()
        photos = db.session.execute(
            db.select(Photo.storage_key, Photo.uuid, Photo.deleted_at).where(
                Photo.user_id == patient.id
            )
        ).all()
    shared = next(uuid_ for _, uuid_, deleted_at in photos if deleted_at is None)
    return History(
        patient=patient,
        bystander=bystander,
        phone=phone,
        tablet=tablet,
        share_path=share_path,
        shared_photo=shared,
        calendar_token=calendar_token,
        photo_keys=[key for key, _, _ in photos],
    )


def delete_account(client: CSRFClient) -> None:
    """What the account page's form sends: the password and the CSRF token."""
    response = client.post("/account/delete", data={"password": PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/login")


# --- Nothing readable in SQLite's files ---------------------------------------------------------


def sqlite_path(app: Flask) -> Path:
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("the database files are SQLite's")
        return Path(db.engine.url.database)


def files_of(database: Path) -> bytes:
    """The database and every file SQLite keeps beside it, as a disk image would hold them."""
    names = [database.name + suffix for suffix in ("", "-wal", "-shm", "-journal")]
    return b"".join(
        (database.parent / n).read_bytes() for n in names if (database.parent / n).exists()
    )


def assert_nothing_of_the_patient_in(data: bytes) -> None:
    readable = [secret for secret in (MARKER, EMAIL, NAME) if secret.encode() in data]
    assert not readable, f"still readable in the database files: {readable}"


@pytest.fixture
def other_workers(app: Flask) -> Iterator[list[sqlite3.Connection]]:
    """Connections of other gunicorn workers: open on the same file, idle between requests."""
    database = sqlite_path(app)
    connections = [sqlite3.connect(database, check_same_thread=False) for _ in range(2)]
    for connection in connections:
        connection.execute("PRAGMA busy_timeout=10000")
        connection.execute("SELECT count(*) FROM entries").fetchone()
    yield connections
    for connection in connections:
        connection.close()


def test_the_database_files_hold_nothing_of_a_deleted_account(app, history, other_workers):
    database = sqlite_path(app)
    assert MARKER.encode() in files_of(database), "the test can see the notes"
    with app.app_context():
        pooled = db.engine.connect()  # a connection checked out of the pool, as a request holds
    pooled.execute(sa.text("SELECT count(*) FROM users")).one()
    pooled.commit()

    # Another worker is half-way through a read when the deletion comes; it ends a moment later.
    reading = threading.Event()

    def slow_reader() -> None:
        connection = other_workers[0]
        connection.execute("BEGIN")
        connection.execute("SELECT count(*) FROM entries").fetchone()
        reading.set()
        threading.Event().wait(1.0)
        connection.execute("COMMIT")

    reader = threading.Thread(target=slow_reader)
    reader.start()
    reading.wait()
    delete_account(history.phone)
    reader.join()

    assert_nothing_of_the_patient_in(files_of(database))
    bystander = b"bystander day 1 v3"
    assert bystander in files_of(database), "the other patient's notes are kept"
    pooled.close()
    for connection in other_workers:
        connection.close()
    with app.app_context():
        db.engine.dispose()  # the process ends
    assert_nothing_of_the_patient_in(files_of(database))
    assert bystander in files_of(database)
