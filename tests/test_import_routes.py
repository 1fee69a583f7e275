"""The import's route (POST /account/import) and its pages: access rules, the form, the answers
for a good archive, a refused one, no file, and the rate limit. The importer itself is specified
in tests/test_import.py."""

from __future__ import annotations

import io

import pytest

from tests.import_archives import export_bytes, fill_account, with_data
from webapp.auth.account import delete_account
from webapp.extensions import db
from webapp.models import User
from webapp.portability import importer


@pytest.fixture
def store(app):
    return app.extensions["photo_store"]


def _user(email: str) -> User:
    user = User(email=email, password_hash="-", display_name=email[0])
    db.session.add(user)
    db.session.commit()
    return user


def _set_rating(data: dict) -> None:
    data["entries"][1]["ratings"]["redness"] = 11


def _upload(client, data: bytes, **kwargs):
    return client.post(
        "/account/import",
        data={"archive": (io.BytesIO(data), "skinlog-export.zip")},
        content_type="multipart/form-data",
        **kwargs,
    )


@pytest.fixture
def exported(app, store) -> bytes:
    """The export of an account that is then deleted (its UUIDs are free to import)."""
    with app.app_context():
        old = _user("old@example.com")
        fill_account(old, store)
        archive = export_bytes(old, store)
        delete_account(old, store)
    return archive


def test_the_account_page_has_the_import_form(logged_in):
    page = logged_in.get("/account").get_data(as_text=True)
    assert '<label for="import-archive">Skinlog export (ZIP)</label>' in page
    assert 'name="archive" type="file" accept=".zip,application/zip"' in page
    assert "rows with the same ID keep whichever was changed last" in page


def test_importing_needs_a_login(client, exported):
    response = _upload(client, exported)
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_importing_needs_the_csrf_token(logged_in, exported):
    assert _upload(logged_in, exported, csrf=False).status_code == 400


def test_a_good_archive_answers_the_counts_and_a_link_to_the_timeline(logged_in, exported):
    response = _upload(logged_in, exported)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "2 treatment sessions: 2 added" in page
    assert "3 daily entries: 3 added" in page
    assert "3 photos: 3 added" in page
    assert 'href="/timeline"' in page


def test_a_bad_file_answers_422_with_the_message_on_the_account_page(logged_in):
    response = _upload(logged_in, b"not a zip at all")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "<h1>Your account</h1>" in page
    assert "This file is not a ZIP archive." in page
    assert 'aria-invalid="true"' in page


def test_a_bad_row_answers_422_naming_the_file_and_row(logged_in, exported):
    response = _upload(logged_in, with_data(exported, _set_rating))
    assert response.status_code == 422
    assert "data.json: entries[1].ratings.redness: Redness must be from 0 to 10" in (
        response.get_data(as_text=True)
    )


def test_no_file_chosen_answers_422(logged_in):
    response = logged_in.post("/account/import", data={}, content_type="multipart/form-data")
    assert response.status_code == 422
    assert "Choose the ZIP file" in response.get_data(as_text=True)


def test_a_refusal_says_nothing_was_imported_once(app, logged_in, exported, store):
    with app.app_context():
        importer.import_archive(_user("first@example.com"), io.BytesIO(exported), store)
    page = _upload(logged_in, exported).get_data(as_text=True)
    assert "is used by another account" in page
    assert page.lower().count("nothing was imported") == 1


def test_imports_are_rate_limited(logged_in):
    for _ in range(10):
        response = logged_in.post("/account/import", content_type="multipart/form-data")
        assert response.status_code == 422
    response = logged_in.post("/account/import", content_type="multipart/form-data")
    assert response.status_code == 429
