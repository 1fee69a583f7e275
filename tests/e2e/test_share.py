"""A patient hands a read-only link to their dermatologist, then revokes it."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from webapp.demo import create_demo_account

DESKTOP = {"viewport": {"width": 1280, "height": 900}, "is_mobile": False, "has_touch": False}


def test_patient_shares_then_revokes_and_dermatologist_sees_410(
    live_app, live_server, phone, screenshots
):
    with live_app.app_context():
        create_demo_account("alex@example.com", "demo-password", days=40)
    patient = phone().new_page()
    patient.goto(f"{live_server.url}/login")
    patient.get_by_label("Email").fill("alex@example.com")
    patient.get_by_label("Password").fill("demo-password")
    patient.get_by_role("button", name="Log in").tap()
    patient.get_by_role("link", name="Share").tap()

    patient.get_by_label("Who is it for?").fill("Dr Rivera, Riverside Dermatology")
    patient.get_by_label("Link works for").select_option("7")
    patient.get_by_role("button", name="Create link").tap()
    expect(patient.get_by_role("heading", name=re.compile("Link ready"))).to_be_visible()
    expect(patient.locator("figure.qr svg")).to_be_visible()
    url = patient.get_by_label("Link").input_value()
    assert re.fullmatch(rf"{re.escape(live_server.url)}/s/[A-Za-z0-9_-]{{43}}", url)
    patient.screenshot(path=screenshots / "01-patient-link-created.png", full_page=True)

    dermatologist = phone(**DESKTOP).new_page()
    dermatologist.goto(url)
    expect(dermatologist.get_by_role("heading", name="Progress of Alex Demo")).to_be_visible()
    expect(dermatologist.get_by_role("heading", name="Treatment sessions")).to_be_visible()
    photo = dermatologist.get_by_role("img", name=re.compile("Left cheek")).first
    photo.scroll_into_view_if_needed()
    dermatologist.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=photo.element_handle()
    )
    chart = dermatologist.get_by_role("img", name=re.compile("recovery after each session"))
    expect(chart.locator("path.curve")).to_have_count(3)
    assert dermatologist.get_by_role("link", name="Account").count() == 0
    slider = dermatologist.get_by_label(re.compile("Slide to compare"))
    slider.fill("20")
    split = dermatologist.locator("[data-overlay]").evaluate(
        "el => el.style.getPropertyValue('--split')"
    )
    assert split == "20%"
    dermatologist.screenshot(path=screenshots / "02-dermatologist-view.png", full_page=True)

    patient.get_by_role("link", name="Back to your links").tap()
    expect(patient.get_by_text("1 view")).to_be_visible()
    patient.on("dialog", lambda dialog: dialog.accept())
    patient.get_by_role("button", name=re.compile("Revoke")).tap()
    expect(patient.get_by_text("Revoked", exact=True)).to_be_visible()
    patient.screenshot(path=screenshots / "03-patient-revoked.png", full_page=True)

    response = dermatologist.reload()
    assert response.status == 410
    expect(
        dermatologist.get_by_role("heading", name="This link is no longer available")
    ).to_be_visible()
    dermatologist.screenshot(path=screenshots / "04-dermatologist-410.png", full_page=True)
