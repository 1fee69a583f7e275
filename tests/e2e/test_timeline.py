"""The demo patient looks at their progress on a phone: recovery curves, metrics, compare slider."""

from __future__ import annotations

import re
from datetime import date

from playwright.sync_api import expect

from webapp.demo import create_demo_account


def test_timeline_curves_metric_switch_and_compare_slider(live_app, live_server, page, screenshots):
    with live_app.app_context():
        create_demo_account("alex@example.com", "demo-password", days=45)
    errors: list[str] = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.goto(f"{live_server.url}/login")
    page.get_by_label("Email").fill("alex@example.com")
    page.get_by_label("Password").fill("demo-password")
    page.get_by_role("button", name="Log in").tap()
    page.get_by_role("link", name="Timeline").tap()

    expect(page.get_by_role("heading", name="Recovery after each session")).to_be_visible()
    chart = page.locator("svg.recovery-chart")
    expect(chart).to_be_visible()
    # The demo has three sessions, each logged: one line per session, and a legend entry each.
    expect(chart.locator("path.curve")).to_have_count(3)
    assert chart.locator("path.curve").evaluate_all(
        "paths => paths.map(p => p.dataset.session)"
    ) == ["1", "2", "3"]
    expect(chart.locator(".legend-item")).to_have_count(3)
    series = page.get_by_role("region", name="Across the series")
    expect(series.get_by_role("listitem").first).to_contain_text("PIE severity")
    redness_shape = chart.locator("path.curve").first.get_attribute("d")
    page.screenshot(path=screenshots / "01-timeline-redness.png", full_page=True)

    # Switching the metric redraws the chart at once (the select submits itself).
    page.get_by_label("Show").select_option("delta_a")
    page.wait_for_url(re.compile(r"metric=delta_a"))
    chart = page.locator("svg.recovery-chart")
    expect(chart.locator("title").first).to_contain_text("Red marks: Δa* vs surrounding skin")
    expect(chart.locator("path.curve")).to_have_count(3)
    assert chart.locator("path.curve").first.get_attribute("d") != redness_shape
    expect(page.get_by_text("Indicative only: light and camera still affect it")).to_be_visible()
    page.screenshot(path=screenshots / "02-timeline-measured-redness.png", full_page=True)

    # A photo in the strip opens full size.
    strip_photo = page.locator(".timeline-strip img").first
    strip_photo.scroll_into_view_if_needed()
    # It loads lazily, once scrolled to: wait for the load to end, then check it gave a picture.
    page.wait_for_function("img => img.complete", arg=strip_photo.element_handle())
    assert strip_photo.evaluate("img => img.naturalWidth > 0")

    page.get_by_role("link", name="Compare photos").tap()
    expect(page.get_by_role("heading", name="Compare two photos")).to_be_visible()
    # Defaults: the same day after the first and the latest session.
    first_text = page.locator("#compare-a-shown").inner_text()
    second_text = page.locator("#compare-b-shown").inner_text()
    day_first = re.search(r"day (\d+) after session 1", first_text)
    day_latest = re.search(r"day (\d+) after session 3", second_text)
    assert day_first and day_latest and day_first.group(1) == day_latest.group(1)

    overlay = page.locator("[data-overlay]")
    expect(overlay).to_be_visible()
    split = "el => getComputedStyle(el).getPropertyValue('--split').trim()"
    assert overlay.evaluate(split) == "50%"
    page.get_by_label(re.compile("Slide to compare")).fill("20")
    assert overlay.evaluate(split) == "20%"
    clip = page.locator(".overlay-over").evaluate("el => getComputedStyle(el).clipPath")
    assert "20%" in clip
    page.locator(".overlay-frame").scroll_into_view_if_needed()
    page.screenshot(path=screenshots / "03-compare-slider.png", full_page=True)

    # Pick any two photos of the area, by date.
    oldest = page.get_by_label("First photo: date").get_attribute("min")
    page.get_by_label("First photo: date").fill(oldest)
    page.get_by_role("button", name="Compare", exact=True).tap()
    expect(page.get_by_label("First photo: date")).to_have_value(oldest)
    shown = page.locator(".side-by-side figcaption").first
    expect(shown).to_contain_text(date.fromisoformat(oldest).strftime("%d %b %Y"))
    assert not errors, errors


