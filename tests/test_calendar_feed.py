"""The private calendar address: made and shown once, replaced, revoked, and served to a calendar
app (the .ics itself: tests/test_calendar_ics.py)."""

from __future__ import annotations

import re
from datetime import date, time, timedelta

import pytest
from icalendar import Calendar

from tests.conftest import PASSWORD
from tests.test_calendar_ics import daily_event, photo_events
from tests.test_diary import session_form
from webapp.extensions import db
from webapp.models import CalendarFeed, User, token_digest
from webapp.reminders import feeds, service


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


def stored_feeds(app) -> list[CalendarFeed]:
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
    (feed,) = stored_feeds(app)
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
    assert stored_feeds(app) == []


def test_new_address_replaces_the_old_one(logged_in, app, calendar_app):
    old = create_address(logged_in)
    new = create_address(logged_in)
    assert calendar_app.get(old).status_code == 404
    assert calendar_app.get(new).status_code == 200
    assert len(stored_feeds(app)) == 1


def test_logged_out_cannot_make_an_address(client, app):
    response = client.post("/account/calendar-address")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]
    assert stored_feeds(app) == []


def test_making_an_address_needs_the_csrf_token(logged_in, app):
    assert logged_in.post("/account/calendar-address", csrf=False).status_code == 400
    assert stored_feeds(app) == []


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
    assert stored_feeds(app) == []


def test_two_requests_making_an_address_at_once_leave_the_later_one(app, user, monkeypatch):
    with app.app_context():
        patient = db.session.get(User, user.id)
        earlier = feeds.create_feed(patient)
        # The later request looked before the earlier one's row was committed: it saw none.
        looked = []
        real_feed_of = feeds._feed_of

        def feed_of(of: User):
            looked.append(of)
            return None if len(looked) == 1 else real_feed_of(of)

        monkeypatch.setattr(feeds, "_feed_of", feed_of)
        later = feeds.create_feed(patient)
        assert feeds.feed_for_token(earlier) is None
        assert feeds.feed_for_token(later) is not None
    assert len(stored_feeds(app)) == 1
