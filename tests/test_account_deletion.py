"""Deleting an account leaves nothing of it (issue 16, "Deletion is complete"): no row in any
table, no photo byte in the store (folder or S3), nothing readable in SQLite's files, and no link,
calendar feed or login of it that still answers.

The history (tests/account_history.py) is made through the real routes, as a phone makes it:
notes edited several times, entries and photos deleted (tombstones), another patient's rows
written in between so the two share database pages; the account is deleted with its password
while other connections are open.
The other deletion tests: tests/test_auth.py (password, rate limit) and
tests/test_security_sqlite.py (secure_delete on an SQLite build where it is off by default).
"""

from __future__ import annotations

import sqlite3
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from botocore.exceptions import ClientError
from flask import Flask
from flask_migrate import upgrade

from tests.account_history import (
    EMAIL,
    MARKER,
    NAME,
    PASSWORD,
    FailingStore,
    History,
    SlowBucket,
    UploadDuringDeletion,
    delete_through_the_page,
    make_history,
    rows_of,
    still_there,
)
from tests.s3_server import make_bucket, moto_s3_server, s3_client
from webapp.auth import account
from webapp.extensions import db
from webapp.models import Photo, User
from webapp.storage import PhotoStore, S3PhotoStore, StorageError, new_key
from webapp.storage import s3 as s3_store
from webapp.storage.s3 import DELETE_WORKERS


@pytest.fixture
def history(app: Flask, make_user) -> History:
    return make_history(app, make_user)


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
def sqlite_database(app: Flask) -> Path:
    """The SQLite file of the app under test; the test is skipped on other databases."""
    return sqlite_path(app)


@pytest.fixture
def other_workers(sqlite_database: Path) -> Iterator[list[sqlite3.Connection]]:
    """Connections of other gunicorn workers: open on the same file, idle between requests."""
    connections = [sqlite3.connect(sqlite_database, check_same_thread=False) for _ in range(2)]
    for connection in connections:
        connection.execute("PRAGMA busy_timeout=10000")
        connection.execute("SELECT count(*) FROM entries").fetchone()
    yield connections
    for connection in connections:
        connection.close()


@pytest.fixture(params=["create_all", "migrations"])
def schema(request: pytest.FixtureRequest, app: Flask) -> str:
    """The tables as the tests make them, or as a deployment does (flask db upgrade)."""
    if request.param == "migrations":
        with app.app_context():
            db.drop_all()
            upgrade()
    return request.param


def test_the_database_files_hold_nothing_of_a_deleted_account(
    sqlite_database, app, schema, history, other_workers
):
    database = sqlite_database
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
    delete_through_the_page(history.phone)
    reader.join()

    assert_nothing_of_the_patient_in(files_of(database))
    bystander = b"bystander day 1 v0"
    assert bystander in files_of(database), "the other patient's notes are kept"
    pooled.close()
    for connection in other_workers:
        connection.close()
    with app.app_context():
        db.engine.dispose()  # the process ends
    assert_nothing_of_the_patient_in(files_of(database))
    assert bystander in files_of(database)


def test_every_sqlite_connection_zeroes_deletions_and_cuts_the_log_back(sqlite_database, app):
    with app.app_context(), db.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA secure_delete").scalar_one() == 1
        assert connection.exec_driver_sql("PRAGMA journal_size_limit").scalar_one() == 0


# --- Every row of it ---------------------------------------------------------------------------


def test_every_row_of_the_account_goes_in_every_table(app, history):
    with app.app_context():
        before = rows_of(history.patient.id)
        bystander = rows_of(history.bystander.id)
    empty = sorted(name for name, keys in before.items() if not keys)
    assert not empty, f"the history should hold rows in every table of a patient: add {empty}"

    delete_through_the_page(history.phone)

    with app.app_context():
        assert still_there(before) == dict.fromkeys(before, 0)
        assert rows_of(history.bystander.id) == bystander, "the other patient keeps every row"


def test_every_row_goes_even_where_the_database_would_not_cascade(sqlite_database, app, history):
    """The deletion names every table itself: SQLite cascades only on a connection that turned
    foreign keys on, and a table added without ON DELETE CASCADE would not cascade anywhere."""
    with app.app_context():
        engine = db.engine
        engine.dispose()
        sa.event.listen(engine, "connect", _foreign_keys_off)
        assert db.session.execute(sa.text("PRAGMA foreign_keys")).scalar_one() == 0
        db.session.remove()
        before = rows_of(history.patient.id)
        db.session.remove()

    delete_through_the_page(history.phone)

    with app.app_context():
        assert still_there(before) == dict.fromkeys(before, 0)


