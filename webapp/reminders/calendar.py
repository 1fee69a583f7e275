"""The private calendar feed (.ics) of a patient's reminders: pure, no Flask, no database.

Push reaches iOS only from a web app added to the Home Screen; a calendar subscription reaches
everyone. The feed holds the daily reminder (a daily recurring event at the patient's local time,
with an alarm) and each session's photo days (PHOTO_DAYS), and nothing else: whoever holds the
address sees when the patient is reminded and on which days after which session, never a rating,
a note or a photo.

Times are local with a TZID and the feed carries its VTIMEZONE, so the alarm rings at the hour the
patient chose on both sides of a DST change, in any calendar app. UIDs are derived from what they
stand for (the feed, a session's UUID and the day), so a refresh updates events, never duplicates
them.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from icalendar import Alarm, Calendar, Event, vDuration

from ..progress import Alignment, SessionCalendar
from .schedule import PHOTO_DAYS

PRODUCT = "Skinlog"
PRODID = "-//Skinlog//Reminders//EN"
CALENDAR_NAME = "Skinlog reminders"
# How often calendar apps should fetch the feed again (RFC 7986, and Outlook's X-PUBLISHED-TTL):
# a new session's photo days show up within this.
REFRESH = timedelta(hours=6)
# A reminder is a moment, not a meeting: short, and shown as free time.
EVENT_LENGTH = timedelta(minutes=15)
# The VTIMEZONE describes the zone's rules from the first event to this far ahead; the feed is
# fetched again long before that runs out.
TIMEZONE_YEARS_AHEAD = 5
# icalendar cannot describe a zone up to date.max (it steps past it): no session is near it.
_LATEST_TIMEZONE_DATE = date(9000, 1, 1)
# UUIDv5 namespace of the feed's own UIDs (the daily reminder, the calendar).
_UID_NAMESPACE = uuid.UUID("6f1d3c8e-2b4a-5e7f-9a10-c2d3e4f5a6b7")
_UID_DOMAIN = "skinlog"

DAILY_SUMMARY = "Time to log today in Skinlog"


@dataclass(frozen=True)
class FeedSettings:
    """What of the patient's reminder settings the calendar shows."""

    daily_enabled: bool
    remind_at: time
    photo_days_enabled: bool


@dataclass(frozen=True)
class FeedSession:
    """A live treatment session: its UUID (for stable UIDs), date and number in the series."""

    uuid: str
    date: date
    number: int


def zone_of(name: str) -> tzinfo:
    """The patient's timezone; an unknown name (never saved by the forms) falls back to UTC, as
    everywhere else in the app, rather than failing the feed."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def build_calendar(
    *,
    feed_key: str,
    timezone: str,
    settings: FeedSettings,
    sessions: Sequence[FeedSession],
    daily_from: date,
    now: datetime,
    log_url: str | None = None,
) -> bytes:
    """The feed as iCalendar bytes.

    `feed_key` names this feed stably without giving its token away (its UIDs derive from it);
    `daily_from` is the local date the daily reminder starts on (kept fixed, so each fetch sends
    the same event); `now` stamps the events; `log_url` is where an event's link opens Log.
    """
    zone = zone_of(timezone)
    stamp = now.astimezone(UTC)
    calendar = Calendar.new(
        prodid=PRODID,
        name=CALENDAR_NAME,
        description=f"Reminders to log in {PRODUCT}.",
        refresh_interval=REFRESH,
        uid=str(uuid.uuid5(_UID_NAMESPACE, f"calendar:{feed_key}")),
    )
    calendar.add("x-published-ttl", vDuration(REFRESH))
    calendar.add("x-wr-timezone", getattr(zone, "key", "UTC"))

    photo_days = photo_days_of(sessions) if settings.photo_days_enabled else []
    at = settings.remind_at.replace(second=0, microsecond=0, tzinfo=None)
    if settings.daily_enabled:
        # On a photo day the photo-day event reminds instead: one reminder a day, as by push.
        skipped = [day for _, _, day in photo_days if day >= daily_from]
        calendar.add_component(
            _daily_event(feed_key, datetime.combine(daily_from, at, zone), skipped, stamp, log_url)
        )
    for session, offset, day in photo_days:
        calendar.add_component(
            _photo_day_event(session, offset, datetime.combine(day, at, zone), stamp, log_url)
        )

    starts = [daily_from] if settings.daily_enabled else []
    starts += [day for _, _, day in photo_days]
    if starts:
        latest = min(max(*starts, stamp.date()), _LATEST_TIMEZONE_DATE)
        last = latest + timedelta(days=366 * TIMEZONE_YEARS_AHEAD)
        first = min(min(starts), latest)
        calendar.add_missing_timezones(first_date=first, last_date=last)
    return calendar.to_ical()


def photo_days_of(sessions: Sequence[FeedSession]) -> list[tuple[FeedSession, int, date]]:
    """(session, day after it, date) of each photo day still inside its session's cycle: once the
    next session is held, days count from that one (progress.SessionCalendar's rule; of two
    sessions on one date, the later numbered counts)."""
    ordered = sorted(sessions, key=lambda session: (session.date, session.number))
    dated = SessionCalendar([session.date for session in ordered])
    days = []
    for position, session in enumerate(ordered, start=1):
        for offset in PHOTO_DAYS:
            try:
                day = session.date + timedelta(days=offset)
            except OverflowError:
                break  # past the year 9999: no calendar shows it
            if dated.align(day) == Alignment(position, offset):
                days.append((session, offset, day))
    return days


def _daily_event(
    feed_key: str,
    start: datetime,
    skipped: Sequence[date],
    stamp: datetime,
    log_url: str | None,
) -> Event:
    event = _event(
        uid=f"daily-{uuid.uuid5(_UID_NAMESPACE, f'daily:{feed_key}')}@{_UID_DOMAIN}",
        summary=DAILY_SUMMARY,
        start=start,
        stamp=stamp,
        log_url=log_url,
    )
    event.add("rrule", {"freq": "daily"})
    if skipped:
        event.add("exdate", [datetime.combine(day, start.timetz()) for day in sorted(skipped)])
    return event


def _photo_day_event(
    session: FeedSession, offset: int, start: datetime, stamp: datetime, log_url: str | None
) -> Event:
    return _event(
        uid=f"{session.uuid}-photo-day-{offset}@{_UID_DOMAIN}",
        summary=f"Photo day {offset} after session {session.number}",
        start=start,
        stamp=stamp,
        log_url=log_url,
    )


def _event(
    *, uid: str, summary: str, start: datetime, stamp: datetime, log_url: str | None
) -> Event:
    """A short, free-time event with an alarm as it starts."""
    event = Event.new(uid=uid, summary=summary, start=start, stamp=stamp, url=log_url)
    event.add("duration", EVENT_LENGTH)
    event.add("transp", "TRANSPARENT")
    if log_url:
        event.add("description", f"Open {PRODUCT}: {log_url}")
    alarm = Alarm.new(description=summary)
    alarm.add("action", "DISPLAY")
    alarm.add("trigger", timedelta(0))
    event.add_component(alarm)
    return event