def test_drag_a_region_on_a_photo_and_measure_it_again(live_app, live_server, page, screenshots):
    with live_app.app_context():
        create_demo_account("alex@example.com", "demo-password", days=3)
    page.goto(f"{live_server.url}/login")
    page.get_by_label("Email").fill("alex@example.com")
    page.get_by_label("Password").fill("demo-password")
    page.get_by_role("button", name="Log in").tap()
    page.get_by_role("link", name="Entries", exact=True).tap()
    page.locator(".entry-item a").first.tap()
    page.get_by_role("link", name="Choose the measured region").first.tap()
    expect(page.get_by_text("the centre (default)", exact=True)).to_be_visible()
    # The page shows before its scripts have run; a drag before region-picker.js listens is lost.
    # Module scripts run before DOMContentLoaded.
    page.wait_for_load_state("domcontentloaded")
    before = page.locator(".facts dd").nth(2).inner_text()

    picker = page.locator("[data-region-picker]")
    box = picker.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.1, box["y"] + box["height"] * 0.1)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.4, steps=5)
    page.mouse.up()
    assert 8 <= float(page.get_by_label("Left").input_value()) <= 12
    assert 38 <= float(page.get_by_label("Bottom").input_value()) <= 42
    assert float(page.locator("[data-region-box]").get_attribute("width")) > 15
    page.screenshot(path=screenshots / "01-region-dragged.png", full_page=True)
    page.get_by_role("button", name="Measure this region").tap()
    expect(page.get_by_text("Measured again")).to_be_visible()
    expect(page.get_by_text("your choice", exact=True)).to_be_visible()
    assert page.locator(".facts dd").nth(2).inner_text() != before
    page.screenshot(path=screenshots / "02-region-measured.png", full_page=True)


def test_on_a_phone_one_session_is_highlighted_and_the_series_table_scrolls_by_keyboard(
    live_app, live_server, page, screenshots
):
    with live_app.app_context():
        create_demo_account("alex@example.com", "demo-password", days=45)
    page.goto(f"{live_server.url}/login")
    page.get_by_label("Email").fill("alex@example.com")
    page.get_by_label("Password").fill("demo-password")
    page.get_by_role("button", name="Log in").tap()
    page.get_by_role("link", name="Timeline").tap()
    page.wait_for_url(re.compile(r"/timeline$"))  # and its scripts have run: a choice submits

    # Three lines on top of each other: pick one, it is drawn bold on top, the others fade.
    page.get_by_label("Highlight", exact=True).select_option("2")
    page.wait_for_url(re.compile(r"session=2"))
    chart = page.locator("svg.recovery-chart")
    expect(chart.locator("path.curve.focused")).to_have_attribute("data-session", "2")
    expect(chart.locator("path.curve.faded")).to_have_count(2)
    expect(page.get_by_label("Highlight", exact=True)).to_have_value("2")
    chart.scroll_into_view_if_needed()
    page.screenshot(path=screenshots / "01-session-2-highlighted.png")

    # The series table is wider than the phone: a hint says so, and the keyboard scrolls it.
    table = page.get_by_role("region", name="Each session compared, scrolls sideways")
    assert table.evaluate("box => box.scrollWidth > box.clientWidth")
    expect(page.get_by_text("Swipe the table sideways for every column")).to_be_visible()
    table.focus()
    for _ in range(5):
        page.keyboard.press("ArrowRight")
    page.wait_for_function("box => box.scrollLeft > 0", arg=table.element_handle())
    table.scroll_into_view_if_needed()
    page.screenshot(path=screenshots / "02-series-table-scrolled.png")
