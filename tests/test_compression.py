"""Text goes over the wire compressed when the browser asks for it; photos never are."""

from __future__ import annotations

import gzip
import io

import brotli
import pytest

from tests.history_factory import add_history
from tests.test_diary import entry_form
from tests.test_timeline import photo_uuids


@pytest.fixture
def with_history(app, user, logged_in):
    with app.app_context():
        add_history(user.id, days=30, session_every=10, sessions=2, photo_areas=("left_cheek",))
    return logged_in


@pytest.mark.parametrize(
    ("accept", "encoding", "decompress"),
    [("gzip", "gzip", gzip.decompress), ("br, gzip", "br", brotli.decompress)],
)
def test_the_timeline_is_compressed_when_asked(with_history, accept, encoding, decompress):
    plain = with_history.get("/timeline", headers={"Accept-Encoding": "identity"})
    packed = with_history.get("/timeline", headers={"Accept-Encoding": accept})

    assert "Content-Encoding" not in plain.headers
    assert packed.headers["Content-Encoding"] == encoding
    assert "Accept-Encoding" in packed.headers["Vary"]
    assert decompress(packed.get_data()) == plain.get_data()
    assert len(packed.get_data()) < len(plain.get_data()) / 3
    # Still health data: no shared cache keeps it, compressed or not.
    assert packed.headers["Cache-Control"] == "private, no-cache"


def test_a_photo_is_never_compressed(logged_in, app, user, sample_photo):
    form = entry_form(photo_1=(io.BytesIO(sample_photo), "a.jpg"), photo_1_area="left_cheek")
    logged_in.post("/log", data=form, content_type="multipart/form-data")
    (photo,) = photo_uuids(app, user.id)
    for rendition in ("thumb", "display", "full"):
        url = f"/photos/{photo}/{rendition}.jpg"
        with logged_in.get(url, headers={"Accept-Encoding": "br, gzip"}) as response:
            assert response.status_code == 200
            assert response.mimetype == "image/jpeg"
            assert "Content-Encoding" not in response.headers


@pytest.mark.parametrize(
    "path",
    ["/static/css/app.css", "/static/js/timeline.js", "/sw.js", "/manifest.webmanifest"],
)
def test_the_app_shell_is_compressed(client, path):
    with client.get(path, headers={"Accept-Encoding": "br, gzip"}) as response:
        assert response.headers["Content-Encoding"] == "br"
        assert brotli.decompress(response.get_data())


def test_a_compressed_static_file_still_answers_304_to_its_etag(client):
    with client.get("/static/css/app.css", headers={"Accept-Encoding": "br"}) as first:
        etag = first.headers["ETag"]
    headers = {"Accept-Encoding": "br", "If-None-Match": etag}
    with client.get("/static/css/app.css", headers=headers) as again:
        assert again.status_code == 304


def test_the_service_worker_is_still_checked_on_every_navigation(client):
    response = client.get("/sw.js", headers={"Accept-Encoding": "gzip"})
    assert response.headers["Content-Encoding"] == "gzip"
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.headers["Service-Worker-Allowed"] == "/"
    assert b"__SHELL_VERSION__" not in gzip.decompress(response.get_data())