def _foreign_keys_off(dbapi_connection: sqlite3.Connection, connection_record: object) -> None:
    dbapi_connection.execute("PRAGMA foreign_keys=OFF")


# --- Every photo byte -----------------------------------------------------------------------------


def test_every_photo_byte_goes_from_the_store_tombstoned_photos_too(app, history):
    store: PhotoStore = app.extensions["photo_store"]
    with app.app_context():
        tombstoned = db.session.execute(
            db.select(Photo.storage_key).where(
                Photo.user_id == history.patient.id, Photo.deleted_at.is_not(None)
            )
        ).scalar_one()
    # Bytes a failed delete left behind a tombstone (records logs it and the sweep would retry).
    store.put(f"{tombstoned}/full.jpg", b"\xff\xd8 left behind", "image/jpeg")
    stored = {prefix.base_key for prefix in store.list_prefixes()}
    assert set(history.photo_keys) <= stored
    bystanders = stored - set(history.photo_keys)
    assert bystanders, "the other patient's photos are in the same store"

    delete_through_the_page(history.phone)

    assert {prefix.base_key for prefix in store.list_prefixes()} == bystanders
    for key in history.photo_keys:
        assert not any(store.exists(f"{key}/{name}.jpg") for name in ("full", "display", "thumb"))


def test_a_photo_uploaded_while_the_account_is_deleted_goes_too(app, history):
    store: PhotoStore = app.extensions["photo_store"]
    with app.app_context():
        racing = UploadDuringDeletion(store, db.engine, history.patient)
    app.extensions["photo_store"] = racing

    delete_through_the_page(history.phone)

    assert racing.key is not None
    assert not store.exists(f"{racing.key}/full.jpg")
    with app.app_context():
        assert (
            db.session.execute(db.select(Photo).where(Photo.storage_key == racing.key)).first()
            is None
        )


def test_a_store_failing_mid_deletion_leaves_the_account_whole_and_deletable_again(app, history):
    store: PhotoStore = app.extensions["photo_store"]
    with app.app_context():
        before = rows_of(history.patient.id)
        user = db.session.get(User, history.patient.id)
        with pytest.raises(StorageError):
            account.delete_account(user, FailingStore(store))
        db.session.rollback()
        assert still_there(before) == {name: len(keys) for name, keys in before.items()}

        account.delete_account(db.session.get(User, history.patient.id), store)
        assert still_there(before) == dict.fromkeys(before, 0)
    left = {prefix.base_key for prefix in store.list_prefixes()} & set(history.photo_keys)
    assert not left


# --- Nothing of it answers ------------------------------------------------------------------------


def test_the_share_links_page_photos_pdf_and_fhir_answer_404_or_410(app, history):
    token_path = history.share_path
    urls = [
        token_path,
        f"{token_path}/photos/{history.shared_photo}/thumb.jpg",
        f"{token_path}/report.pdf",
        f"{token_path}/fhir.json",
    ]
    dermatologist = app.test_client()
    assert [dermatologist.get(url).status_code for url in urls] == [200] * len(urls)

    delete_through_the_page(history.phone)

    for url in urls:
        assert dermatologist.get(url).status_code in (404, 410), url


def test_the_calendar_feed_answers_404(app, history):
    if "reminders.calendar_feed" not in app.view_functions:
        pytest.skip("the calendar feed's route is not built yet")
    url = f"/calendar/{history.calendar_token}.ics"
    calendar_app = app.test_client()
    assert calendar_app.get(url).status_code == 200

    delete_through_the_page(history.phone)

    assert calendar_app.get(url).status_code == 404


def test_the_login_cookie_no_longer_works_on_any_device(app, history):
    assert history.tablet.get("/account").status_code == 200
    remembered = history.tablet.get_cookie("remember_token")
    assert remembered is not None

    delete_through_the_page(history.phone)

    for device in (history.phone, history.tablet):
        assert device.get("/account").status_code == 302
        assert device.get("/api/v1/changes").status_code == 401
    # The remember-me cookie alone, replayed on a browser with no session.
    replay = app.test_client()
    replay.set_cookie("remember_token", remembered.value)
    assert replay.get("/account").status_code == 302


