"""A patient compares two photos of one cheek taken a day apart with the phone held differently:
on a phone, the compare view draws the second photo in the first one's framing (issue 14, item 3),
and the slider still moves the line between them.

The second photo is the first one moved (shifted, turned and scaled, tests/synthetic_faces.py).
A green dot on the cheek is the landmark: found in screenshots of the page, it must sit where it
sits in the first photo, and not where the second photo has it as taken.
"""

from __future__ import annotations

import io
import re
import uuid
from datetime import UTC, date, datetime, time, timedelta

import numpy as np
from flask import current_app
from PIL import Image
from playwright.sync_api import expect

from tests.synthetic_faces import make_face, similarity
from webapp import records
from webapp.auth import account
from webapp.extensions import db
from webapp.models import Photo
from webapp.records import alignment as area_alignment
from webapp.validation import EntryData

EMAIL, PASSWORD = "aligned@example.com", "aligned-password-1"
SIZE = (480, 640)
DOT = (300.0, 400.0, 12.0)  # the landmark: centre x, y and radius in px of the first photo
MOVE = {"shift": (36.0, -24.0), "degrees": 7.0, "scale": 1.1}


def photos() -> tuple[bytes, bytes, tuple[float, float]]:
    """The first photo, the second (moved), and where the landmark is in the second, as taken
    (fractions of its width and height)."""
    face = make_face(11, width=SIZE[0], height=SIZE[1]).rgb.copy()
    ys, xs = np.mgrid[0 : SIZE[1], 0 : SIZE[0]] + 0.5
    face[(xs - DOT[0]) ** 2 + (ys - DOT[1]) ** 2 < DOT[2] ** 2] = (0, 200, 0)
    moved, matrix = similarity(face, **MOVE)
    x, y = matrix @ np.array([DOT[0], DOT[1], 1.0])
    return jpeg(face), jpeg(moved), (x / SIZE[0], y / SIZE[1])


