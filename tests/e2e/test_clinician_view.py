"""A dermatologist opens a shared link on a phone and at a desk: warning signs and the summary
come first, before any table, and on a phone without scrolling."""

from __future__ import annotations

import json
import re
import uuid
from datetime import timedelta

import sqlalchemy as sa
from playwright.sync_api import expect

from webapp import records
from webapp.demo import create_demo_account, draw_skin_photo
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


def add_portrait_chin_photos(app) -> None:
    """Portrait (3:4) chin photos 59 days ago, before session 1, and today."""
    with app.app_context():
        user = db.session.execute(sa.select(User)).scalar_one()
        today = user_today(user)
        store = app.extensions["photo_store"]
        for days_ago in (59, 0):
            entry = db.session.execute(
                sa.select(Entry).where(
                    Entry.user_id == user.id, Entry.date == today - timedelta(days=days_ago)
                )
            ).scalar_one()
            photo = draw_skin_photo(0.5, 0.3, seed=days_ago, size=(900, 1200))
            records.add_photo(user, entry, str(uuid.uuid4()), "chin", photo, store)
        db.session.commit()


def test_before_treatment_and_now_show_a_portrait_photo_whole_and_the_slider_follows_a_drag(
    live_app, live_server, phone, screenshots
):
    path = demo_with_warning_signs(live_app)
    add_portrait_chin_photos(live_app)
    page = phone().new_page()
    page.goto(live_server.url + path)
    pairs = page.get_by_role("region", name="Before treatment and now")
    before = pairs.get_by_role("img", name=re.compile(r"^Chin, before treatment"))
    now = pairs.get_by_role("img", name=re.compile(r"^Chin, now: .* day 13 after session 3"))
    for photo in (before, now):
        photo.scroll_into_view_if_needed()
        page.wait_for_function(
            "img => img.complete && img.naturalWidth > 0", arg=photo.element_handle()
        )
        shape = photo.evaluate(
            "img => { const box = img.getBoundingClientRect();"
            " return [box.width / box.height, img.naturalWidth / img.naturalHeight, box.right]; }"
        )
        shown, natural, right = shape
        assert abs(natural - 0.75) < 0.01, "the portrait photo as stored"
        assert abs(shown - natural) < 0.02, f"shown at {shown:.3f}, taken at {natural:.3f}: cropped"
        assert right <= 390, "within the phone's width"
    pairs.screenshot(path=screenshots / "01-before-and-now.png")

    range_input = page.get_by_label(re.compile("Slide to compare"))
    frame = page.locator("[data-overlay] .overlay-frame")
    frame.scroll_into_view_if_needed()
    box = frame.bounding_box()
    middle = box["y"] + box["height"] / 2
    assert range_input.input_value() == "50"
    page.mouse.move(box["x"] + box["width"] / 2, middle)  # a mouse drags the line
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.2, middle, steps=5)
    page.mouse.up()
    assert abs(int(range_input.input_value()) - 20) <= 1
    touch = page.context.new_cdp_session(page)  # and so does a finger
    for kind, share in (
        ("touchStart", 0.2),
        ("touchMove", 0.5),
        ("touchMove", 0.8),
        ("touchEnd", 0.8),
    ):
        point = [] if kind == "touchEnd" else [{"x": box["x"] + box["width"] * share, "y": middle}]
        touch.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": point})
    assert abs(int(range_input.input_value()) - 80) <= 1
    split = page.locator("[data-overlay]").evaluate("el => el.style.getPropertyValue('--split')")
    assert split == f"{range_input.input_value()}%"
    frame.screenshot(path=screenshots / "02-slider-dragged.png")

    daily = page.get_by_text(re.compile(r"^Daily ratings \(60 days\)$"))
    table = page.get_by_role("table").filter(has_text="Itching").last
    expect(table).to_be_hidden()
    daily.click()
    expect(table).to_be_visible()
    page.screenshot(path=screenshots / "03-phone-full.png", full_page=True)
