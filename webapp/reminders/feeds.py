"""The patient's private calendar address: made, replaced, revoked, looked up, and what it serves.

The address holds a random token of 256 bits from `secrets`; the database keeps only its SHA-256
(`models.token_digest`), so the address is shown once and a leaked table opens no feed. A patient
has at most one address: a new one replaces the old, which stops working at once, and revoking
deletes the row, so an old address answers exactly like one never made.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy.exc import IntegrityError

from .. import records
from ..extensions import db
from ..models import CalendarFeed, User, token_digest, utcnow
from . import service
from .calendar import FeedSession, FeedSettings, build_calendar, zone_of

TOKEN_BYTES = 32
# Longer than any token made here (43 characters): anything longer is a guess, never looked up.
MAX_TOKEN_LENGTH = 100


def create_feed(user: User) -> str:
    """A new address for the patient, replacing any old one; returns its token (not stored)."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    feed = _feed_of(user)
    if feed is None:
        db.session.add(CalendarFeed(user_id=user.id, token_hash=token_digest(token)))
    else:
        _replace(feed, token)
    try:
        db.session.commit()
    except IntegrityError:
        # Another request made the patient's address meanwhile (one per patient): this newer one
        # replaces it, as a second tap on the button would.
        db.session.rollback()
        feed = _feed_of(user)
        if feed is None:
            raise
        _replace(feed, token)
        db.session.commit()
    return token


def _replace(feed: CalendarFeed, token: str) -> None:
    feed.token_hash = token_digest(token)
    feed.created_at = utcnow()


def revoke_feed(user: User) -> bool:
    """Delete the patient's address; whether there was one."""
    deleted = db.session.execute(
        db.delete(CalendarFeed).where(CalendarFeed.user_id == user.id)
    ).rowcount
    db.session.commit()
    return bool(deleted)


def has_feed(user: User) -> bool:
    return _feed_of(user) is not None


def _feed_of(user: User) -> CalendarFeed | None:
    return db.session.execute(
        db.select(CalendarFeed).where(CalendarFeed.user_id == user.id)
    ).scalar_one_or_none()


def feed_for_token(token: str) -> CalendarFeed | None:
    """The live feed holding this token, or None (unknown, replaced and revoked alike)."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    return db.session.execute(
        db.select(CalendarFeed).where(CalendarFeed.token_hash == token_digest(token))
    ).scalar_one_or_none()


def calendar_of(feed: CalendarFeed, *, log_url: str, now: datetime | None = None) -> bytes:
    """The feed's .ics: the patient's reminder settings and live sessions, nothing else."""
    now = now or utcnow()
    user = feed.user
    sessions = [
        FeedSession(uuid=session.uuid, date=session.date, number=number)
        for number, session in enumerate(records.live_sessions(user), start=1)
    ]
    return build_calendar(
        # The UIDs of the daily reminder and the calendar derive from the token's hash: stable
        # while the address lives, and they give away nothing about the patient.
        feed_key=feed.token_hash,
        timezone=user.timezone,
        settings=_settings_of(user),
        sessions=sessions,
        # Fixed while the address lives, so every fetch sends the same daily event.
        daily_from=feed.created_at.astimezone(zone_of(user.timezone)).date(),
        now=now,
        log_url=log_url,
    )


def _settings_of(user: User) -> FeedSettings:
    """What of the patient's reminder settings the calendar shows (made with the defaults on
    first need, as the account page does)."""
    saved = service.settings_for(user)
    return FeedSettings(
        daily_enabled=saved.daily_enabled,
        remind_at=saved.remind_at,
        photo_days_enabled=saved.photo_days_enabled,
    )
