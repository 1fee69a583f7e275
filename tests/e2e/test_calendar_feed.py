"""A patient adds their reminders to a calendar app from the account page, then revokes the
address: the page showing it once passes axe-core, and a calendar app's fetch follows the address's
life."""

from __future__ import annotations

import re

from icalendar import Calendar
from playwright.sync_api import expect

from tests.e2e.test_accessibility import serious_violations
from webapp.demo import create_demo_account


def log_in(page, base_url: str) -> None:
    page.goto(f"{base_url}/login")
    page.get_by_label("Email").fill("alex@example.com")
    page.get_by_label("Password").fill("demo-password")
    page.get_by_role("button", name="Log in").tap()
    page.wait_for_url(f"{base_url}/")


def test_patient_subscribes_a_calendar_then_revokes_it(live_app, live_server, phone, screenshots):
    with live_app.app_context():
        create_demo_account("alex@example.com", "demo-password", days=10)
    context = phone()
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    patient = context.new_page()
    log_in(patient, live_server.url)
    patient.goto(f"{live_server.url}/account")
    section = patient.get_by_role("region", name="Add reminders to your calendar")
    section.scroll_into_view_if_needed()
    patient.screenshot(path=screenshots / "01-account-no-address.png", full_page=True)
    section.get_by_role("button", name="Make a calendar address").tap()

    expect(patient.get_by_role("heading", name="Your calendar address")).to_be_visible()
    url = patient.get_by_label("Calendar address").input_value()
    assert re.fullmatch(rf"{re.escape(live_server.url)}/calendar/[A-Za-z0-9_-]{{43}}\.ics", url)
    subscribe = patient.get_by_role("link", name="Subscribe in your calendar app")
    assert subscribe.get_attribute("href") == "webcal://" + url.split("://", 1)[1]
    patient.get_by_role("button", name="Copy address").tap()
    expect(patient.get_by_role("status").filter(has_text="copied")).to_be_visible()
    patient.screenshot(path=screenshots / "02-address-shown-once.png", full_page=True)

    fetched = context.request.get(url)  # as a calendar app would: no cookies needed
    assert fetched.status == 200
    assert fetched.headers["content-type"] == "text/calendar; charset=utf-8"
    summaries = [str(event["SUMMARY"]) for event in Calendar.from_ical(fetched.body()).events]
    assert any(summary.startswith("Photo day") for summary in summaries)

    patient.get_by_role("link", name="Back to your account").tap()
    section = patient.get_by_role("region", name="Add reminders to your calendar")
    expect(section.get_by_role("button", name="Make a new calendar address")).to_be_visible()
    patient.on("dialog", lambda dialog: dialog.accept())
    section.get_by_role("button", name="Revoke the calendar address").tap()
    expect(patient.get_by_text("Your calendar address no longer works")).to_be_visible()
    expect(section.get_by_role("button", name="Make a calendar address")).to_be_visible()
    patient.screenshot(path=screenshots / "03-address-revoked.png", full_page=True)
    assert context.request.get(url).status == 404


def test_address_page_has_no_serious_accessibility_violation(
    live_app, live_server, phone, screenshots
):
    with live_app.app_context():
        create_demo_account("alex@example.com", "demo-password", days=3)
    found = {}
    for scheme in ("light", "dark"):
        # bypass_csp: axe is injected as an inline script (see test_accessibility.py).
        page = phone(color_scheme=scheme, bypass_csp=True, service_workers="block").new_page()
        log_in(page, live_server.url)
        page.goto(f"{live_server.url}/account")
        page.on("dialog", lambda dialog: dialog.accept())  # the dark pass replaces the address
        page.get_by_role("button", name=re.compile("Make a (new )?calendar address")).tap()
        expect(page.get_by_role("heading", name="Your calendar address")).to_be_visible()
        page.screenshot(path=screenshots / f"address-{scheme}.png", full_page=True)
        if violations := serious_violations(page):
            found[scheme] = violations
    assert not found, f"axe found serious or critical violations: {found}"
