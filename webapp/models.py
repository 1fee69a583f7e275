"""The data model: SQLAlchemy 2.x typed models.

Rows a phone creates offline (sessions, entries, photos) carry a client-made UUID, so that a
replayed upload finds the row it already made. Deleting them leaves a tombstone (`deleted_at`) so
a second device learns of the deletion. Which session an entry belongs to, and its "day N", are
derived in `progress`, never stored.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, date, datetime, time
from typing import Any

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .extensions import db
from .vocabulary import RATINGS


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(sa.types.TypeDecorator):
    """Timezone-aware UTC datetimes on every database.

    SQLite drops the offset, PostgreSQL keeps it; storing naive UTC and handing back aware UTC makes
    comparisons (last writer wins) behave the same on both.
    """

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where UTC is required")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def token_digest(token: str) -> str:
    """What the database keeps of a bearer token: a leaked table does not yield working tokens."""
    return hashlib.sha256(token.encode()).hexdigest()


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored lower-cased, so uniqueness is case-insensitive on every database.
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    display_name: Mapped[str] = mapped_column(sa.String(80))
    track: Mapped[str] = mapped_column(sa.String(8), default="both")
    fitzpatrick: Mapped[str | None] = mapped_column(sa.String(3))
    timezone: Mapped[str] = mapped_column(sa.String(64), default="UTC")
    # Capture times are stripped from every photo file; kept in the database only if asked.
    keep_photo_times: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The last number of this patient's change sequence (records.claim_changes): every write of a
    # synced row takes the next one, under this row's lock, so /changes can follow them in order.
    change_seq: Mapped[int] = mapped_column(sa.BigInteger, default=0, server_default="0")

    # Set by the user loader: which login (device) this request belongs to; see LoginSession.
    current_login_token = None  # str | None, per instance; not a column

    def get_id(self) -> str | None:
        # Flask-Login keeps this in the session and remember cookies. It names a login, not the
        # user, so ending that login in the database refuses a replayed cookie.
        return self.current_login_token


class LoginSession(db.Model):
    """One signed-in device. Logging out deletes it; changing the password deletes all of them."""

    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    user_agent: Mapped[str] = mapped_column(sa.String(120), default="")

    user: Mapped[User] = relationship()

    @classmethod
    def start(cls, user: User, user_agent: str = "") -> tuple[LoginSession, str]:
        """A new login for `user`; returns the row and the token (only its hash is stored)."""
        token = secrets.token_urlsafe(32)
        return cls(user=user, token_hash=token_digest(token), user_agent=user_agent[:120]), token


class SyncedMixin:
    """Columns shared by the rows a phone creates offline and syncs (their JSON: serializers).

    `change_seq` orders a patient's writes as they committed (see User.change_seq); it is the
    cursor of /changes. `updated_at` is only when, for people.
    """

    uuid: Mapped[str] = mapped_column(sa.String(36), unique=True)
    change_seq: Mapped[int] = mapped_column(sa.BigInteger)
    client_updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow, index=True
    )
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class TreatmentSession(SyncedMixin, db.Model):
    __tablename__ = "treatment_sessions"
    __table_args__ = (sa.Index("ix_treatment_sessions_user_change", "user_id", "change_seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    date: Mapped[date] = mapped_column(sa.Date)
    # None only on a tombstone, which keeps no content (records.delete_row).
    device: Mapped[str | None] = mapped_column(sa.String(16))
    needle_depth_mm: Mapped[float | None] = mapped_column(sa.Float)
    areas: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    topicals: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    setting: Mapped[str] = mapped_column(sa.String(16), default="clinic")
    provider: Mapped[str] = mapped_column(sa.String(120), default="")
    notes: Mapped[str] = mapped_column(sa.Text, default="")


class Entry(SyncedMixin, db.Model):
    """One daily log. One live entry per user per date (tombstones do not count)."""

    __tablename__ = "entries"
    __table_args__ = (
        sa.Index(
            "uq_entries_user_date_live",
            "user_id",
            "date",
            unique=True,
            sqlite_where=sa.text("deleted_at IS NULL"),
            postgresql_where=sa.text("deleted_at IS NULL"),
        ),
        sa.Index("ix_entries_user_change", "user_id", "change_seq"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    date: Mapped[date] = mapped_column(sa.Date)
    redness: Mapped[int | None]
    swelling: Mapped[int | None]
    pain: Mapped[int | None]
    itching: Mapped[int | None]
    dryness: Mapped[int | None]
    bruising: Mapped[int | None]
    pie_severity: Mapped[int | None]
    pih_severity: Mapped[int | None]
    red_flags: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    aftercare: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    notes: Mapped[str] = mapped_column(sa.Text, default="")

    photos: Mapped[list[Photo]] = relationship(
        back_populates="entry",
        order_by="Photo.id",
        primaryjoin="and_(Photo.entry_id == Entry.id, Photo.deleted_at.is_(None))",
        viewonly=True,
    )

    @property
    def ratings(self) -> dict[str, int | None]:
        return {name: getattr(self, name) for name in RATINGS}


# JSON whose None is SQL NULL, not the JSON text 'null', so a query can find what was not measured.
MEASURE = sa.JSON(none_as_null=True)


class Photo(SyncedMixin, db.Model):
    """A sanitised photo. Its bytes live in `storage` under `storage_key`/<rendition>.jpg."""

    __tablename__ = "photos"
    __table_args__ = (sa.Index("ix_photos_user_change", "user_id", "change_seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Kept beside entry_id so that every photo query can be scoped to its owner without a join.
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    entry_id: Mapped[int] = mapped_column(
        sa.ForeignKey("entries.id", ondelete="CASCADE"), index=True
    )
    area: Mapped[str] = mapped_column(sa.String(16))
    storage_key: Mapped[str] = mapped_column(sa.String(64), unique=True)
    width: Mapped[int]
    height: Mapped[int]
    byte_size: Mapped[int]
    sha256: Mapped[str] = mapped_column(sa.String(64))
    taken_at: Mapped[datetime | None] = mapped_column(sa.DateTime)
    # Indicative colour of the analysed region (CIELAB D65 and ITA°); see imaging.colour_metrics.
    lab_l: Mapped[float | None]
    lab_a: Mapped[float | None]
    lab_b: Mapped[float | None]
    ita_deg: Mapped[float | None]
    # (left, top, right, bottom) fractions the patient chose; None means the default central region.
    region: Mapped[list[float] | None] = mapped_column(sa.JSON)
    # Measured at ingest on the analysis copy (imaging); NULL for photos stored before they were
    # (`flask photos measure` finds them by it) and for tombstones.
    # quality: {"verdict": "good" | "fair" | "poor", "reasons": [...], "mean_l", "clipped", ...}
    quality: Mapped[dict[str, Any] | None] = mapped_column(MEASURE)
    # marks: the red and dark marks against the skin around them (imaging.measure_marks)
    marks: Mapped[dict[str, Any] | None] = mapped_column(MEASURE)
    # alignment: the similarity that maps this photo onto its area's reference photo
    # (records.alignment): {"reference": uuid | None, "matrix": [...], "score", "aligned"}
    alignment: Mapped[dict[str, Any] | None] = mapped_column(MEASURE)

    entry: Mapped[Entry] = relationship(back_populates="photos")

    def rendition_key(self, rendition: str) -> str:
        return f"{self.storage_key}/{rendition}.jpg"

    @property
    def lab(self) -> dict[str, float] | None:
        if self.lab_l is None:
            return None
        return {"L": self.lab_l, "a": self.lab_a, "b": self.lab_b, "ita": self.ita_deg}


class ShareLink(db.Model):
    """A read-only capability for a dermatologist. Only the token's hash is stored."""

    __tablename__ = "share_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(sa.String(120))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    date_from: Mapped[date | None] = mapped_column(sa.Date)
    date_to: Mapped[date | None] = mapped_column(sa.Date)
    include_photos: Mapped[bool] = mapped_column(default=True)
    include_notes: Mapped[bool] = mapped_column(default=False)

    user: Mapped[User] = relationship()
    views: Mapped[list[ShareView]] = relationship(
        back_populates="share_link", order_by="ShareView.viewed_at.desc()"
    )

    def status(self, now: datetime | None = None) -> str:
        now = now or utcnow()
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at <= now:
            return "expired"
        return "active"


