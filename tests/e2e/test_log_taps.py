"""A returning patient logs a typical day in a few taps (issue 12, items 1 to 4).

Measured before: 32 visible controls, a form 2,472 px tall, native dropdowns for the six ratings
and 24 to 28 taps for a day with two photos. A typical day — six ratings, PIE and PIH, aftercare as
usual, one photo — must take at most 8 taps and 30 seconds, counted as a person acts: each step
a tap on a visible control.
"""

from __future__ import annotations

import re
import time
import uuid
from datetime import date, timedelta

from playwright.sync_api import expect

from tests.e2e import test_offline as offline
from tests.e2e.log_form import expect_rated, rate, rating
from tests.e2e.test_first_week import register
from tests.e2e.test_offline import go_offline, wait_until_offline_ready
from tests.photo_factory import make_photo
from webapp import records
from webapp.extensions import db
from webapp.models import Entry, User
from webapp.validation import parse_entry, parse_session

gate = offline.gate
server = offline.server

TODAY = date.today()
YESTERDAY = TODAY - timedelta(days=1)
PHONE_HEIGHT = 844
YESTERDAYS_RATINGS = {
    "redness": 4, "swelling": 2, "pain": 1, "itching": 3, "dryness": 5, "bruising": 0,
}  # fmt: skip


class Taps:
    """Counts what the patient does: every tap on a visible control goes through here."""

    def __init__(self, page) -> None:
        self.page = page
        self.count = 0

    def tap(self, control) -> None:
        expect(control).to_be_visible()
        self.count += 1
        control.tap()

    def choose_photo(self, control, path) -> None:
        """A tap on the photo button opens the camera or gallery; the photo chosen there."""
        expect(control).to_be_visible()
        self.count += 1
        with self.page.expect_file_chooser() as chooser:
            control.click()
        chooser.value.set_files(str(path))


def seed_yesterday(live_app, *, session_days_ago: int = 3) -> None:
    """A returning patient: a session a few days ago, and yesterday's entry with a left-cheek
    photo, saved as the app saves them."""
    with live_app.app_context():
        user = db.session.execute(db.select(User)).scalar_one()
        session = {"date": (TODAY - timedelta(days=session_days_ago)).isoformat(),
                   "device": "pen", "needle_depth_mm": 0.5, "areas": ["left_cheek"],
                   "topicals": [], "setting": "clinic", "provider": "", "notes": ""}  # fmt: skip
        records.save_session(user, str(uuid.uuid4()), parse_session(session, latest_date=TODAY))
        payload = {"date": YESTERDAY.isoformat(), "ratings": YESTERDAYS_RATINGS,
                   "pie_severity": 2, "pih_severity": 1, "red_flags": [],
                   "aftercare": ["sunscreen", "gentle_cleanser"], "notes": "Flaky."}  # fmt: skip
        entry = records.save_entry(user, str(uuid.uuid4()), parse_entry(payload, latest_date=TODAY))
        store = live_app.extensions["photo_store"]
        records.add_photo(user, entry.row, str(uuid.uuid4()), "left_cheek", make_photo(800, 600),
                          store)  # fmt: skip


def a_photo(tmp_path):
    photo = tmp_path / "cheek.jpg"
    photo.write_bytes(make_photo(1200, 900))
    return photo


def test_a_returning_patient_logs_a_typical_day_in_at_most_8_taps_and_30_seconds(
    page, live_server, live_app, screenshots, tmp_path
):
    register(page, live_server.url, "usual@example.com")
    seed_yesterday(live_app)
    page.goto(live_server.url)  # the app, opened on Today
    photo = a_photo(tmp_path)
    taps = Taps(page)

    started = time.monotonic()
    taps.tap(page.get_by_role("navigation", name="Main").get_by_role("link", name="Log"))
    taps.tap(page.get_by_role("link", name="Same as yesterday"))
    taps.tap(rating(page, "Redness").get_by_role("radio", name="3", exact=True))
    taps.tap(rating(page, "Dryness or peeling").get_by_role("radio", name="4", exact=True))
    taps.choose_photo(page.get_by_label("Photo 1", exact=True), photo)
    page.screenshot(path=screenshots / "01-typical-day-filled.png", full_page=True)
    taps.tap(page.get_by_role("button", name="Save entry"))
    expect(page.get_by_text("Saved.")).to_be_visible()
    seconds = time.monotonic() - started
    page.screenshot(path=screenshots / "02-saved.png", full_page=True)

    print(f"\nA typical day: {taps.count} taps, {seconds:.1f} s")
    assert taps.count <= 8
    assert seconds < 30
    with live_app.app_context():
        entry = db.session.execute(db.select(Entry).where(Entry.date == TODAY)).scalar_one()
        assert {name: getattr(entry, name) for name in YESTERDAYS_RATINGS} == dict(
            YESTERDAYS_RATINGS, redness=3, dryness=4
        )
        assert (entry.pie_severity, entry.pih_severity) == (2, 1)
        assert entry.aftercare == ["sunscreen", "gentle_cleanser"]
        assert entry.red_flags == [] and entry.notes == ""
        assert [photo.area for photo in entry.photos] == ["left_cheek"]


