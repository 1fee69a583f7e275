"""The Log form never silently writes over another day (issue 9, item 4).

Reported: log 30 Nov (redness 4, a note, a photo); open Log, change the date to 30 Nov, set
redness 8, save: the note is gone, with no warning. Changing the date must open that day's entry
(from the server online, from the phone's copy offline), or ask before saving over it.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from playwright.sync_api import expect

from tests.e2e import test_offline as offline
from tests.e2e.conftest import fire_background_sync, wait_until, wait_until_no_sync_runs
from tests.e2e.log_form import expect_rated, rate
from tests.e2e.test_first_week import register
from tests.e2e.test_offline import (
    SYNC_TIMEOUT,
    go_offline,
    go_online,
    log_entry,
    wait_until_offline_ready,
    waiting,
)
from tests.photo_factory import make_photo
from webapp.extensions import db
from webapp.models import Entry, Photo

# The offline tests' gate in front of the server (it records any request made while offline).
gate = offline.gate
server = offline.server

TODAY = date.today()
NOTE = "Tight after the peel, a bit flaky by the nose"


def log_online(page, base: str, day: date, *, redness: str, notes: str = "", photo=None) -> None:
    page.goto(f"{base}/log?date={day.isoformat()}")
    rate(page, "Redness", redness)
    page.get_by_label("Notes").fill(notes)
    if photo is not None:
        page.get_by_label("Photo 1", exact=True).set_input_files(str(photo))
        page.get_by_label("Area of photo 1").select_option("left_cheek")
    page.get_by_role("button", name="Save entry").tap()
    page.wait_for_url(re.compile(r"/entries/[0-9a-f-]{36}$"))
    expect(page.get_by_text("Saved.")).to_be_visible()


def change_date(page, day: date) -> None:
    """What a phone's date picker does: the whole date at once, then `change`."""
    page.get_by_label("Date").fill(day.isoformat())


def entries_in(live_app) -> list[tuple[date, int | None, str, int]]:
    with live_app.app_context():
        rows = db.session.execute(db.select(Entry).order_by(Entry.date)).scalars().all()
        return [(e.date, e.redness, e.notes, len(e.photos)) for e in rows]


def a_photo(tmp_path):
    photo = tmp_path / "cheek.jpg"
    photo.write_bytes(make_photo(1200, 900))
    return photo


def test_changing_the_date_to_a_logged_day_opens_that_entry_and_saving_keeps_note_and_photo(
    page, live_server, live_app, screenshots, tmp_path
):
    base = live_server.url
    register(page, base, "dates@example.com")
    day = TODAY - timedelta(days=2)
    log_online(page, base, day, redness="4", notes=NOTE, photo=a_photo(tmp_path))

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Log").tap()
    expect(page.get_by_label("Date")).to_have_value(TODAY.isoformat())
    page.screenshot(path=screenshots / "01-log-today.png", full_page=True)
    change_date(page, day)

    expect(page.get_by_role("heading", name="Edit entry")).to_be_visible()
    expect(page.get_by_label("Date")).to_have_value(day.isoformat())
    expect(page.get_by_label("Notes")).to_have_value(NOTE)
    expect_rated(page, "Redness", "4")
    expect(page.get_by_role("img", name="Left cheek photo")).to_be_visible()
    expect(page.get_by_label("Remove left cheek photo")).not_to_be_checked()
    page.screenshot(path=screenshots / "02-that-day-opened.png", full_page=True)

    rate(page, "Redness", "8")
    page.get_by_role("button", name="Save entry").tap()
    page.wait_for_url(re.compile(r"/entries/[0-9a-f-]{36}$"))
    expect(page.get_by_text("Saved.")).to_be_visible()
    expect(page.get_by_text(NOTE)).to_be_visible()
    page.screenshot(path=screenshots / "03-saved.png", full_page=True)
    assert entries_in(live_app) == [(day, 8, NOTE, 1)]


