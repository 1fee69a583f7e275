"""A patient's first steps on a phone: sign up, record a session, log a day with a photo."""

from __future__ import annotations

import re
from datetime import date

from playwright.sync_api import expect

from tests.e2e.log_form import rate
from tests.photo_factory import make_photo


def register(page, base_url: str, email: str = "nia@example.com") -> None:
    page.goto(f"{base_url}/register")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Your name (shown to your clinician)").fill("Nia")
    page.get_by_label("Password").fill("a long enough password")
    page.get_by_label("What do you track?").select_option("both")
    page.get_by_role("button", name="Create account").tap()
    page.wait_for_url("**/sessions")


def test_register_record_session_log_entry_with_photo(page, live_server, screenshots, tmp_path):
    base = live_server.url
    page.goto(f"{base}/register")
    expect(page.get_by_label("Timezone")).not_to_have_value("")
    page.screenshot(path=screenshots / "01-register.png", full_page=True)
    register(page, base)

    expect(page.get_by_role("heading", name="Treatment sessions")).to_be_visible()
    page.get_by_role("link", name="Record a session").first.tap()
    page.get_by_label("Date of the session").fill(date.today().isoformat())
    page.get_by_label("Device").select_option("pen")
    page.get_by_label("Needle depth (mm)").fill("1.0")
    page.get_by_label("Left cheek").check()
    page.get_by_label("Right cheek").check()
    page.get_by_label("Hyaluronic acid").check()
    page.screenshot(path=screenshots / "02-session-form.png", full_page=True)
    page.get_by_role("button", name="Save session").tap()
    expect(page.get_by_text("Treatment session saved.")).to_be_visible()
    expect(page.get_by_text("Microneedling pen, 1 mm")).to_be_visible()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Log").tap()
    rate(page, "Redness", "7")
    rate(page, "Swelling", "4")
    page.get_by_role("group", name="Red marks (PIE) today").get_by_label("Moderate").check()
    page.get_by_label("Wore sunscreen / avoided sun").check()
    photo_path = tmp_path / "cheek.jpg"
    photo_path.write_bytes(make_photo(1600, 1200, gps=True))
    page.get_by_label("Photo 1", exact=True).set_input_files(str(photo_path))
    page.get_by_label("Area of photo 1").select_option("left_cheek")
    page.screenshot(path=screenshots / "03-log-form.png", full_page=True)
    page.get_by_role("button", name="Save entry").tap()

    expect(page.get_by_text("Day 0 after session 1")).to_be_visible()
    photo = page.get_by_role("img", name=re.compile("Left cheek"))
    expect(photo).to_be_visible()
    # Visible is not loaded (the photo loads lazily, slowly on a busy machine): wait for the load
    # to end, then check it gave a picture.
    page.wait_for_function("img => img.complete", arg=photo.element_handle())
    assert photo.evaluate("img => img.naturalWidth > 0")
    page.screenshot(path=screenshots / "04-entry.png", full_page=True)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Entries").tap()
    item = page.get_by_role("list", name="Entries").get_by_role("listitem")
    expect(item).to_have_count(1)
    expect(item.get_by_role("img")).to_have_count(1)
    expect(item).to_contain_text("Redness 7/10")
    page.screenshot(path=screenshots / "05-entries.png", full_page=True)

    item.get_by_role("link").tap()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete entry").tap()
    expect(page.get_by_text(re.compile(r"The entry for .+ was deleted\.$"))).to_be_visible()
    expect(page.get_by_role("list", name="Entries")).to_have_count(0)
    page.screenshot(path=screenshots / "06-entry-deleted.png", full_page=True)


def test_touch_targets_are_at_least_44px(page, live_server):
    register(page, live_server.url, "touch@example.com")
    page.goto(f"{live_server.url}/log")
    # Checkboxes and radios are tapped through their label, which is the target that must be big.
    too_small = page.evaluate(
        """() => [...document.querySelectorAll(
                'a:not(.skip-link), button, select, summary, label.choice,'
                + ' input:not([type=hidden]):not([type=checkbox]):not([type=radio])')]
            .filter(el => el.offsetParent !== null)
            .filter(el => el.getBoundingClientRect().height < 44)
            .map(el => el.outerHTML.slice(0, 80))"""
    )
    assert too_small == []


def test_page_fits_phone_width(page, live_server):
    register(page, live_server.url, "width@example.com")
    for path in ("/", "/log", "/sessions/new", "/entries", "/account"):
        page.goto(f"{live_server.url}{path}")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, path


def test_reporting_a_warning_sign_online_shows_the_servers_advice_as_a_warning(
    page, live_server, screenshots
):
    base = live_server.url
    register(page, base, "flag@example.com")
    uploads = []
    page.on("request", lambda r: uploads.append(r.url) if r.method == "PUT" else None)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Log").tap()
    page.get_by_label("Pus or yellow crusting").check()
    page.get_by_role("button", name="Save entry").tap()

    page.wait_for_url("**/entries/*")
    advice = page.get_by_role("alert").filter(has_text="You reported a warning sign")
    expect(advice).to_be_visible()
    expect(advice).to_contain_text("contact your clinician or a doctor soon")
    expect(advice).to_have_class(re.compile(r"\bflash-warning\b"))
    assert any("/api/v1/entries/" in url for url in uploads), "saved by the outbox, not a post"
    page.screenshot(path=screenshots / "01-warning-advice.png", full_page=True)
