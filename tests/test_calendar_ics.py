"""The calendar feed's .ics builder (pure): parsed back with icalendar.

The daily reminder's occurrences are expanded with dateutil's rrule (what calendar apps do) and
placed in time through the feed's own VTIMEZONE, not this machine's zone database, so the tests
check what a calendar app receives.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import available_timezones

from dateutil.rrule import rrulestr
from hypothesis import given, settings
from hypothesis import strategies as st
from icalendar import Calendar, Event

from webapp.reminders.calendar import FeedSession, FeedSettings, build_calendar
from webapp.reminders.schedule import PHOTO_DAYS

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
DAILY_AT_8PM = FeedSettings(daily_enabled=True, remind_at=time(20, 0), photo_days_enabled=True)
SESSION_1 = FeedSession(
    uuid="0b6f8a51-4f7e-4c1e-9d3a-2f5e8c7b1a01", date=date(2027, 3, 1), number=1
)
SESSION_2 = FeedSession(
    uuid="0b6f8a51-4f7e-4c1e-9d3a-2f5e8c7b1a02", date=date(2027, 3, 10), number=2
)


def build(
    *,
    timezone: str = "Europe/Berlin",
    reminder: FeedSettings = DAILY_AT_8PM,
    sessions: tuple[FeedSession, ...] = (),
    daily_from: date = date(2027, 1, 1),
    now: datetime = NOW,
    feed_key: str = "a" * 64,
) -> Calendar:
    ics = build_calendar(
        feed_key=feed_key,
        timezone=timezone,
        settings=reminder,
        sessions=sessions,
        daily_from=daily_from,
        now=now,
        log_url="https://skinlog.example/log",
    )
    return Calendar.from_ical(ics)


def daily_event(calendar: Calendar) -> Event:
    (event,) = [event for event in calendar.events if event.rrules]
    return event


def photo_events(calendar: Calendar) -> dict[str, date]:
    return {str(e["SUMMARY"]): e.start.date() for e in calendar.events if not e.rrules}


def daily_instants(calendar: Calendar, first: date, last: date) -> list[datetime]:
    """The daily reminder's occurrences from `first` to `last`, in UTC as the feed's VTIMEZONE
    places them (the wall-clock times the rule repeats, less the EXDATEs)."""
    event = daily_event(calendar)
    start = event.start
    rule = rrulestr(event.rrules[0].to_ical().decode(), dtstart=start.replace(tzinfo=None))
    skipped = {moment.replace(tzinfo=None) for moment in event.exdates}
    # The feed's own description of the zone; times in UTC are written with a Z and need none.
    zone = start.tzinfo
    for vtimezone in calendar.walk("VTIMEZONE"):
        zone = vtimezone.to_tz(lookup_tzid=False)
    walls = rule.between(datetime.combine(first, time()), datetime.combine(last, time.max))
    return [wall.replace(tzinfo=zone).astimezone(UTC) for wall in walls if wall not in skipped]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --- The builder: the daily reminder --------------------------------------------------------------


def test_daily_reminder_keeps_local_time_across_berlin_spring_forward():
    calendar = build(timezone="Europe/Berlin")
    # Clocks go from 02:00 to 03:00 on 28 March 2027: 20:00 is 19:00 UTC before, 18:00 after.
    assert daily_instants(calendar, date(2027, 3, 27), date(2027, 3, 29)) == [
        utc(2027, 3, 27, 19),
        utc(2027, 3, 28, 18),
        utc(2027, 3, 29, 18),
    ]


def test_daily_reminder_keeps_local_time_across_sao_paulo_dst_start_at_midnight():
    # Brazil's last DST began at midnight on 4 November 2018 (00:00 became 01:00): 00:30 that day
    # does not exist, and calendar apps move it on by the gap (RFC 5545, 3.3.5).
    reminder = FeedSettings(daily_enabled=True, remind_at=time(20, 0), photo_days_enabled=False)
    calendar = build(timezone="America/Sao_Paulo", reminder=reminder, daily_from=date(2018, 11, 1))
    assert daily_instants(calendar, date(2018, 11, 3), date(2018, 11, 4)) == [
        utc(2018, 11, 3, 23),
        utc(2018, 11, 4, 22),
    ]


def test_daily_reminder_keeps_local_time_across_auckland_changes_both_ways():
    reminder = FeedSettings(daily_enabled=True, remind_at=time(7, 30), photo_days_enabled=False)
    calendar = build(timezone="Pacific/Auckland", reminder=reminder, daily_from=date(2027, 1, 1))
    # NZDT (+13) ends on 4 April 2027, NZST (+12) ends on 26 September 2027.
    assert daily_instants(calendar, date(2027, 4, 3), date(2027, 4, 4)) == [
        utc(2027, 4, 2, 18, 30),
        utc(2027, 4, 3, 19, 30),
    ]
    assert daily_instants(calendar, date(2027, 9, 25), date(2027, 9, 26)) == [
        utc(2027, 9, 24, 19, 30),
        utc(2027, 9, 25, 18, 30),
    ]


def test_daily_reminder_is_local_time_with_tzid_and_its_vtimezone():
    calendar = build(timezone="Pacific/Auckland")
    event = daily_event(calendar)
    assert event["DTSTART"].params["TZID"] == "Pacific/Auckland"
    assert event.start.replace(tzinfo=None) == datetime(2027, 1, 1, 20, 0)
    assert [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")] == ["Pacific/Auckland"]


def test_daily_reminder_rings_an_alarm_as_it_starts():
    (alarm,) = daily_event(build()).walk("VALARM")
    assert str(alarm["ACTION"]) == "DISPLAY"
    assert alarm["TRIGGER"].dt == timedelta(0)
    assert str(alarm["DESCRIPTION"])


def test_daily_reminder_off_leaves_only_photo_days():
    reminder = FeedSettings(daily_enabled=False, remind_at=time(20, 0), photo_days_enabled=True)
    calendar = build(reminder=reminder, sessions=(SESSION_1,))
    assert not [event for event in calendar.events if event.rrules]
    assert len(calendar.events) == len(PHOTO_DAYS)


def test_daily_reminder_skips_photo_days_so_a_day_has_one_reminder():
    calendar = build(sessions=(SESSION_1,))
    days = [
        instant.date() for instant in daily_instants(calendar, date(2027, 3, 1), date(2027, 3, 9))
    ]
    assert days == [date(2027, 3, d) for d in (1, 3, 5, 6, 7, 9)]


# --- The builder: photo days ----------------------------------------------------------------------


def test_photo_days_fall_on_the_days_after_each_session():
    calendar = build(sessions=(SESSION_1,))
    assert photo_events(calendar) == {
        f"Photo day {offset} after session 1": date(2027, 3, 1) + timedelta(days=offset)
        for offset in PHOTO_DAYS
    }


def test_photo_days_stop_when_the_next_session_is_held():
    calendar = build(sessions=(SESSION_1, SESSION_2))
    assert photo_events(calendar) == {
        "Photo day 1 after session 1": date(2027, 3, 2),
        "Photo day 3 after session 1": date(2027, 3, 4),
        "Photo day 7 after session 1": date(2027, 3, 8),
        "Photo day 1 after session 2": date(2027, 3, 11),
        "Photo day 3 after session 2": date(2027, 3, 13),
        "Photo day 7 after session 2": date(2027, 3, 17),
        "Photo day 14 after session 2": date(2027, 3, 24),
        "Photo day 28 after session 2": date(2027, 4, 7),
    }


def test_photo_days_are_at_the_reminder_time_with_an_alarm():
    calendar = build(timezone="America/Sao_Paulo", sessions=(SESSION_1,))
    for event in calendar.events:
        assert event["DTSTART"].params["TZID"] == "America/Sao_Paulo"
        assert event.start.time() == time(20, 0)
        assert [str(alarm["ACTION"]) for alarm in event.walk("VALARM")] == ["DISPLAY"]


def test_photo_days_off_leaves_only_the_daily_reminder():
    reminder = FeedSettings(daily_enabled=True, remind_at=time(20, 0), photo_days_enabled=False)
    calendar = build(reminder=reminder, sessions=(SESSION_1,))
    assert [event.rrules != [] for event in calendar.events] == [True]
    assert not daily_event(calendar).exdates


# --- The builder: what the feed holds ------------------------------------------------------------


def test_uids_stay_the_same_on_every_fetch():
    first = build(sessions=(SESSION_1, SESSION_2), now=NOW)
    later = build(sessions=(SESSION_1, SESSION_2), now=NOW + timedelta(days=3))
    assert [str(e["UID"]) for e in first.events] == [str(e["UID"]) for e in later.events]
    assert str(first["UID"]) == str(later["UID"])


def test_uids_are_unique_and_name_the_session_and_day():
    calendar = build(sessions=(SESSION_1, SESSION_2))
    uids = [str(event["UID"]) for event in calendar.events]
    assert len(set(uids)) == len(uids)
    assert f"{SESSION_2.uuid}-photo-day-28@skinlog" in uids


def test_another_feed_has_another_daily_uid():
    assert str(daily_event(build(feed_key="a" * 64))["UID"]) != str(
        daily_event(build(feed_key="b" * 64))["UID"]
    )


def test_feed_names_the_product():
    calendar = build()
    assert "Skinlog" in str(calendar["PRODID"])
    assert str(calendar["X-WR-CALNAME"]) == "Skinlog reminders"


def test_unknown_timezone_falls_back_to_utc():
    calendar = build(timezone="Mars/Olympus_Mons")
    assert daily_instants(calendar, date(2027, 3, 1), date(2027, 3, 1)) == [utc(2027, 3, 1, 20)]


def test_nothing_enabled_is_an_empty_calendar_that_parses():
    reminder = FeedSettings(daily_enabled=False, remind_at=time(20, 0), photo_days_enabled=False)
    assert build(reminder=reminder, sessions=(SESSION_1,)).events == []


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    timezone=st.sampled_from(sorted(available_timezones())),
    remind_at=st.times(),
    daily_enabled=st.booleans(),
    photo_days_enabled=st.booleans(),
    session_dates=st.lists(st.dates(), max_size=6),
    daily_from=st.dates(),
)
def test_any_zone_time_and_sessions_build_a_feed_that_parses(
    timezone, remind_at, daily_enabled, photo_days_enabled, session_dates, daily_from
):
    sessions = tuple(
        FeedSession(uuid=f"00000000-0000-4000-8000-{n:012d}", date=day, number=n)
        for n, day in enumerate(sorted(session_dates), start=1)
    )
    reminder = FeedSettings(daily_enabled, remind_at, photo_days_enabled)
    calendar = build(timezone=timezone, reminder=reminder, sessions=sessions, daily_from=daily_from)
    for event in calendar.events:
        assert event.start.replace(tzinfo=None).time() == remind_at.replace(second=0, microsecond=0)
    if daily_enabled:
        assert daily_event(calendar).start.date() == daily_from
