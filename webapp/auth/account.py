"""A patient's account: signing up, logins (one row per signed-in device), profile and password,
their copy of their data, and deleting all of it. The routes parse forms and answer; the rows
are read and written here. Passwords are hashed by the app's `Passwords` (passwords.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import IntegrityError

from ..extensions import db, erase_deleted_sqlite_content
from ..models import (
    CalendarFeed,
    Entry,
    LoginSession,
    Photo,
    PushSubscription,
    ReminderSettings,
    ShareLink,
    ShareView,
    TreatmentSession,
    User,
    token_digest,
)
from ..passwords import Passwords
from ..reminders import service as reminders_service
from ..storage import PhotoStore


def normal_email(email: str) -> str:
    # Stored lower-cased, so uniqueness is case-insensitive on every database.
    return email.strip().lower()


def user_with_email(email: str) -> User | None:
    return db.session.execute(
        db.select(User).where(User.email == normal_email(email))
    ).scalar_one_or_none()


def sign_up(passwords: Passwords, password: str, user_agent: str, **profile: Any) -> User | None:
    """A new account, logged in on this device (see log_in); None if the email is taken."""
    user = create_account(passwords, password, **profile)
    if user is not None:
        start_login(user, user_agent)
    return user


def create_account(passwords: Passwords, password: str, **profile: Any) -> User | None:
    """A new account with no login yet; None if the email is taken.

    `profile`: email, display_name, track, fitzpatrick, timezone."""
    user = User(
        **dict(profile, email=normal_email(profile["email"])),
        password_hash=passwords.hash(password),
    )
    db.session.add(user)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()  # taken, perhaps by a sign-up a moment ago
        return None
    return user


def log_in(passwords: Passwords, email: str, password: str, user_agent: str) -> User | None:
    """The account, logged in on this device, if the password matches; else None.

    An unknown email costs a password check too, so timing does not tell who has an account.
    """
    user = user_with_email(email)
    matches = passwords.verify(user.password_hash if user else None, password)
    if user is None or not matches:
        return None
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash(password)  # committed with the login row
    start_login(user, user_agent)
    return user


def start_login(user: User, user_agent: str) -> None:
    """A new login row for this device; its token goes on `user` for Flask-Login's cookie."""
    login, token = LoginSession.start(user, user_agent)
    db.session.add(login)
    db.session.commit()
    user.current_login_token = token


def end_login(token: str | None) -> None:
    """Log this device out: its login row goes, so a replayed cookie is refused."""
    if token:
        db.session.execute(
            db.delete(LoginSession).where(LoginSession.token_hash == token_digest(token))
        )
        db.session.commit()


def logins_of(user: User) -> list[LoginSession]:
    """The patient's signed-in devices, newest first."""
    return list(
        db.session.execute(
            db.select(LoginSession)
            .where(LoginSession.user_id == user.id)
            .order_by(LoginSession.created_at.desc())
        ).scalars()
    )


def update_profile(user: User, **profile: Any) -> None:
    """`profile`: display_name, track, fitzpatrick, timezone, keep_photo_times. A new timezone
    moves the next reminder to the patient's hour there."""
    moved = "timezone" in profile and profile["timezone"] != user.timezone
    for name, value in profile.items():
        setattr(user, name, value)
    db.session.commit()
    if moved:
        reminders_service.reschedule_user(user)


def change_password(user: User, passwords: Passwords, new_password: str, user_agent: str) -> None:
    """A new password ends every login, here and on other devices; this device logs in afresh."""
    user.password_hash = passwords.hash(new_password)
    db.session.execute(db.delete(LoginSession).where(LoginSession.user_id == user.id))
    start_login(user, user_agent)


def delete_account(user: User, store: PhotoStore) -> None:
    """Delete the account and everything in it: photo bytes (a tombstone's too), every row that
    is the patient's, and on SQLite every stale copy of them in the database files.

    Bytes go first: if the store fails (StorageError), no row is deleted and the patient can try
    again, rather than rows gone and pictures left behind. Every table is named here, children
    first, rather than left to ON DELETE CASCADE: SQLite enforces that only on a connection that
    turned foreign keys on (tests/test_account_deletion.py checks every table that points at a
    user or at a row of theirs)."""
    deleted: set[str] = set()
    # Asked again after each pass: another device's upload may have committed a photo while the
    # bytes went (S3 takes seconds for a long history), and its row alone would go below. One
    # committing after the last look leaves bytes no row names: `flask photos sweep` takes them.
    while keys := _photo_keys(user) - deleted:
        store.delete_prefixes(keys)
        deleted |= keys
    links = db.select(ShareLink.id).where(ShareLink.user_id == user.id)
    db.session.execute(db.delete(ShareView).where(ShareView.share_link_id.in_(links)))
    for model in OWNED_BY_USER_ID:
        db.session.execute(db.delete(model).where(model.user_id == user.id))
    db.session.delete(user)
    db.session.commit()
    erase_deleted_sqlite_content()


def _photo_keys(user: User) -> set[str]:
    """The storage keys of the patient's photos, tombstones too (their bytes may be left)."""
    keys = db.session.execute(db.select(Photo.storage_key).where(Photo.user_id == user.id))
    return set(keys.scalars())


# The tables with a user_id, children before their parents (photos point at entries).
OWNED_BY_USER_ID = (
    Photo,
    Entry,
    TreatmentSession,
    ShareLink,
    LoginSession,
    ReminderSettings,
    PushSubscription,
    CalendarFeed,
)