def jpeg(rgb: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(rgb).save(out, "JPEG", quality=92)
    return out.getvalue()


def seed(live_app, first: bytes, second: bytes) -> tuple[str, str]:
    """The patient, two days with one left-cheek photo each, aligned as the app aligns them:
    the first is the area's reference, the second aligned to it (by ingest, else by the
    backfill's records.alignment.realign_area)."""
    with live_app.app_context():
        store = current_app.extensions["photo_store"]
        user = account.create_account(
            current_app.extensions["passwords"],
            PASSWORD,
            email=EMAIL,
            display_name="Sam",
            track="both",
            fitzpatrick="III",
            timezone="UTC",
        )
        uuids = []
        for offset, data in ((1, first), (0, second)):
            day = date.today() - timedelta(days=offset)
            entry = records.save_entry(user, str(uuid.uuid4()), entry_data(day)).row
            photo, _ = records.add_photo(user, entry, str(uuid.uuid4()), "left_cheek", data, store)
            uuids.append(photo.uuid)
        aligned = db.select(Photo.alignment).where(Photo.uuid == uuids[1])
        if db.session.execute(aligned).scalar() is None:  # ingest does not align (yet): backfill
            area_alignment.realign_area(user, "left_cheek", store)
        reference, moved = (
            db.session.execute(db.select(Photo).where(Photo.uuid == value)).scalar_one()
            for value in uuids
        )
        assert reference.alignment["reference"] is None
        assert moved.alignment["aligned"] is True
        return reference.uuid, moved.uuid


def entry_data(day: date) -> EntryData:
    return EntryData(
        date=day,
        ratings={"redness": 3},
        pie_severity=1,
        pih_severity=1,
        red_flags=[],
        aftercare=[],
        notes="",
        client_updated_at=datetime.combine(day, time(20, 0), UTC),
    )


def log_in(page, base: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}/")


def landmark(png: bytes) -> tuple[float, float]:
    """Where the green dot is in a screenshot, in fractions of its width and height."""
    rgb = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    red, green, blue = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    ys, xs = np.nonzero((green > 110) & (green - red > 70) & (green - blue > 70))
    assert xs.size > 20, "the landmark is not in the screenshot"
    height, width = rgb.shape[:2]
    return (xs.mean() + 0.5) / width, (ys.mean() + 0.5) / height


def near(found: tuple[float, float], expected: tuple[float, float], within: float) -> bool:
    return abs(found[0] - expected[0]) <= within and abs(found[1] - expected[1]) <= within


def test_compare_draws_the_second_photo_in_the_first_ones_framing(
    live_app, live_server, page, screenshots
):
    first, second, as_taken = photos()
    reference, moved = seed(live_app, first, second)
    truth = (DOT[0] / SIZE[0], DOT[1] / SIZE[1])
    assert not near(as_taken, truth, 0.05)  # as taken, the landmark is elsewhere
    errors: list[str] = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    log_in(page, live_server.url)
    page.goto(f"{live_server.url}/compare?area=left_cheek&a={reference}&b={moved}")

    expect(page.get_by_text("Aligned to the same framing.")).to_be_visible()
    for image in page.locator("img[data-align-transform]").all():
        image.evaluate("img => img.decode()")
    page.screenshot(path=screenshots / "01-compare-aligned.png", full_page=True)

    # Side by side: the second photo's landmark where the first one's is.
    figures = page.locator(".side-by-side img")
    expect(figures).to_have_count(2)
    left_shot = figures.nth(0).screenshot(path=screenshots / "02-first.png")
    right_shot = figures.nth(1).locator("xpath=..").screenshot(path=screenshots / "03-second.png")
    assert near(landmark(left_shot), truth, 0.015)
    assert near(landmark(right_shot), truth, 0.015)

    # The slider: at 0 the second photo fills the frame, at 100 the first; the landmark stays.
    overlay = page.locator("[data-overlay]")
    frame = overlay.locator(".overlay-frame")
    frame.scroll_into_view_if_needed()
    slider = page.get_by_label(re.compile("Slide to compare"))
    slider.fill("0")
    second_in_frame = landmark(frame.screenshot(path=screenshots / "04-slider-second.png"))
    slider.fill("100")
    first_in_frame = landmark(frame.screenshot(path=screenshots / "05-slider-first.png"))
    assert near(second_in_frame, first_in_frame, 0.015)
    assert near(first_in_frame, truth, 0.015)

    # The slider still moves the line, by the range or a tap on the photos.
    split = "el => getComputedStyle(el).getPropertyValue('--split').trim()"
    slider.fill("30")
    assert overlay.evaluate(split) == "30%"
    assert "30%" in page.locator(".overlay-over").evaluate("el => getComputedStyle(el).clipPath")
    box = frame.bounding_box()
    frame.tap(position={"x": box["width"] * 0.75, "y": box["height"] / 2})
    assert overlay.evaluate(split) == "75%"
    assert slider.input_value() == "75"
    page.screenshot(path=screenshots / "06-slider-at-75.png", full_page=True)
    assert errors == []


def test_photos_that_could_not_be_aligned_are_shown_as_taken_and_said_so(
    live_app, live_server, page, screenshots
):
    first, second, as_taken = photos()
    reference, moved = seed(live_app, first, second)
    with live_app.app_context():
        photo = db.session.execute(db.select(Photo).where(Photo.uuid == moved)).scalar_one()
        photo.alignment = {**photo.alignment, "aligned": False}
        db.session.commit()
    log_in(page, live_server.url)
    page.goto(f"{live_server.url}/compare?area=left_cheek&a={reference}&b={moved}")
    expect(
        page.get_by_text("These photos could not be aligned; the framing may differ.")
    ).to_be_visible()
    expect(page.get_by_text("Aligned to the same framing.")).to_have_count(0)
    second_photo = page.locator(".side-by-side img").nth(1)
    second_photo.evaluate("img => img.decode()")
    assert near(landmark(second_photo.screenshot()), as_taken, 0.015)
    page.screenshot(path=screenshots / "01-compare-unaligned.png", full_page=True)


def test_without_javascript_the_photos_are_shown_as_taken(live_app, live_server, phone):
    first, second, as_taken = photos()
    reference, moved = seed(live_app, first, second)
    page = phone(java_script_enabled=False).new_page()
    log_in(page, live_server.url)
    page.goto(f"{live_server.url}/compare?area=left_cheek&a={reference}&b={moved}")
    expect(page.get_by_text("Aligned to the same framing.")).to_be_hidden()
    second_photo = page.locator(".side-by-side img").nth(1)
    page.wait_for_function("img => img.complete", arg=second_photo.element_handle())
    assert near(landmark(second_photo.screenshot()), as_taken, 0.015)