def test_what_was_typed_before_the_date_changed_is_kept_on_top_of_that_days_entry(
    page, live_server, live_app, screenshots
):
    base = live_server.url
    register(page, base, "typed@example.com")
    day = TODAY - timedelta(days=1)
    log_online(page, base, day, redness="4", notes=NOTE)

    page.goto(f"{base}/log")
    rate(page, "Swelling", "5")
    page.get_by_label("Wore sunscreen / avoided sun").check()
    change_date(page, day)

    notice = page.get_by_role("status").filter(has_text="already has an entry")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("Swelling")
    expect(page.get_by_label("Notes")).to_have_value(NOTE)  # the day's own note
    expect_rated(page, "Redness", "4")
    expect_rated(page, "Swelling", "5")  # typed before
    expect(page.get_by_label("Wore sunscreen / avoided sun")).to_be_checked()
    page.screenshot(path=screenshots / "01-kept-on-top.png", full_page=True)

    page.get_by_role("button", name="Save entry").tap()
    page.wait_for_url(re.compile(r"/entries/[0-9a-f-]{36}$"))
    with live_app.app_context():
        (entry,) = db.session.execute(db.select(Entry)).scalars().all()
        assert (entry.date, entry.redness, entry.swelling, entry.notes) == (day, 4, 5, NOTE)
        assert entry.aftercare == ["sunscreen"]


def test_offline_a_day_waiting_in_the_outbox_opens_with_what_was_saved_on_the_phone(
    page, server, gate, live_app, screenshots, tmp_path
):
    base = server.url
    register(page, base, "queued@example.com")
    wait_until_offline_ready(page)
    go_offline(gate, page.context)
    day = TODAY - timedelta(days=3)
    log_entry(page, base, day, redness="4", notes=NOTE, photo=a_photo(tmp_path))

    page.goto(f"{base}/log")
    expect(page.get_by_label("Date")).to_have_value(TODAY.isoformat())
    change_date(page, day)

    expect(page.get_by_role("status").filter(has_text="not uploaded yet")).to_be_visible()
    expect(page.get_by_label("Notes")).to_have_value(NOTE)
    expect_rated(page, "Redness", "4")
    expect(page.get_by_label(re.compile("Remove the left cheek photo"))).not_to_be_checked()
    page.screenshot(path=screenshots / "01-queued-day-opened-offline.png", full_page=True)
    rate(page, "Redness", "8")
    page.get_by_role("button", name="Save entry").tap()
    expect(page.get_by_text("Saved on this phone.")).to_be_visible()
    expect(waiting(page)).to_have_attribute("data-outbox-count", "1")  # the same item, edited
    assert gate.leaks == []
    gate.closed = False

    go_online(page.context)
    expect(waiting(page)).to_have_attribute("data-outbox-count", "0", timeout=SYNC_TIMEOUT)
    assert entries_in(live_app) == [(day, 8, NOTE, 1)]


def test_offline_a_day_seen_online_opens_from_the_phones_copy(
    page, server, gate, live_app, screenshots, tmp_path
):
    base = server.url
    register(page, base, "copy@example.com")
    day = TODAY - timedelta(days=2)
    log_online(page, base, day, redness="4", notes=NOTE, photo=a_photo(tmp_path))
    wait_until_offline_ready(page)  # the phone keeps the offline form, with its copy of the month
    go_offline(gate, page.context)

    page.goto(f"{base}/log")
    change_date(page, day)
    notice = page.get_by_role("status").filter(has_text="as this phone last saw it")
    expect(notice).to_be_visible()
    expect(page.get_by_role("heading", name="Edit entry")).to_be_visible()
    expect(page.get_by_label("Notes")).to_have_value(NOTE)
    expect_rated(page, "Redness", "4")
    expect(page.get_by_label("Remove left cheek photo")).not_to_be_checked()
    page.screenshot(path=screenshots / "01-copy-opened-offline.png", full_page=True)

    rate(page, "Redness", "8")
    page.get_by_role("button", name="Save entry").tap()
    expect(page.get_by_text("Saved on this phone.")).to_be_visible()
    assert gate.leaks == []
    gate.closed = False

    go_online(page.context)
    expect(waiting(page)).to_have_attribute("data-outbox-count", "0", timeout=SYNC_TIMEOUT)
    assert entries_in(live_app) == [(day, 8, NOTE, 1)]
    with live_app.app_context():
        assert db.session.query(Photo).filter(Photo.deleted_at.is_(None)).count() == 1