# --- Many photos at once in S3 -----------------------------------------------------------------


def test_an_s3_store_deletes_an_accounts_photos_several_at_once():
    bucket = SlowBucket()
    keys = [new_key() for _ in range(40)]

    S3PhotoStore("photos", client=bucket).delete_prefixes(keys)

    assert sorted(bucket.deleted) == sorted(
        f"{key}/{name}.jpg" for key in keys for name in ("full", "display", "thumb")
    )
    assert 1 < bucket.peak <= DELETE_WORKERS


def test_a_photo_s3_refuses_to_delete_does_not_stop_the_others_and_is_raised():
    keys = [new_key() for _ in range(10)]
    bucket = SlowBucket(refusing=keys[3])

    with pytest.raises(StorageError, match="AccessDenied"):
        S3PhotoStore("photos", client=bucket).delete_prefixes(keys)

    assert {key.partition("/")[0] for key in bucket.deleted} == set(keys) - {keys[3]}


# --- A bucket that keeps old versions ------------------------------------------------------------


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    with moto_s3_server() as endpoint:
        yield endpoint


def versions_in(client: Any, bucket: str, prefix: str) -> list[dict[str, str]]:
    """Every version and delete marker under `prefix`: what the bucket still holds."""
    found = []
    pages = client.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix)
    for page in pages:
        for item in page.get("Versions", []) + page.get("DeleteMarkers", []):
            found.append({"Key": item["Key"], "VersionId": item["VersionId"]})
    return found


@pytest.fixture
def versioned_store(s3_endpoint: str) -> Iterator[S3PhotoStore]:
    """A store in a bucket with versioning on: deleting an object only hides it."""
    client = s3_client(s3_endpoint)
    name = f"skinlog-versioned-{uuid.uuid4().hex[:12]}"
    make_bucket(s3_endpoint, name)
    client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    yield S3PhotoStore(name, "photos", client=client)
    for version in versions_in(client, name, ""):
        client.delete_object(Bucket=name, **version)
    client.delete_bucket(Bucket=name)


def test_a_versioned_bucket_keeps_no_version_of_a_deleted_photo(versioned_store):
    store = versioned_store
    deleted, kept = new_key(), new_key()
    for base in (deleted, kept):
        for name in ("full", "thumb"):
            for version in (b"first", b"second"):  # written twice: two versions each
                store.put(f"{base}/{name}.jpg", version, "image/jpeg")

    store.delete_prefixes([deleted])

    assert versions_in(store.client, store.bucket, f"photos/{deleted}/") == []
    assert len(versions_in(store.client, store.bucket, f"photos/{kept}/")) == 4
    assert store.read(f"{kept}/full.jpg") == b"second"


def test_a_bucket_that_will_not_tell_its_versioning_is_emptied_as_unversioned(caplog, monkeypatch):
    # Alembic's logging set-up (migrations/env.py) disables the loggers that exist when another
    # test of this process runs the migrations.
    monkeypatch.setattr(s3_store.log, "disabled", False)
    bucket = SlowBucket()
    denied = {"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}

    def no_answer(Bucket: str) -> dict:
        raise ClientError(denied, "GetBucketVersioning")

    bucket.get_bucket_versioning = no_answer  # type: ignore[method-assign]
    key = new_key()

    S3PhotoStore("photos", client=bucket).delete_prefixes([key])

    assert len(bucket.deleted) == 3
    assert "cannot tell whether photos keeps old versions" in caplog.text


def test_a_store_failure_answers_the_page_not_a_500_and_keeps_the_device_signed_in(app, history):
    store: PhotoStore = app.extensions["photo_store"]
    with app.app_context():
        before = rows_of(history.patient.id)
    app.extensions["photo_store"] = FailingStore(store)
    try:
        response = history.phone.post("/account/delete", data={"password": PASSWORD})
    finally:
        app.extensions["photo_store"] = store
    assert response.status_code == 302 and response.headers["Location"].endswith("/account")
    assert "could not be removed just now" in history.phone.get("/account").get_data(as_text=True)
    with app.app_context():
        assert still_there(before) == {name: len(keys) for name, keys in before.items()}
    delete_through_the_page(history.phone)
