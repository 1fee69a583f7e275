"""A patient's reminder settings: read (made with defaults on first need), changed, rescheduled
when their timezone changes, and what is due for them on a day.

`next_due_at` is kept right here, on every change, so the sender only ever reads the one indexed
column: None while nothing is switched on, else the next UTC instant of the patient's local
reminder time (schedule.next_due), never on a local day that already had its reminder.
"""

from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy.exc import IntegrityError

from .. import records
from ..extensions import db
from ..models import ReminderSettings, User, utcnow
from . import schedule
from .calendar import zone_of


def settings_for(user: User) -> ReminderSettings:
    """The patient's settings; the first call makes them with the model's defaults (photo-day
    and session-due nudges on, the daily reminder off, at 20:00) and commits."""
    row = _row_of(user)
    if row is not None:
        return row
    row = ReminderSettings(user_id=user.id)
    db.session.add(row)
    try:
        db.session.flush()  # fills in the column defaults the schedule is computed from
        row.next_due_at = next_due_for(row, user.timezone, utcnow())
        db.session.commit()
    except IntegrityError:
        # Another request made them meanwhile (one row per patient): theirs stands.
        db.session.rollback()
        row = _row_of(user)
        if row is None:
            raise
    return row


def update_settings(
    user: User,
    *,
    daily_enabled: bool,
    remind_at: time,
    photo_days_enabled: bool,
    session_due_enabled: bool,
) -> ReminderSettings:
    """Save the patient's choices and schedule the next reminder by them; commits. A day that
    had its reminder gets no second one, whatever the new time."""
    row = settings_for(user)
    row.daily_enabled = daily_enabled
    # Minutes are what the patient chose and what the sender runs by.
    row.remind_at = remind_at.replace(second=0, microsecond=0, tzinfo=None)
    row.photo_days_enabled = photo_days_enabled
    row.session_due_enabled = session_due_enabled
    row.attempts = 0
    row.next_due_at = next_due_for(row, user.timezone, utcnow())
    db.session.commit()
    return row


def reschedule_user(user: User) -> None:
    """After the patient's timezone changed: the next reminder at their time in the new zone.
    Commits; nothing to do for a patient without settings."""
    row = _row_of(user)
    if row is None:
        return
    row.attempts = 0
    row.next_due_at = next_due_for(row, user.timezone, utcnow())
    db.session.commit()


def reminder_due(user: User, row: ReminderSettings, day: date) -> schedule.Reminder | None:
    """What to send the patient for local date `day`, or None (logged, already reminded that
    day, or nothing switched on is due)."""
    if row.last_sent_on is not None and row.last_sent_on >= day:
        return None
    return schedule.reminder_for(
        day,
        records.live_sessions(user),
        logged=records.entry_on(user, day) is not None,
        preferences=row,
    )


def next_due_for(
    row: ReminderSettings, timezone: str, now: datetime, *, handled: date | None = None
) -> datetime | None:
    """The next time after `now` the sender should look at the patient: their local reminder
    time on a day after the last one reminded (and after `handled`, a day just dealt with);
    None when nothing is switched on."""
    if not (row.daily_enabled or row.photo_days_enabled or row.session_due_enabled):
        return None
    done = max((day for day in (row.last_sent_on, handled) if day is not None), default=None)
    return schedule.next_due(now, row.remind_at, zone_of(timezone), not_on_or_before=done)


def _row_of(user: User) -> ReminderSettings | None:
    return db.session.execute(
        db.select(ReminderSettings).where(ReminderSettings.user_id == user.id)
    ).scalar_one_or_none()
