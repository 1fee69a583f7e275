"""The logs never hold a share token, however the request spells the path to it: gunicorn's
(`make serve`) and the development server's (`make run`, the single machine's default).

A share link's token is its only secret, and gunicorn serves the share view for more spellings of
its path than `/s/<token>`: doubled slashes, percent-encoded slashes or letters. The first tests
build the log's atoms the way gunicorn does; then a real gunicorn's access log is read, and the
lines a real werkzeug development server logs.
"""

from __future__ import annotations

import http.client
import logging
import threading
from datetime import timedelta
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
from gunicorn.config import Config
from gunicorn.util import unquote_to_wsgi_str
from werkzeug.serving import make_server

from tests.servers import gunicorn_server, migrated_settings, server_env
from webapp import create_app
from webapp.extensions import db
from webapp.gunicorn_conf import RedactingLogger
from webapp.models import User, token_digest
from webapp.sharing import links as sharing

TOKEN = "Zk3qT0kenThatMustNeverBeLogged-xyz_0123456789abcdefABCDEF"

SPELLINGS = [
    f"/calendar/{TOKEN}.ics",
    f"//calendar//{TOKEN}.ics",
    f"/%63alendar/{TOKEN}.ics",
    f"/s/{TOKEN}",
    f"//s/{TOKEN}",
    f"/s//{TOKEN}",
    f"///s///{TOKEN}/",
    f"/s/{TOKEN}/photos/0b6f0f4e/thumb.jpg",
    f"/s/{TOKEN}/report.pdf",
    f"/%2Fs%2F{TOKEN}",
    f"/%2fs%2f{TOKEN}",
    f"/%73/{TOKEN}",
    f"/%252Fs%252F{TOKEN}",
    f"/s/{TOKEN}?area=left_cheek",
    f"/login?next=%2Fs%2F{TOKEN}",
]


def access_atoms(raw_uri: str, referer: str = "-") -> dict[str, object]:
    """RedactingLogger's atoms for a GET of `raw_uri`, with the environ gunicorn would build."""
    path, _, query = raw_uri.partition("?")
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": raw_uri,
        "PATH_INFO": unquote_to_wsgi_str(path),
        "QUERY_STRING": query,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "203.0.113.9",
        "HTTP_REFERER": referer,
        "HTTP_USER_AGENT": "Mozilla/5.0",
    }
    request = SimpleNamespace(headers=[("REFERER", referer), ("USER-AGENT", "Mozilla/5.0")])
    response = SimpleNamespace(status="200 OK", sent=1234, headers=[("Content-Type", "text/html")])
    logger = RedactingLogger(Config())
    return logger.atoms(response, request, environ, timedelta(milliseconds=12))


@pytest.mark.parametrize("raw_uri", SPELLINGS)
def test_no_atom_holds_the_token_however_the_path_is_spelled(raw_uri):
    atoms = access_atoms(raw_uri)
    leaked = {name: value for name, value in atoms.items() if TOKEN in str(value)}
    assert leaked == {}


def test_the_token_is_masked_in_the_referrer():
    atoms = access_atoms("/static/app.css", referer=f"https://skinlog.example/s/{TOKEN}")
    assert atoms["f"] == "https://skinlog.example/s/<token>"
    assert TOKEN not in str(atoms["{referer}i"])


def test_the_rest_of_a_shared_path_stays_readable():
    atoms = access_atoms(f"/s/{TOKEN}/photos/0b6f0f4e/thumb.jpg")
    assert atoms["U"] == "/s/<token>/photos/0b6f0f4e/thumb.jpg"


def test_other_paths_are_logged_as_they_came():
    atoms = access_atoms("/entries?from=2026-01-01&q=a%20b")
    assert atoms["U"] == "/entries"
    assert atoms["r"] == "GET /entries?from=2026-01-01&q=a%20b HTTP/1.1"
    assert atoms["q"] == "from=2026-01-01&q=a%20b"


def test_the_error_log_masks_the_token_of_a_request_that_failed(tmp_path):
    config = Config()
    config.set("errorlog", str(tmp_path / "error.log"))
    logger = RedactingLogger(config)
    try:
        raise ConnectionResetError("client went away")
    except ConnectionResetError:
        # What gunicorn's worker logs when handling a request fails outside the app.
        logger.exception("Error handling request %s %s", "GET", f"/%2Fs%2F{TOKEN}")
    text = (tmp_path / "error.log").read_text()
    assert "Error handling request GET //s/<token>" in text
    assert TOKEN not in text


def store_link(settings: dict[str, object], token: str) -> None:
    """A patient with a live share link whose token is `token`."""
    app = create_app(settings)
    with app.app_context():
        patient = User(email="p@example.com", password_hash="-", display_name="P")
        db.session.add(patient)
        db.session.flush()
        form = {"label": "Clinic", "expires_in_days": "30"}
        link, _ = sharing.create_link(patient.id, sharing.parse_link_request(form))
        link.token_hash = token_digest(token)
        db.session.add(link)
        db.session.commit()
        db.engine.dispose()


def test_a_real_gunicorn_logs_no_token(tmp_path):
    settings = migrated_settings(tmp_path / "instance")
    store_link(settings, TOKEN)
    log = tmp_path / "access.log"
    env = {**server_env(settings), "GUNICORN_ACCESS_LOG": str(log)}
    # Every atom that can carry a path or a URL: the request line, path, query and referrer.
    extra_args = ("--access-logformat", '"%(r)s" %(U)s %(q)s %(s)s "%(f)s" "%({referer}i)s"')
    with gunicorn_server(env, workers=1, extra_args=extra_args) as server:
        netloc = urlsplit(server.url).netloc
        for raw_uri in SPELLINGS:
            connection = http.client.HTTPConnection(netloc, timeout=30)
            connection.putrequest("GET", raw_uri, skip_host=False)
            connection.putheader("Referer", f"{server.url}/s/{TOKEN}")
            connection.endheaders()
            connection.getresponse().read()
            connection.close()
    lines = log.read_text().splitlines()
    assert len(lines) == len(SPELLINGS), lines
    assert not [line for line in lines if TOKEN in line]
    served = [line for line in lines if " 200 " in line]
    assert len(served) >= 5, "the share view answered most spellings: the test is not vacuous"


class _Lines(logging.Handler):
    """The messages a logger emits (caplog's handler sits on the root logger, which the
    migrations' logging configuration replaces)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def test_the_development_server_logs_no_token(tmp_path):
    settings = migrated_settings(tmp_path / "instance")
    store_link(settings, TOKEN)
    server = make_server("127.0.0.1", 0, create_app(settings))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    werkzeug_log, captured = logging.getLogger("werkzeug"), _Lines()
    werkzeug_log.addHandler(captured)
    werkzeug_log.setLevel(logging.INFO)
    try:
        for raw_uri in SPELLINGS:
            connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
            connection.request("GET", raw_uri)
            connection.getresponse().read()
            connection.close()
    finally:
        werkzeug_log.removeHandler(captured)
        werkzeug_log.setLevel(logging.NOTSET)
        server.shutdown()
        thread.join()
    lines = captured.lines
    assert len(lines) == len(SPELLINGS), lines
    assert not [line for line in lines if TOKEN in line]
    assert len([line for line in lines if '" 200 ' in line]) >= 5, "the test is not vacuous"
