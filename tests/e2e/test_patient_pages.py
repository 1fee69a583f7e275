"""The patient's own pages on a phone: each defect of issue 12, item 6, as it is seen (390 x 844,
320 px where the narrowest phones matter)."""

from __future__ import annotations

import re
from datetime import timedelta

from playwright.sync_api import expect

from tests.e2e import test_offline
from tests.e2e.test_first_week import register
from tests.e2e.test_offline import (
    PASSWORD,
    SYNC_TIMEOUT,
    TODAY,
    go_offline,
    go_online,
    log_entry,
    wait_until_offline_ready,
    waiting,
)
from webapp.demo import create_demo_account

gate = test_offline.gate  # fixtures: the server behind a gate that can cut the network
server = test_offline.server

DEMO = "alex@example.com"


def demo_login(live_app, page, base: str, days: int = 45) -> None:
    with live_app.app_context():
        create_demo_account(DEMO, PASSWORD, days=days)
    page.goto(f"{base}/login")
    page.get_by_label("Email").fill(DEMO)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").tap()
    page.wait_for_url(f"{base}/")


def test_choosing_measured_redness_keeps_both_pickers_readable_and_needs_no_show_button(
    live_app, live_server, page, screenshots
):
    demo_login(live_app, page, live_server.url)
    page.goto(f"{live_server.url}/timeline")
    picker = page.locator("form.metric-picker")
    # The choice reloads the chart by itself: no button to press.
    expect(picker.get_by_role("button")).to_have_count(0)
    page.get_by_label("Show").select_option("delta_a")
    page.wait_for_url(re.compile(r"metric=delta_a"))
    expect(page.get_by_label("measured on")).to_be_visible()
    picker.scroll_into_view_if_needed()
    page.screenshot(path=screenshots / "01-measured-redness-pickers.png")
    for label in ("Show", "measured on"):
        width = page.get_by_label(label).bounding_box()["width"]
        assert width >= 200, f"the {label!r} dropdown is {width:.0f} px wide"
    expect(picker.get_by_role("button")).to_have_count(0)


def test_without_javascript_the_metric_picker_still_has_its_button(
    live_app, live_server, phone, screenshots
):
    page = phone(java_script_enabled=False).new_page()
    demo_login(live_app, page, live_server.url)
    page.goto(f"{live_server.url}/timeline")
    page.get_by_label("Show").select_option("delta_a")
    page.locator("form.metric-picker").get_by_role("button", name="Show").tap()
    page.wait_for_url(re.compile(r"metric=delta_a"))
    expect(page.get_by_label("measured on")).to_be_visible()
    page.screenshot(path=screenshots / "01-no-js-picker.png")


def test_back_online_the_no_connection_notice_goes_once_synced(
    page, server, gate, live_app, screenshots
):
    base = server.url
    register(page, base, "copy@example.com")
    wait_until_offline_ready(page)
    page.goto(f"{base}/entries")  # seen online: the phone keeps a copy
    go_offline(gate, page.context)
    log_entry(page, base, TODAY, redness="5")
    page.goto(f"{base}/entries")
    notice = page.locator("[data-offline-copy]")
    expect(notice).to_contain_text("No connection")
    gate.closed = False
    go_online(page.context)
    expect(waiting(page)).to_have_attribute("data-outbox-count", "0", timeout=SYNC_TIMEOUT)
    expect(page.get_by_text("Everything is uploaded.")).to_be_visible()
    expect(page.get_by_text(re.compile("^No connection"))).to_have_count(0)
    page.screenshot(path=screenshots / "01-back-online.png", full_page=True)


def test_an_entry_waiting_to_upload_shows_in_entries_and_today_marked_until_synced(
    page, server, gate, live_app, screenshots
):
    base = server.url
    register(page, base, "waits@example.com")
    wait_until_offline_ready(page)
    page.goto(f"{base}/entries")  # seen online (still empty): the phone keeps a copy
    yesterday = TODAY - timedelta(days=1)
    go_offline(gate, page.context)
    log_entry(page, base, yesterday, redness="6")

    for path, name in (("/entries", "entries"), ("/", "today")):
        page.goto(f"{base}{path}")
        entries = page.get_by_role("list", name="Entries")
        row = entries.get_by_role("listitem").filter(has_text=f"{yesterday:%a %d %b %Y}")
        expect(row).to_be_visible()
        expect(row).to_contain_text("Waiting to upload")
        expect(row).to_contain_text("Redness 6/10")
        page.screenshot(path=screenshots / f"01-{name}-waiting.png", full_page=True)
    assert gate.leaks == []

    gate.closed = False
    go_online(page.context)  # still on Today
    expect(waiting(page)).to_have_attribute("data-outbox-count", "0", timeout=SYNC_TIMEOUT)
    row = page.get_by_role("list", name="Entries").get_by_role("listitem")
    expect(row).to_have_count(1)
    expect(row).not_to_contain_text("Waiting to upload")
    page.screenshot(path=screenshots / "02-today-synced.png", full_page=True)
    page.goto(f"{base}/entries")
    expect(page.get_by_role("list", name="Entries").get_by_role("listitem")).to_have_count(1)
    expect(page.get_by_text("Waiting to upload")).to_have_count(0)


