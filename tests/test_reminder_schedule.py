"""The due-time maths of reminders (webapp/reminders/schedule.py): the next UTC instant of the
patient's local reminder time across timezones and DST changes, and which message a day gets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from webapp.reminders.schedule import (
    DAILY_BODY,
    SESSION_DUE_BODY,
    due_at,
    local_day,
    next_due,
    reminder_for,
    usual_interval,
)

BERLIN = ZoneInfo("Europe/Berlin")
SAO_PAULO = ZoneInfo("America/Sao_Paulo")
AUCKLAND = ZoneInfo("Pacific/Auckland")
ZONES = [BERLIN, SAO_PAULO, AUCKLAND, ZoneInfo("UTC"), ZoneInfo("Australia/Lord_Howe")]


@dataclass
class Prefs:
    daily_enabled: bool = True
    photo_days_enabled: bool = True
    session_due_enabled: bool = True
    session_due_sent_for: str | None = None


@dataclass
class Session:
    uuid: str
    date: date


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --- The next instant ------------------------------------------------------------------------


def test_reminder_time_is_the_local_wall_time_in_winter_and_summer():
    assert due_at(date(2026, 1, 15), time(20, 0), BERLIN) == utc(2026, 1, 15, 19, 0)
    assert due_at(date(2026, 7, 15), time(20, 0), BERLIN) == utc(2026, 7, 15, 18, 0)


def test_next_due_is_today_when_the_time_is_still_ahead():
    assert next_due(utc(2026, 1, 15, 12, 0), time(20, 0), BERLIN) == utc(2026, 1, 15, 19, 0)


def test_next_due_is_tomorrow_once_the_time_has_passed():
    assert next_due(utc(2026, 1, 15, 19, 0), time(20, 0), BERLIN) == utc(2026, 1, 16, 19, 0)


def test_berlin_spring_forward_sends_a_reminder_in_the_gap_at_the_shifted_instant():
    # 29 March 2026: 02:00 CET jumps to 03:00 CEST; 02:30 does not exist that day.
    sent = next_due(utc(2026, 3, 28, 12, 0), time(2, 30), BERLIN)
    assert sent == utc(2026, 3, 29, 1, 30)
    assert sent.astimezone(BERLIN).strftime("%Y-%m-%d %H:%M") == "2026-03-29 03:30"
    # The day after keeps the chosen wall time.
    following = next_due(sent, time(2, 30), BERLIN)
    assert following.astimezone(BERLIN).strftime("%Y-%m-%d %H:%M") == "2026-03-30 02:30"


def test_berlin_fall_back_sends_at_the_first_of_the_two_0230s_and_not_again():
    # 25 October 2026: 03:00 CEST falls back to 02:00 CET; 02:30 happens at 00:30 and 01:30 UTC.
    first = next_due(utc(2026, 10, 24, 12, 0), time(2, 30), BERLIN)
    assert first == utc(2026, 10, 25, 0, 30)
    # Between the two 02:30s the next one is the following day's, not the repeated hour's.
    assert next_due(first, time(2, 30), BERLIN) == utc(2026, 10, 26, 1, 30)


def test_evening_reminders_follow_sao_paulo_which_has_no_dst_since_2019():
    assert due_at(date(2026, 1, 10), time(21, 0), SAO_PAULO) == utc(2026, 1, 11, 0, 0)
    assert due_at(date(2026, 7, 10), time(21, 0), SAO_PAULO) == utc(2026, 7, 11, 0, 0)


def test_sao_paulo_2018_spring_forward_at_midnight_moves_a_0030_reminder_an_hour():
    # 4 November 2018: 00:00 jumped to 01:00.
    sent = due_at(date(2018, 11, 4), time(0, 30), SAO_PAULO)
    assert sent.astimezone(SAO_PAULO).strftime("%Y-%m-%d %H:%M") == "2018-11-04 01:30"


def test_auckland_reminder_crosses_the_utc_date_line_and_both_dst_changes():
    # NZDT (+13) in January, NZST (+12) in July: 08:00 local is the previous UTC evening.
    assert due_at(date(2026, 1, 15), time(8, 0), AUCKLAND) == utc(2026, 1, 14, 19, 0)
    assert due_at(date(2026, 7, 15), time(8, 0), AUCKLAND) == utc(2026, 7, 14, 20, 0)
    # 27 September 2026: 02:00 NZST jumps to 03:00 NZDT.
    gap = due_at(date(2026, 9, 27), time(2, 15), AUCKLAND)
    assert gap.astimezone(AUCKLAND).strftime("%H:%M") == "03:15"


def test_a_day_already_reminded_is_skipped_whatever_the_new_time():
    # Reminded at 08:00 today; the patient moves the time to 20:00: the next one is tomorrow's.
    assert next_due(
        utc(2026, 1, 15, 9, 0), time(20, 0), BERLIN, not_on_or_before=date(2026, 1, 15)
    ) == utc(2026, 1, 16, 19, 0)


def test_a_day_the_zone_skipped_gets_no_reminder_of_its_own():
    apia = ZoneInfo("Pacific/Apia")  # 30 December 2011 did not happen there
    first = next_due(utc(2011, 12, 30, 7, 0), time(20, 0), apia)  # 29th, 21:00 local
    assert local_day(first, apia) == date(2011, 12, 31)
    assert local_day(next_due(first, time(20, 0), apia), apia) == date(2012, 1, 1)


instants = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2037, 12, 31), timezones=st.just(UTC)
)
wall_times = st.times().map(lambda value: value.replace(second=0, microsecond=0))


@settings(max_examples=400, derandomize=True, deadline=None)
@given(instants, wall_times, st.sampled_from(ZONES))
def test_next_due_is_in_the_future_and_at_most_a_day_and_an_hour_ahead(now, at, zone):
    due = next_due(now, at, zone)
    assert now < due <= now + timedelta(hours=25)


@settings(max_examples=400, derandomize=True, deadline=None)
@given(instants, wall_times, st.sampled_from(ZONES))
def test_next_due_keeps_the_local_wall_time_unless_the_clock_skipped_it(now, at, zone):
    local = next_due(now, at, zone).astimezone(zone)
    wall = datetime.combine(local.date(), at)
    skipped = wall.replace(tzinfo=zone).astimezone(UTC).astimezone(zone).replace(tzinfo=None)
    if skipped == wall:
        assert local.time().replace(tzinfo=None) == at
    else:  # in a spring-forward gap: later by the gap, the same day
        assert local.date() == wall.date() and local.replace(tzinfo=None) > wall


@settings(max_examples=200, derandomize=True, deadline=None)
@given(instants, wall_times, st.sampled_from(ZONES))
def test_consecutive_reminders_fall_on_consecutive_local_days(now, at, zone):
    first = next_due(now, at, zone)
    second = next_due(first, at, zone)
    assert (local_day(second, zone) - local_day(first, zone)).days == 1


# --- What a day gets ------------------------------------------------------------------------

SESSIONS = [Session("s1", date(2026, 1, 1)), Session("s2", date(2026, 1, 29))]


def test_photo_day_names_the_day_and_the_session():
    reminder = reminder_for(date(2026, 2, 1), SESSIONS, logged=False, preferences=Prefs())
    assert reminder.body == "Time to log day 3 after session 2"


def test_a_logged_day_gets_nothing():
    assert reminder_for(date(2026, 2, 1), SESSIONS, logged=True, preferences=Prefs()) is None


def test_an_ordinary_day_gets_the_daily_reminder():
    reminder = reminder_for(date(2026, 2, 2), SESSIONS, logged=False, preferences=Prefs())
    assert reminder.body == DAILY_BODY


def test_an_ordinary_day_gets_nothing_with_the_daily_reminder_off():
    preferences = Prefs(daily_enabled=False)
    assert reminder_for(date(2026, 2, 2), SESSIONS, logged=False, preferences=preferences) is None


def test_photo_days_off_gives_the_daily_reminder_on_a_photo_day():
    preferences = Prefs(photo_days_enabled=False)
    reminder = reminder_for(date(2026, 2, 1), SESSIONS, logged=False, preferences=preferences)
    assert reminder.body == DAILY_BODY


def test_photo_day_counts_from_the_latest_session_not_an_earlier_one():
    # Day 28 after session 1 is the day of session 2 (day 0): not a photo day.
    reminder = reminder_for(date(2026, 1, 29), SESSIONS, logged=False, preferences=Prefs())
    assert reminder.body == DAILY_BODY


def test_next_session_may_be_due_once_the_usual_interval_has_passed():
    # Sessions 28 days apart; 28 days after session 2 is photo day 28, so the day after.
    reminder = reminder_for(date(2026, 2, 27), SESSIONS, logged=False, preferences=Prefs())
    assert (reminder.body, reminder.session_uuid) == (SESSION_DUE_BODY, "s2")


def test_next_session_may_be_due_only_once_per_session():
    preferences = Prefs(session_due_sent_for="s2")
    reminder = reminder_for(date(2026, 2, 27), SESSIONS, logged=False, preferences=preferences)
    assert reminder.body == DAILY_BODY


def test_next_session_may_be_due_needs_two_sessions():
    one = SESSIONS[:1]
    reminder = reminder_for(date(2026, 3, 15), one, logged=False, preferences=Prefs())
    assert reminder.body == DAILY_BODY


def test_a_session_planned_after_the_day_does_not_count():
    planned = [*SESSIONS, Session("s3", date(2026, 2, 20))]
    reminder = reminder_for(date(2026, 2, 1), planned, logged=False, preferences=Prefs())
    assert reminder.body == "Time to log day 3 after session 2"


def test_usual_interval_is_the_median_gap_and_counts_a_date_once():
    dates = [date(2026, 1, 1), date(2026, 1, 22), date(2026, 1, 22), date(2026, 2, 26)]
    assert usual_interval(dates) == 28  # gaps 21 and 35
    assert usual_interval([date(2026, 1, 1)]) is None