class ShareView(db.Model):
    __tablename__ = "share_views"

    id: Mapped[int] = mapped_column(primary_key=True)
    share_link_id: Mapped[int] = mapped_column(
        sa.ForeignKey("share_links.id", ondelete="CASCADE"), index=True
    )
    viewed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Coarse only ("Safari on iPhone"): the patient learns who looked, we keep no fingerprint.
    client: Mapped[str] = mapped_column(sa.String(80), default="")

    share_link: Mapped[ShareLink] = relationship(back_populates="views")


class ReminderSettings(db.Model):
    """When to remind one patient to log (reminders package). One row per patient, made with
    defaults the first time the account page or the sender needs it.

    `next_due_at` (UTC) is the one column the sender queries, indexed: the next moment something
    may be due. The reminder time itself is local (`remind_at` in User.timezone), so a DST change
    moves the UTC instant, not the hour the patient chose."""

    __tablename__ = "reminder_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    daily_enabled: Mapped[bool] = mapped_column(default=False)
    remind_at: Mapped[time] = mapped_column(sa.Time, default=time(20, 0))
    # Days 1, 3, 7, 14 and 28 after a session: "take a photo today".
    photo_days_enabled: Mapped[bool] = mapped_column(default=True)
    # "Your next session may be due", once, when the usual interval between sessions has passed.
    session_due_enabled: Mapped[bool] = mapped_column(default=True)
    next_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    # The patient's local date of the last reminder sent: at most one a day.
    last_sent_on: Mapped[date | None] = mapped_column(sa.Date)
    # The session whose "next session may be due" was sent, so it is sent once.
    session_due_sent_for: Mapped[str | None] = mapped_column(sa.String(36))
    # Failed tries of the reminder now due (push service 5xx/429): the next try backs off.
    attempts: Mapped[int] = mapped_column(default=0)

    user: Mapped[User] = relationship()


class PushSubscription(db.Model):
    """One browser's Web Push subscription (a device the patient chose to be reminded on)."""

    __tablename__ = "push_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # The push service's URL for this browser: unique, a capability of its own.
    endpoint: Mapped[str] = mapped_column(sa.String(1024), unique=True)
    p256dh: Mapped[str] = mapped_column(sa.String(200))
    auth: Mapped[str] = mapped_column(sa.String(64))
    # Coarse only ("Chrome on Android"), for the patient's list of devices.
    device: Mapped[str] = mapped_column(sa.String(80), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class CalendarFeed(db.Model):
    """A private .ics address of one patient's reminders. Only the token's hash is stored; a new
    address replaces the old one, and revoking deletes the row."""

    __tablename__ = "calendar_feeds"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship()


def iso_utc(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a Z, as every answer of the API writes times."""
    return None if value is None else value.isoformat().replace("+00:00", "Z")