def test_editing_an_entry_with_photos_fits_a_320_px_phone(
    live_app, live_server, phone, screenshots
):
    page = phone(viewport={"width": 320, "height": 640}).new_page()
    demo_login(live_app, page, live_server.url, days=3)
    page.get_by_role("link", name="Entries", exact=True).tap()
    page.locator(".entry-item a").filter(has=page.locator(".thumbs")).first.tap()
    page.get_by_role("link", name="Edit this entry").tap()
    expect(page.get_by_role("checkbox", name=re.compile("Remove .+ photo")).first).to_be_attached()
    page.screenshot(path=screenshots / "01-edit-320.png", full_page=True)
    width = page.evaluate("() => document.documentElement.scrollWidth")
    wide = page.evaluate(
        """() => [...document.querySelectorAll("main *")]
            .filter((el) => el.getBoundingClientRect().right > 320)
            .map((el) => `${el.className} ${el.getBoundingClientRect().right}`)
            .slice(0, 8)"""
    )
    assert width <= 320, f"the page is {width} px wide: {wide}"


def test_a_wrong_current_password_moves_focus_to_an_error_summary(
    live_app, live_server, page, screenshots
):
    register(page, live_server.url, "typo@example.com")
    page.goto(f"{live_server.url}/account")
    page.get_by_label("Current password").fill("not my password at all")
    page.get_by_label("New password", exact=True).fill("another long password")
    page.get_by_label("New password again").fill("another long password")
    page.get_by_role("button", name="Change password").tap()
    summary = page.get_by_role("alert").filter(has_text="That is not your current password.")
    expect(summary).to_be_focused()
    expect(summary).to_be_in_viewport()
    page.screenshot(path=screenshots / "01-error-summary.png")
    summary.get_by_role("link", name="That is not your current password.").tap()
    expect(page.get_by_label("Current password")).to_be_focused()


def test_every_disclosure_shows_a_marker_that_turns_when_open(
    live_app, live_server, page, screenshots
):
    demo_login(live_app, page, live_server.url)
    marker = "el => getComputedStyle(el, '::before').content"
    for path in ("/account", "/timeline"):
        page.goto(f"{live_server.url}{path}")
        summaries = page.locator("summary")
        assert summaries.count() >= 1
        for summary in summaries.all():
            assert summary.evaluate(marker) == '"▸"', f"{path}: {summary.inner_text()}"
    summary = page.locator("summary").first
    summary.scroll_into_view_if_needed()
    summary.tap()
    assert summary.evaluate(marker) == '"▾"'
    page.screenshot(path=screenshots / "01-open-disclosure.png")


def test_every_photo_of_an_area_fills_the_screen_as_a_grid(
    live_app, live_server, page, screenshots
):
    demo_login(live_app, page, live_server.url, days=60)
    page.goto(f"{live_server.url}/timeline")
    page.get_by_role("link", name=re.compile(r"^All \d+ .+ photos$")).first.tap()
    expect(page.get_by_role("heading", name=re.compile(": every photo$"))).to_be_visible()
    photos = page.get_by_role("list", name=re.compile("photos, oldest first")).first
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    assert photos.evaluate("el => el.scrollWidth <= el.clientWidth")
    tops = {round(box["y"]) for box in (img.bounding_box() for img in photos.locator("img").all())}
    assert len(tops) >= 3, "the photos stand in one row"
    page.screenshot(path=screenshots / "01-every-photo.png", full_page=True)


def test_after_logout_the_offline_page_does_not_offer_logging(page, server, gate, screenshots):
    base = server.url
    register(page, base, "leaves@example.com")
    wait_until_offline_ready(page)
    go_offline(gate, page.context)
    page.goto(f"{base}/entries")
    expect(page.get_by_role("heading", name="This page needs a connection")).to_be_visible()
    expect(page.get_by_role("link", name="Log a day")).to_be_visible()  # logged in: it can
    page.screenshot(path=screenshots / "01-offline-logged-in.png", full_page=True)
    gate.closed = False
    go_online(page.context)

    page.goto(f"{base}/account")
    page.get_by_role("button", name="Log out").tap()
    page.wait_for_url(re.compile("/login"))
    go_offline(gate, page.context)
    page.goto(f"{base}/entries")
    expect(page.get_by_role("heading", name="This page needs a connection")).to_be_visible()
    expect(page.get_by_text("log your day")).to_be_hidden()
    expect(page.get_by_role("link", name="Log a day")).to_be_hidden()
    page.screenshot(path=screenshots / "02-offline-logged-out.png", full_page=True)
    assert gate.leaks == []
