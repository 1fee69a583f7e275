"""When a reminder is due, and what it says: pure date and time maths, no Flask, no database.

The patient chooses a wall-clock time (`remind_at`) in their own timezone; the database keeps the
next UTC instant of it (`ReminderSettings.next_due_at`), so the sender needs one indexed query.
Each reminder belongs to one local date: the date of that instant on the patient's clock.

DST, decided here once:

* **Gap** (clocks spring forward, e.g. Europe/Berlin 02:00 -> 03:00 on the last Sunday of March):
  a 02:30 reminder does not exist that day. It is sent at 03:30 local, the instant 02:30 would have
  been on the old offset (PEP 495, fold=0): late by the size of the gap, never skipped, never
  early. Other days keep 02:30.
* **Overlap** (clocks fall back, 03:00 -> 02:00): 02:30 happens twice. The reminder goes at the
  first of the two; the second is the same local date, which already had its reminder.
* A day a zone skipped entirely (Pacific/Apia, 30 December 2011) has no reminder of its own.

The message of a day (at most one a day): a photo day after the latest session (PHOTO_DAYS) if
photo nudges are on; else "your next session may be due", once per session, when the days since
the latest session reach the patient's usual interval (the median gap between their sessions);
else the daily reminder if it is on. Nothing for a day already logged.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from itertools import pairwise
from typing import Protocol

from ..progress import SessionCalendar

# Days after a session on which a photo is worth taking (docs/domain.md: the first week shows how
# a session heals, day 28 whether the marks fade).
PHOTO_DAYS: tuple[int, ...] = (1, 3, 7, 14, 28)

DAILY_BODY = "Time to log today"
SESSION_DUE_BODY = "Your next session may be due"


class Preferences(Protocol):
    """What of the reminder settings decides the message (a ReminderSettings row has these)."""

    daily_enabled: bool
    photo_days_enabled: bool
    session_due_enabled: bool
    # The session whose "may be due" was sent already (its UUID), so it is sent once.
    session_due_sent_for: str | None


class DatedSession(Protocol):
    """A live treatment session (a TreatmentSession row has these)."""

    uuid: str
    date: date


@dataclass(frozen=True)
class Reminder:
    kind: str  # "photo_day", "session_due" or "daily"
    body: str
    # For "session_due": the session it is about, recorded once sent.
    session_uuid: str | None = None


def due_at(day: date, remind_at: time, zone: tzinfo) -> datetime:
    """The UTC instant of `remind_at` on local date `day` (see the module's DST rules)."""
    wall = remind_at.replace(tzinfo=None, fold=0)
    return datetime.combine(day, wall).replace(tzinfo=zone).astimezone(UTC)


def local_day(instant: datetime, zone: tzinfo) -> date:
    """The patient's local date at `instant` (aware)."""
    return instant.astimezone(zone).date()


def next_due(
    after: datetime, remind_at: time, zone: tzinfo, *, not_on_or_before: date | None = None
) -> datetime:
    """The first instant of `remind_at` strictly after `after` whose local date is later than
    `not_on_or_before` (a day that had its reminder, or was given up). At most ~25 hours ahead
    when that day is not later than the local date of `after`."""
    day = local_day(after, zone)
    if not_on_or_before is not None and day <= not_on_or_before:
        day = not_on_or_before + timedelta(days=1)
    while True:
        candidate = due_at(day, remind_at, zone)
        # Once the day's instant has passed, or belongs to an earlier date (a skipped day), the
        # next day's is the one.
        if candidate > after and (
            not_on_or_before is None or local_day(candidate, zone) > not_on_or_before
        ):
            return candidate
        day += timedelta(days=1)


def usual_interval(session_dates: Sequence[date]) -> float | None:
    """Median days between consecutive sessions (two on one date count once); None with fewer
    than two session dates."""
    dates = sorted(set(session_dates))
    gaps = [(later - earlier).days for earlier, later in pairwise(dates)]
    return statistics.median(gaps) if gaps else None


def reminder_for(
    day: date, sessions: Sequence[DatedSession], *, logged: bool, preferences: Preferences
) -> Reminder | None:
    """The reminder of local date `day`, or None: already logged, or nothing on that is due."""
    if logged:
        return None
    held = sorted((session for session in sessions if session.date <= day), key=_order)
    alignment = SessionCalendar([session.date for session in held]).align(day)
    if (
        preferences.photo_days_enabled
        and alignment.session_number is not None
        and alignment.days_since_session in PHOTO_DAYS
    ):
        return Reminder(
            "photo_day",
            f"Time to log day {alignment.days_since_session} after session "
            f"{alignment.session_number}",
        )
    if preferences.session_due_enabled and held:
        latest = held[-1]
        interval = usual_interval([session.date for session in held])
        if (
            interval is not None
            and latest.uuid != preferences.session_due_sent_for
            and (day - latest.date).days >= interval
        ):
            return Reminder("session_due", SESSION_DUE_BODY, session_uuid=latest.uuid)
    if preferences.daily_enabled:
        return Reminder("daily", DAILY_BODY)
    return None


def _order(session: DatedSession) -> tuple[date, str]:
    return (session.date, session.uuid)
