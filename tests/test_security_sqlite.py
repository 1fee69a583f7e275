"""On SQLite, a deleted account leaves nothing readable in the database's files.

SQLite only marks deleted rows free, unless secure_delete is on: their bytes stay in the page until
it is reused. Older copies of a page stay in the write-ahead log until it is checkpointed and
emptied.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import PASSWORD
from tests.test_diary import entry_form
from webapp.extensions import db

NOTE = "Zanzibar-quokka-7391 itchy behind the left ear"


def database_bytes(app) -> bytes:
    """The database file and its write-ahead log, as a disk image would hold them."""
    with app.app_context():
        database = Path(db.engine.url.database)
    files = [database, database.with_name(database.name + "-wal")]
    return b"".join(path.read_bytes() for path in files if path.exists())


@pytest.fixture
def secure_delete_off_by_default() -> Iterator[None]:
    """SQLite as most builds ship it: Debian's turns secure_delete on by default, macOS's and
    python.org's do not. This runs before the app's own settings on every new connection."""

    def switch_off(dbapi_connection: object, connection_record: object) -> None:
        if isinstance(dbapi_connection, sqlite3.Connection):
            dbapi_connection.execute("PRAGMA secure_delete=OFF")

    sa.event.listen(sa.engine.Engine, "connect", switch_off, insert=True)
    yield
    sa.event.remove(sa.engine.Engine, "connect", switch_off)


@pytest.fixture
def sqlite_app(secure_delete_off_by_default, app):
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite only")
    return app


def test_a_deleted_accounts_rows_are_not_left_in_the_database_files(sqlite_app, logged_in, user):
    assert logged_in.post("/log", data=entry_form(notes=NOTE)).status_code == 302
    assert NOTE.encode() in database_bytes(sqlite_app), "the test can see the note"
    response = logged_in.post("/account/delete", data={"password": PASSWORD})
    assert response.status_code == 302
    remains = database_bytes(sqlite_app)
    assert NOTE.encode() not in remains
    assert user.email.encode() not in remains
