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
    the file)."""
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def flush_sqlite_write_ahead_log() -> None:
    """After deleting a patient's data: on SQLite, secure_delete zeroes the rows only in the newest
    copy of each page, and the write-ahead log still holds older copies. Copy the pages into the
    database file and empty the log. Nothing to do on other databases."""
    if db.engine.dialect.name != "sqlite":
        return
    with db.engine.connect() as connection:
        busy, _, _ = connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()
    if busy:  # a reader in another worker kept the log; the next checkpoint that ends it will do
        logging.getLogger(__name__).warning("The SQLite write-ahead log could not be emptied")