def test_offline_a_day_the_phone_cannot_know_asks_before_saving_over_it(
    page, server, gate, live_app, screenshots
):
    base = server.url
    register(page, base, "old@example.com")
    day = TODAY - timedelta(days=45)  # older than the month the phone keeps a copy of
    log_online(page, base, day, redness="4", notes=NOTE)
    wait_until_offline_ready(page)
    go_offline(gate, page.context)

    page.goto(f"{base}/log")
    change_date(page, day)
    warning = page.get_by_role("alert").filter(has_text="You may already have an entry")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("saving will replace it")
    rate(page, "Redness", "8")
    page.screenshot(path=screenshots / "01-may-have-an-entry.png", full_page=True)

    questions: list[str] = []

    def answer(dialog, accept: bool) -> None:
        questions.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    page.once("dialog", lambda dialog: answer(dialog, False))
    page.get_by_role("button", name="Save entry").tap()
    expect(page.get_by_text("Saved on this phone.")).to_have_count(0)
    assert questions and "replace" in questions[0]
    queued = page.evaluate(
        """async () => (await (await import("/static/js/outbox/queue.js")).all()).length"""
    )
    assert queued == 0

    page.once("dialog", lambda dialog: answer(dialog, True))
    page.get_by_role("button", name="Save entry").tap()
    expect(page.get_by_text("Saved on this phone.")).to_be_visible()
    assert len(questions) == 2
    assert gate.leaks == []
    gate.closed = False
    go_online(page.context)
    expect(waiting(page)).to_have_attribute("data-outbox-count", "0", timeout=SYNC_TIMEOUT)
    assert entries_in(live_app) == [(day, 8, "", 0)]  # replaced, as the patient agreed to


def save_offline(page, base: str, gate, day: date) -> None:
    """Logs `day` with no signal: it waits in the outbox. The network stays cut, the gate open."""
    wait_until_offline_ready(page)
    go_offline(gate, page.context)
    log_entry(page, base, day, redness="4", notes=NOTE)
    assert gate.leaks == []
    gate.closed = False


def expect_the_phones_copy_of(page, day: date) -> None:
    expect(page.get_by_role("status").filter(has_text="as this phone last saw it")).to_be_visible()
    expect(page.get_by_role("heading", name="Edit entry")).to_be_visible()
    expect(page.get_by_label("Date")).to_have_value(day.isoformat())
    expect(page.get_by_label("Notes")).to_have_value(NOTE)
    expect_rated(page, "Redness", "4")


def test_offline_a_day_uploaded_while_the_app_was_open_opens_with_its_entry(
    page, server, gate, live_app, screenshots
):
    # The signal comes back while the log form is open and the phone uploads the day by itself
    # (the page, or Background Sync if the browser fires it first); the signal goes again before
    # another page is opened. The outbox no longer holds the day: the offline form must know it.
    base = server.url
    register(page, base, "uploaded-open@example.com")
    day = TODAY - timedelta(days=2)
    save_offline(page, base, gate, day)

    go_online(page.context)
    expect(waiting(page)).to_have_attribute("data-outbox-count", "0", timeout=SYNC_TIMEOUT)
    wait_until_no_sync_runs(page)
    assert entries_in(live_app) == [(day, 4, NOTE, 0)]
    page.screenshot(path=screenshots / "01-uploaded-while-open.png", full_page=True)
    go_offline(gate, page.context)

    page.goto(f"{base}/log")
    change_date(page, day)
    expect_the_phones_copy_of(page, day)
    page.screenshot(path=screenshots / "02-uploaded-day-opened-offline.png", full_page=True)
    assert gate.leaks == []


def test_offline_a_day_uploaded_by_background_sync_opens_with_its_entry(
    page, server, gate, live_app, screenshots
):
    # The patient logs a day offline and leaves the app; the signal comes back and the browser
    # wakes the service worker (Background Sync), which uploads the day; the signal goes again
    # before the app is opened.
    base = server.url
    register(page, base, "uploaded-closed@example.com")
    day = TODAY - timedelta(days=3)
    save_offline(page, base, gate, day)
    page.goto("about:blank")  # another app in front: no page of ours runs

    go_online(page.context)
    fire_background_sync(page)
    wait_until(lambda: entries_in(live_app) == [(day, 4, NOTE, 0)], "the day is uploaded")
    wait_until_no_sync_runs(page.context.service_workers[0])
    go_offline(gate, page.context)

    page.goto(f"{base}/log")
    change_date(page, day)
    expect_the_phones_copy_of(page, day)
    page.screenshot(path=screenshots / "01-uploaded-day-opened-offline.png", full_page=True)
    assert gate.leaks == []
