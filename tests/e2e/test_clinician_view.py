"""A dermatologist opens a shared link on a phone and at a desk: warning signs and the summary
come first, before any table, and on a phone without scrolling."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import sqlalchemy as sa
from playwright.sync_api import expect

from webapp.demo import create_demo_account
from webapp.extensions import db
from webapp.models import Entry, User
from webapp.records import user_today
from webapp.sharing import links

DESKTOP = {"viewport": {"width": 1280, "height": 900}, "is_mobile": False, "has_touch": False}
PHONE_HEIGHT = 844


def demo_with_warning_signs(app) -> str:
    """The demo account (sessions 55, 34 and 13 days ago) reporting pus on 2 days and spreading
    redness on 5 days after the latest session; returns the path of a link to it."""
    with app.app_context():
        create_demo_account("alex@example.com", "demo-password", days=60)
        user = db.session.execute(sa.select(User)).scalar_one()
        today = user_today(user)
        flags = {offset: ["spreading_redness"] for offset in (12, 11, 10, 9, 8)}
        flags[11] = ["pus", "spreading_redness"]
        flags[10] = ["pus", "spreading_redness"]
        for offset, reported in flags.items():
            entry = db.session.execute(
                sa.select(Entry).where(
                    Entry.user_id == user.id, Entry.date == today - timedelta(days=offset)
                )
            ).scalar_one()
            entry.red_flags = reported
        db.session.commit()
        request = links.LinkRequest("Dr Rivera", 7, None, None, True, False)
        _, token = links.create_link(user.id, request)
    return f"/s/{token}"


def test_warning_signs_and_summary_are_the_first_thing_a_clinician_sees(
    live_app, live_server, phone, screenshots
):
    path = demo_with_warning_signs(live_app)
    on_phone = phone().new_page()
    on_phone.goto(live_server.url + path)
    warnings = on_phone.get_by_role("region", name="Warning signs")
    expect(warnings).to_contain_text("Pus or yellow crusting")
    expect(warnings).to_contain_text("Warmth or redness that is spreading")
    expect(warnings).to_contain_text("day 2 after session 3")
    summary = on_phone.get_by_role("region", name="At a glance")
    expect(summary).to_contain_text("3 sessions so far")
    for block in (warnings, summary):
        box = block.bounding_box()
        assert box is not None and box["y"] + box["height"] <= PHONE_HEIGHT, "seen unscrolled"
    height = on_phone.evaluate("document.body.scrollHeight")
    (screenshots / "metrics.json").write_text(json.dumps({"phone_scroll_height": height}))
    on_phone.screenshot(path=screenshots / "01-phone-first-screen.png")
    on_phone.screenshot(path=screenshots / "02-phone-full.png", full_page=True)

    at_desk = phone(**DESKTOP).new_page()
    at_desk.goto(live_server.url + path)
    expect(at_desk.get_by_role("region", name="Warning signs")).to_contain_text(
        re.compile(r"Pus or yellow crusting.*2 days", re.S)
    )
    at_desk.screenshot(path=screenshots / "03-desktop-first-screen.png")