def test_with_one_photo_the_log_form_is_at_most_one_and_a_half_screens_tall(
    page, live_server, live_app, screenshots, tmp_path
):
    register(page, live_server.url, "tall@example.com")
    seed_yesterday(live_app)
    page.goto(f"{live_server.url}/log")
    page.get_by_label("Photo 1", exact=True).set_input_files(str(a_photo(tmp_path)))
    expect(page.get_by_role("img", name="Photo 1, as chosen")).to_be_visible()
    height = page.locator("form[data-entry-form]").evaluate("f => f.getBoundingClientRect().height")
    page.screenshot(path=screenshots / "01-form-with-one-photo.png", full_page=True)
    print(f"\nLog form with one photo: {height:.0f} px tall ({height / PHONE_HEIGHT:.2f} screens)")
    assert height <= 1.5 * PHONE_HEIGHT


def test_a_chosen_photo_shows_a_preview_and_the_area_is_the_usual_one(
    page, live_server, live_app, screenshots, tmp_path
):
    register(page, live_server.url, "preview@example.com")
    seed_yesterday(live_app)  # yesterday's photo was of the left cheek
    page.goto(f"{live_server.url}/log")
    expect(page.get_by_label("Area of photo 1")).to_have_value("left_cheek")
    expect(page.get_by_text("Add photo").first).to_be_visible()
    page.get_by_label("Photo 1", exact=True).set_input_files(str(a_photo(tmp_path)))

    preview = page.get_by_role("img", name="Photo 1, as chosen")
    expect(preview).to_be_visible()
    page.wait_for_function("img => img.complete", arg=preview.element_handle())
    assert preview.evaluate("img => img.naturalWidth > 0")
    expect(page.get_by_text("Change photo").first).to_be_visible()
    page.screenshot(path=screenshots / "01-preview.png", full_page=True)


def test_same_as_yesterday_fills_ratings_marks_and_aftercare_but_not_notes(
    page, live_server, live_app, screenshots
):
    register(page, live_server.url, "same@example.com")
    seed_yesterday(live_app)
    page.goto(f"{live_server.url}/log")
    expect_rated(page, "Redness", "Not rated")
    page.get_by_role("link", name="Same as yesterday").tap()
    expect(page).to_have_url(re.compile(r"/log$"))  # filled in place, nothing else lost
    for name, score in (("Redness", "4"), ("Swelling", "2"), ("Bruising", "0")):
        expect_rated(page, name, score)
    pie = page.get_by_role("group", name="Red marks (PIE) today")
    expect(pie.get_by_label("Mild")).to_be_checked()
    expect(page.get_by_label("Wore sunscreen / avoided sun")).to_be_checked()
    expect(page.get_by_label("Notes")).to_have_value("")
    rate(page, "Redness", "Not rated")
    expect_rated(page, "Redness", "Not rated")
    page.screenshot(path=screenshots / "01-same-as-yesterday.png", full_page=True)


def test_the_day_badge_follows_the_date_field_online_and_offline(
    page, server, gate, live_app, screenshots
):
    base = server.url
    register(page, base, "badge@example.com")
    seed_yesterday(live_app, session_days_ago=3)
    page.goto(f"{base}/log")
    badge = page.locator("[data-day-badge]")
    expect(badge).to_have_text("Day 3 after session 1")
    page.get_by_label("Date").fill((TODAY - timedelta(days=1)).isoformat())
    expect(badge).to_have_text("Day 2 after session 1")
    expect(page.get_by_role("heading", name="Edit entry")).to_be_visible()  # that day opened
    # Its modules run once the document is parsed: a date typed before that changes nothing.
    page.wait_for_load_state()
    page.get_by_label("Date").fill((TODAY - timedelta(days=5)).isoformat())
    expect(badge).to_have_text("Before first session")
    page.screenshot(path=screenshots / "01-online.png", full_page=True)

    page.goto(f"{base}/log")
    wait_until_offline_ready(page)
    go_offline(gate, page.context)
    page.goto(f"{base}/log?date={(TODAY - timedelta(days=2)).isoformat()}")
    expect(badge).to_have_text("Day 1 after session 1")
    page.wait_for_load_state()
    page.get_by_label("Date").fill(TODAY.isoformat())
    expect(badge).to_have_text("Day 3 after session 1")
    page.screenshot(path=screenshots / "02-offline.png", full_page=True)


def test_offline_same_as_yesterday_fills_the_form_from_the_phones_copy(
    page, server, gate, live_app, screenshots
):
    base = server.url
    register(page, base, "offline-same@example.com")
    seed_yesterday(live_app)
    page.goto(f"{base}/log")
    wait_until_offline_ready(page)
    go_offline(gate, page.context)
    page.goto(f"{base}/log?date={TODAY.isoformat()}")
    page.get_by_role("link", name="Same as yesterday").tap()
    expect_rated(page, "Redness", "4")
    expect_rated(page, "Dryness or peeling", "5")
    expect(page.get_by_label("Gentle cleanser and moisturiser")).to_be_checked()
    expect(page.get_by_label("Notes")).to_have_value("")
    page.screenshot(path=screenshots / "01-offline-same-as-yesterday.png", full_page=True)
