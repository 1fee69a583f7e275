"""A patient with a bit of everything, for the account deletion tests
(tests/test_account_deletion.py): the history written through the routes as a phone writes it,
the rows that are theirs found through the foreign keys, and stand-ins for the photo store and
an S3 bucket."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta

import sqlalchemy as sa
from flask import Flask

from tests.conftest import PASSWORD, Auth, CSRFClient
from tests.photo_factory import make_photo
from tests.test_api import entry_body, put_photo, session_body, stamp
from tests.test_share import create_link
from webapp.extensions import db
from webapp.models import (
    CalendarFeed,
    Entry,
    Photo,
    PushSubscription,
    ReminderSettings,
    User,
    token_digest,
)
from webapp.storage import PhotoStore, StorageError, StoredPrefix, new_key

MARKER = "Quagga7319marker"
EMAIL = "ottoline.quagmire@example.com"
NAME = "Ottoline Quagmire"
# Enough days that the entries span many pages, which the deletion empties and SQLite rebalances.
DAYS = 60
FIRST_DAY = date(2026, 3, 1)


def new_id() -> str:
    return str(uuid.uuid4())


# How long a note is when first written, then added to the next day, then cut a week later.
NOTE_REPEATS = (2, 15, 3)


def note(day: int, version: int) -> str:
    """A note holding the marker; its length changes with each edit, so rows move in pages."""
    return f"{MARKER} day {day} v{version} " + "itchy and warm " * NOTE_REPEATS[version]


def bystander_note(day: int, version: int) -> str:
    return f"bystander day {day} v{version} " * 3


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


def signed_in(app: Flask, email: str, remember: bool = False) -> CSRFClient:
    client = app.test_client()
    assert Auth(client).login(email, remember=remember).status_code == 302
    return client


Writer = tuple[CSRFClient, Callable[[int, int], str]]


def _put_entry(writer: Writer, entry_id: str, day: int, version: int) -> None:
    client, text = writer
    body = entry_body(
        FIRST_DAY + timedelta(days=day),
        notes=text(day, version),
        client_updated_at=stamp(version * 10_000 + day),
    )
    assert client.put(f"/api/v1/entries/{entry_id}", json=body).status_code in (200, 201)


def _write_entries(patient: Writer, bystander: Writer) -> tuple[list[str], list[str]]:
    """A day at a time, as it happens: both log the day, so their rows share pages; the patient
    also adds to yesterday's note and cuts last week's short, so rows grow and shrink and move
    between pages. Every fifth entry is deleted at the end. Returns the entries that stayed."""
    mine, theirs = [new_id() for _ in range(DAYS)], [new_id() for _ in range(DAYS)]
    for day in range(DAYS):
        _put_entry(patient, mine[day], day, 0)
        _put_entry(bystander, theirs[day], day, 0)
        if day >= 1:
            _put_entry(patient, mine[day - 1], day - 1, 1)
        if day >= 7:
            _put_entry(patient, mine[day - 7], day - 7, 2)
    for (client, _), entries in ((patient, mine), (bystander, theirs)):
        for day in range(0, DAYS, 5):
            assert client.delete(f"/api/v1/entries/{entries[day]}").status_code == 200
    return [e for d, e in enumerate(mine) if d % 5], [e for d, e in enumerate(theirs) if d % 5]


def _write_sessions_and_photos(writer: Writer, entries: list[str], photo: bytes) -> None:
    """Three sessions, the last deleted; a photo on each of the first three entries."""
    client, text = writer
    for number in range(3):
        body = session_body(
            date=(FIRST_DAY + timedelta(days=number * 20)).isoformat(),
            notes=text(number, 1),
            provider=text(number, 0)[:100],
        )
        session_id = new_id()
        assert client.put(f"/api/v1/sessions/{session_id}", json=body).status_code == 201
    assert client.delete(f"/api/v1/sessions/{session_id}").status_code == 200
    for entry_id in entries[:3]:
        assert put_photo(client, entry_id, new_id(), photo).status_code == 201


def make_history(app: Flask, make_user: Callable[..., User]) -> History:
    """The patient's history and a bystander's, written through the routes."""
    patient = make_user(EMAIL, name=NAME)
    bystander = make_user("bystander@example.com", name="Bystander")
    phone = signed_in(app, EMAIL)
    tablet = signed_in(app, EMAIL, remember=True)
    other = signed_in(app, bystander.email)
    photo = make_photo(800, 600)
    writers: list[Writer] = [(phone, note), (other, bystander_note)]
    kept, bystanders = _write_entries(*writers)
    _write_sessions_and_photos(writers[0], kept, photo)
    _write_sessions_and_photos(writers[1], bystanders, photo)
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


def delete_through_the_page(client: CSRFClient) -> None:
    """What the account page's form sends: the password and the CSRF token."""
    response = client.post("/account/delete", data={"password": PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/login")


# --- Whose rows ---------------------------------------------------------------------------------


def ownership(user_id: int) -> dict[str, sa.ColumnElement[bool]]:
    """For every table holding rows of this patient, the condition that picks them, found through
    the metadata's foreign keys: a table pointing at the user, or at a row the user owns (a share
    link's views). A table added later is covered without changing this test."""
    users = db.metadata.tables["users"]
    owned: dict[str, sa.ColumnElement[bool]] = {"users": users.c.id == user_id}
    for table in db.metadata.sorted_tables:  # a table comes after the tables it points at
        clauses = [
            key.parent.in_(sa.select(key.column).where(owned[key.column.table.name]))
            for key in table.foreign_keys
            if key.column.table.name in owned
        ]
        if clauses:
            owned[table.name] = sa.or_(*clauses)
    return owned


def rows_of(user_id: int) -> dict[str, set[tuple]]:
    """Primary keys of the patient's rows, per table."""
    found = {}
    for name, condition in ownership(user_id).items():
        table = db.metadata.tables[name]
        keys = db.session.execute(sa.select(*table.primary_key.columns).where(condition))
        found[name] = {tuple(row) for row in keys}
    return found


def still_there(before: dict[str, set[tuple]]) -> dict[str, int]:
    """How many of these rows still exist, per table (looked up by primary key, not owner)."""
    left = {}
    for name, keys in before.items():
        columns = db.metadata.tables[name].primary_key.columns
        rows = db.session.execute(sa.select(*columns).where(sa.tuple_(*columns).in_(keys)))
        left[name] = len(rows.all())
    return left


# --- Stand-ins for the store ------------------------------------------------------------------


class StoreInFront(PhotoStore):
    """The app's store behind a stand-in that a test changes one operation of."""

    def __init__(self, store: PhotoStore) -> None:
        self.store = store

    def put(self, key: str, data: bytes, content_type: str) -> None:
        self.store.put(key, data, content_type)

    def open(self, key: str) -> Iterator[bytes]:
        return self.store.open(key)

    def size(self, key: str) -> int:
        return self.store.size(key)

    def delete(self, key: str) -> None:
        self.store.delete(key)

    def delete_prefix(self, base_key: str) -> None:
        self.store.delete_prefix(base_key)

    def exists(self, key: str) -> bool:
        return self.store.exists(key)

    def list_prefixes(self) -> Iterator[StoredPrefix]:
        return self.store.list_prefixes()


class FailingStore(StoreInFront):
    """Fails on the second photo it is asked to delete (a network cut)."""

    deleted = 0

    def delete_prefix(self, base_key: str) -> None:
        self.deleted += 1
        if self.deleted == 2:
            raise StorageError("connection reset")
        self.store.delete_prefix(base_key)


class UploadDuringDeletion(StoreInFront):
    """Another device of the patient's finishes an upload (bytes, then its row, committed by
    another worker) just as the deletion starts removing photo bytes."""

    def __init__(self, store: PhotoStore, engine: sa.Engine, patient: User) -> None:
        super().__init__(store)
        self.engine, self.patient = engine, patient
        self.key: str | None = None

    def delete_prefixes(self, base_keys: Iterable[str]) -> None:
        if self.key is None:
            self.key = new_key()
            self.store.put(f"{self.key}/full.jpg", b"\xff\xd8 uploaded meanwhile", "image/jpeg")
            with self.engine.begin() as connection:
                entry = connection.execute(
                    sa.select(Entry.id).where(
                        Entry.user_id == self.patient.id, Entry.deleted_at.is_(None)
                    )
                ).first()
                connection.execute(
                    sa.insert(Photo).values(
                        uuid=new_id(), user_id=self.patient.id, entry_id=entry.id,
                        change_seq=10**6, area="chin", storage_key=self.key, width=1,
                        height=1, byte_size=1, sha256="0" * 64,
                    )
                )  # fmt: skip
        super().delete_prefixes(base_keys)


class SlowBucket:
    """Stands in for a boto3 client at S3's latency: lists three renditions under any prefix,
    answers each request after 20 ms, and counts the requests in flight at once."""

    def __init__(self, refusing: str = "") -> None:
        self.refusing = refusing  # a base key whose objects the bucket will not delete
        self.deleted: list[str] = []
        self.in_flight = self.peak = 0
        self.lock = threading.Lock()

    def get_bucket_versioning(self, Bucket: str) -> dict:
        return {}  # never versioned

    def get_paginator(self, operation: str) -> SlowBucket:
        assert operation == "list_objects_v2"
        return self

    def paginate(self, Bucket: str, Prefix: str) -> Iterator[dict]:
        self._answer()
        yield {
            "Contents": [{"Key": f"{Prefix}{name}.jpg"} for name in ("full", "display", "thumb")]
        }

    def delete_objects(self, Bucket: str, Delete: dict) -> dict:
        self._answer()
        keys = [item["Key"] for item in Delete["Objects"]]
        if self.refusing and keys[0].startswith(f"{self.refusing}/"):
            return {"Errors": [{"Key": keys[0], "Code": "AccessDenied", "Message": "Denied"}]}
        with self.lock:
            self.deleted += keys
        return {}

    def _answer(self) -> None:
        with self.lock:
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
        threading.Event().wait(0.02)
        with self.lock:
            self.in_flight -= 1
