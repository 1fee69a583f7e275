"""Flask extensions, created unbound so that create_app can bind them to any number of apps."""

import logging
import sqlite3

import sqlalchemy as sa
from flask_compress import Compress
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
compress = Compress()
# Limits are declared on the routes that need them (login, share tokens); none by default.
limiter = Limiter(key_func=get_remote_address)


@sa.event.listens_for(sa.engine.Engine, "connect")
def _sqlite_settings(dbapi_connection, connection_record) -> None:
    """SQLite, the embedded default: write-ahead log, so readers don't wait for writers and each
    commit costs one fsync (synchronous=FULL keeps every acknowledged write durable); wait for a
    lock held by another worker instead of failing; enforce foreign keys as PostgreSQL does;
    overwrite deleted rows with zeros (health data: a deleted account must not stay readable in
    the file; see erase_deleted_sqlite_content for what this does not reach); and whenever a
    writer restarts the log after a checkpoint, cut it back to what that writer wrote, so the old
    copies of pages beyond do not linger in it (one truncation per checkpoint cycle)."""
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.execute("PRAGMA journal_size_limit=0")
    cursor.close()


def erase_deleted_sqlite_content() -> None:
    """After deleting a patient's data on SQLite, leave none of it readable in the database files.
    Nothing to do on other databases.

    secure_delete zeroes a deleted row where it lies, but not the stale copies SQLite leaves in a
    page's unused space when it moves rows between pages. It does so as the deletion itself
    empties pages shared with other patients' rows: they are rebalanced, the patient's rows not
    yet deleted move, and the copy left behind is not a row any more, so nothing zeroes it when
    the row is deleted in its new place (tests/test_account_deletion.py finds whole notes so in
    the file). VACUUM rewrites the database into fresh pages that hold only live rows; the
    checkpoint then copies them into the file and empties the write-ahead log, which holds older
    copies of pages too.

    The cost: VACUUM rewrites the whole file (photo bytes are not in it) and holds the write lock
    meanwhile, so other workers' writes wait for it (busy_timeout, 10 s). Measured: a two-year
    patient is about 1.5 MB; with 40 of them (59 MB) the whole deletion took 0.37 s, so some
    thousand patients come near the 10 s. Deleting an account is rare, and a deployment that
    large runs PostgreSQL. Row ids survive: every table has an INTEGER PRIMARY KEY, which VACUUM
    keeps.

    The account is already deleted when this runs, so a failure here is logged, not raised: the
    next deletion's VACUUM rewrites the file again."""
    if db.engine.dialect.name != "sqlite":
        return
    log = logging.getLogger(__name__)
    try:
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM")
            # Waits (busy_timeout) for readers still on an older snapshot, then empties the log.
            busy, _, _ = connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()
    except sa.exc.OperationalError:  # locked by another writer for longer than busy_timeout
        log.exception("The SQLite file could not be rewritten after an account deletion")
        return
    if busy:
        # A reader in another worker held the log for longer than busy_timeout. journal_size_limit
        # (above) cuts the log back when the next writer restarts it, so its copies go then.
        log.warning("The SQLite write-ahead log could not be emptied after an account deletion")
