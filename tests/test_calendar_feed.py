"""The private calendar feed: the .ics builder (pure), and its address made, shown once, replaced,
revoked and served.

The builder's output is parsed back with icalendar. The daily reminder's occurrences are expanded
with dateutil's rrule (what calendar apps do) and placed in time through the feed's own VTIMEZONE,
not this machine's zone database, so the tests check what a calendar app receives.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import available_timezones

import pytest
from dateutil.rrule import rrulestr
from hypothesis import given, settings
from hypothesis import strategies as st
from icalendar import Calendar, Event

from tests.conftest import PASSWORD
from tests.test_diary import session_form
from webapp.extensions import db
from webapp.models import CalendarFeed, User, token_digest
from webapp.reminders import service
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


# --- The address: made, shown once, replaced, revoked, served -------------------------------------


def create_address(client) -> str:
    """Make an address through the account page's button; returns the path shown once."""
    response = client.post("/account/calendar-address")
    assert response.status_code == 200, response.get_data(as_text=True)
    page = response.get_data(as_text=True)
    match = re.search(r'value="http://localhost(/calendar/[A-Za-z0-9_-]+\.ics)"', page)
    assert match, "the page shows the address"
    assert f'href="webcal://localhost{match.group(1)}"' in page
    return match.group(1)


def token_of(path: str) -> str:
    return path.removeprefix("/calendar/").removesuffix(".ics")


def feeds(app) -> list[CalendarFeed]:
    with app.app_context():
        return list(db.session.execute(db.select(CalendarFeed)).scalars())


def remind(app, user, *, daily_enabled: bool, remind_at: time) -> None:
    """The patient's reminder settings, saved as the account page saves them."""
    with app.app_context():
        service.update_settings(
            db.session.get(User, user.id),
            daily_enabled=daily_enabled,
            remind_at=remind_at,
            photo_days_enabled=True,
            session_due_enabled=True,
        )


@pytest.fixture
def calendar_app(app):
    """A calendar app: fetches the feed with no login."""
    return app.test_client()


def test_token_has_at_least_128_bits_and_only_its_hash_is_stored(logged_in, app):
    token = token_of(create_address(logged_in))
    assert len(token) >= 43  # 32 random bytes in URL-safe base64: 256 bits
    (feed,) = feeds(app)
    assert feed.token_hash == token_digest(token)
    assert token not in feed.token_hash


def test_address_is_shown_once_and_never_cached(logged_in):
    response = logged_in.post("/account/calendar-address")
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "Anyone who has it sees when you are reminded" in response.get_data(as_text=True)


def test_feed_is_served_to_a_calendar_app_with_no_login(logged_in, calendar_app):
    path = create_address(logged_in)
    response = calendar_app.get(path)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert response.headers["Content-Disposition"] == 'inline; filename="skinlog-reminders.ics"'
    assert Calendar.from_ical(response.data)["X-WR-CALNAME"] == "Skinlog reminders"


def test_feed_answers_are_private_uncached_and_send_no_referrer(logged_in, calendar_app):
    path = create_address(logged_in)
    for response in (calendar_app.get(path), calendar_app.get("/calendar/unknown.ics")):
        assert response.headers["Cache-Control"] == "private, no-store"
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert "noindex" in response.headers["X-Robots-Tag"]
        assert "Set-Cookie" not in response.headers


def test_feed_holds_the_patients_settings_and_session_photo_days(
    logged_in, app, user, calendar_app
):
    session_day = date.today() - timedelta(days=3)
    assert (
        logged_in.post("/sessions/new", data=session_form(date=session_day.isoformat())).status_code
        == 302
    )
    remind(app, user, daily_enabled=True, remind_at=time(7, 45))
    calendar = Calendar.from_ical(calendar_app.get(create_address(logged_in)).data)
    assert daily_event(calendar).start.time() == time(7, 45)
    assert photo_events(calendar)["Photo day 3 after session 1"] == session_day + timedelta(days=3)
    assert "Riverside Clinic" not in calendar.to_ical().decode()  # the session's provider


def test_feed_follows_the_patients_timezone(logged_in, app, user, calendar_app):
    path = create_address(logged_in)
    remind(app, user, daily_enabled=True, remind_at=time(20, 0))
    with app.app_context():
        db.session.get(User, user.id).timezone = "Pacific/Auckland"
        db.session.commit()
    event = daily_event(Calendar.from_ical(calendar_app.get(path).data))
    assert event["DTSTART"].params["TZID"] == "Pacific/Auckland"
    assert event.start.time() == time(20, 0)


def test_unknown_token_is_404(calendar_app):
    assert calendar_app.get("/calendar/" + "x" * 43 + ".ics").status_code == 404
    assert calendar_app.get("/calendar/" + "x" * 500 + ".ics").status_code == 404


def test_revoked_address_is_404_and_its_row_gone(logged_in, app, calendar_app):
    path = create_address(logged_in)
    response = logged_in.post("/account/calendar-address/revoke")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/account")
    assert calendar_app.get(path).status_code == 404
    assert feeds(app) == []


def test_new_address_replaces_the_old_one(logged_in, app, calendar_app):
    old = create_address(logged_in)
    new = create_address(logged_in)
    assert calendar_app.get(old).status_code == 404
    assert calendar_app.get(new).status_code == 200
    assert len(feeds(app)) == 1


def test_logged_out_cannot_make_an_address(client, app):
    response = client.post("/account/calendar-address")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]
    assert feeds(app) == []


def test_making_an_address_needs_the_csrf_token(logged_in, app):
    assert logged_in.post("/account/calendar-address", csrf=False).status_code == 400
    assert feeds(app) == []


def test_revoking_needs_the_csrf_token(logged_in, app, calendar_app):
    path = create_address(logged_in)
    assert logged_in.post("/account/calendar-address/revoke", csrf=False).status_code == 400
    assert calendar_app.get(path).status_code == 200


def test_another_patient_cannot_revoke_or_replace_an_address(logged_in, other_client, calendar_app):
    path = create_address(logged_in)
    other_client.post("/account/calendar-address/revoke")
    create_address(other_client)
    assert calendar_app.get(path).status_code == 200


def test_guessing_tokens_is_rate_limited(calendar_app):
    statuses = [calendar_app.get(f"/calendar/guess{n}.ics").status_code for n in range(21)]
    assert statuses[:20] == [404] * 20
    assert statuses[-1] == 429


def test_a_calendar_app_fetching_a_live_address_is_not_rate_limited(logged_in, calendar_app):
    path = create_address(logged_in)
    assert {calendar_app.get(path).status_code for _ in range(30)} == {200}


def test_account_page_offers_an_address_then_a_new_one_and_revoke(logged_in):
    page = logged_in.get("/account").get_data(as_text=True)
    assert "Add reminders to your calendar" in page
    assert "Make a calendar address" in page and "Revoke the calendar address" not in page
    create_address(logged_in)
    page = logged_in.get("/account").get_data(as_text=True)
    assert "Make a new calendar address" in page and "Revoke the calendar address" in page


def test_revoking_says_so_on_the_account_page(logged_in):
    create_address(logged_in)
    response = logged_in.post("/account/calendar-address/revoke", follow_redirects=True)
    assert "Your calendar address no longer works" in response.get_data(as_text=True)


def test_deleting_the_account_ends_its_address(logged_in, app, calendar_app):
    path = create_address(logged_in)
    response = logged_in.post("/account/delete", data={"password": PASSWORD})
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert calendar_app.get(path).status_code == 404
    assert feeds(app) == []
