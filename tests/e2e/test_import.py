"""Importing an export from the account page on a phone: the labelled file input, the Import
button, the result page; a file that is not an export answered on the account page with the
reason. Both pages pass axe-core (no serious or critical violation), light and dark."""

from __future__ import annotations

import pytest

from tests.conftest import PASSWORD
from tests.e2e.test_accessibility import AXE, RUN_AXE
from tests.import_archives import export_bytes, fill_account
from webapp.auth.account import delete_account
from webapp.extensions import db
from webapp.models import User

pytestmark = pytest.mark.e2e


@pytest.fixture
def archive_file(live_app, tmp_path):
    """The export of an account deleted afterwards, saved as the phone's download was; and a
    new account, with a password, to import it into."""
    with live_app.app_context():
        store = live_app.extensions["photo_store"]
        old = User(email="old@example.com", password_hash="-", display_name="Old")
        db.session.add(old)
        db.session.commit()
        fill_account(old, store)
        archive = export_bytes(old, store)
        delete_account(old, store)
        hashed = live_app.extensions["passwords"].hash(PASSWORD)
        db.session.add(User(email="new@example.com", password_hash=hashed, display_name="New"))
        db.session.commit()
    path = tmp_path / "skinlog-export.zip"
    path.write_bytes(archive)
    return path


def log_in(page, url: str) -> None:
    page.goto(f"{url}/login")
    page.get_by_label("Email").fill("new@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").tap()
    page.wait_for_url(f"{url}/")


def serious(page) -> list[dict]:
    page.add_script_tag(path=str(AXE))
    return [v for v in page.evaluate(RUN_AXE) if v["impact"] in ("serious", "critical")]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_an_export_is_imported_from_the_account_page(
    live_server, phone, screenshots, archive_file, scheme
):
    page = phone(color_scheme=scheme, bypass_csp=True, service_workers="block").new_page()
    log_in(page, live_server.url)
    page.goto(f"{live_server.url}/account")
    page.get_by_label("Skinlog export (ZIP)").set_input_files(archive_file)
    page.get_by_role("button", name="Import", exact=True).tap()
    page.get_by_role("heading", name="Import done").wait_for()
    page.screenshot(path=screenshots / "imported.png", full_page=True)
    assert page.get_by_text("3 daily entries: 3 added").is_visible()
    assert page.get_by_role("link", name="See your timeline").is_visible()
    assert serious(page) == []


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_a_file_that_is_not_an_export_is_explained_on_the_account_page(
    live_server, phone, screenshots, archive_file, tmp_path, scheme
):
    not_a_zip = tmp_path / "holiday.zip"
    not_a_zip.write_bytes(b"a photo album, not a Skinlog export")
    page = phone(color_scheme=scheme, bypass_csp=True, service_workers="block").new_page()
    log_in(page, live_server.url)
    page.goto(f"{live_server.url}/account")
    page.get_by_label("Skinlog export (ZIP)").set_input_files(not_a_zip)
    page.get_by_role("button", name="Import", exact=True).tap()
    alert = page.get_by_role("alert").filter(has_text="This file is not a ZIP archive")
    alert.wait_for()
    alert.scroll_into_view_if_needed()
    page.screenshot(path=screenshots / "refused.png")
    assert "Nothing was imported." in alert.inner_text()
    assert serious(page) == []
