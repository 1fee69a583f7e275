"""Sync under real concurrency: several phones of one patient against 4 gunicorn workers.

Two properties of the sync contract (docs/api.md), each checked over repeated rounds:

* last writer wins holds when the writes race: whatever order ten PUTs and DELETEs stamped
  10:00:00 … 10:00:09 reach the workers in, the stored row is the one stamped :09;
* `GET /changes?since=<cursor>` never skips a row: a second phone following the cursor while eight
  phones write ends up with every row a full fetch returns.

They run in both passes, on SQLite (one database file shared by the workers) and on PostgreSQL.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta

import pytest
import requests

from tests.conftest import PASSWORD
from tests.servers import Gunicorn, api_login, gunicorn_server, migrated_settings, server_env
from webapp import create_app
from webapp.extensions import db
from webapp.models import User

RACERS = 10
ROUNDS = 6
WRITERS = 8
ENTRIES_PER_WRITER = 30


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Gunicorn]:
    settings = migrated_settings(tmp_path_factory.mktemp("races") / "instance")
    app = create_app(settings)
    with app.app_context():
        passwords = app.extensions["passwords"]
        for email in ("racer@example.com", "poller@example.com"):
            db.session.add(
                User(email=email, password_hash=passwords.hash(PASSWORD), display_name="R")
            )
        db.session.commit()
        db.engine.dispose()
    with gunicorn_server(server_env(settings), workers=4, threads=4) as running:
        yield running


def phones(server: Gunicorn, email: str, count: int) -> list[tuple[requests.Session, str]]:
    """`count` logged-in clients of one patient, each with its own login and CSRF token."""
    clients = []
    for _ in range(count):
        session = requests.Session()
        clients.append((session, api_login(session, server.url, email, PASSWORD)))
    return clients


def stamp(base: datetime, second: int) -> str:
    return (base + timedelta(seconds=second)).isoformat().replace("+00:00", "Z")


def race(server: Gunicorn, clients, requests_to_send) -> list[requests.Response]:
    """Send one request per client at the same instant (a barrier), each from its own thread."""
    barrier = threading.Barrier(len(requests_to_send))

    def send(args):
        (session, token), (method, path, body) = args
        barrier.wait()
        return session.request(
            method, server.url + path, json=body, headers={"X-CSRFToken": token}, timeout=60
        )

    with ThreadPoolExecutor(len(requests_to_send)) as pool:
        return list(pool.map(send, zip(clients, requests_to_send, strict=True)))


def entry_body(day: date, when: str, n: int) -> dict:
    return {"date": day.isoformat(), "ratings": {"redness": n}, "notes": f"edit {n}",
            "client_updated_at": when}  # fmt: skip


def session_body(day: date, when: str, n: int) -> dict:
    return {"date": day.isoformat(), "device": "pen", "needle_depth_mm": 0.5 + n / 10,
            "areas": ["left_cheek"], "notes": f"edit {n}", "client_updated_at": when}  # fmt: skip


@pytest.mark.parametrize("kind", ["entries", "sessions"])
def test_racing_edits_and_deletes_of_one_row_leave_the_newest_stored(server, kind):
    clients = phones(server, "racer@example.com", RACERS)
    make_body = entry_body if kind == "entries" else session_body
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    losers = []
    for round_ in range(ROUNDS):
        row_id = str(uuid.uuid4())
        path = f"/api/v1/{kind}/{row_id}"
        day = date.today() - timedelta(days=100 + round_ + (50 if kind == "sessions" else 0))
        first = clients[0][0].put(
            server.url + path,
            json=make_body(day, stamp(base, -60), 0),
            headers={"X-CSRFToken": clients[0][1]},
            timeout=60,
        )
        assert first.status_code == 201, first.text
        # In odd rounds the newest write (:09) is a DELETE, and every third write before it too.
        newest_deletes = round_ % 2 == 1
        sends = []
        for n in range(RACERS):
            deletes = (n == RACERS - 1 and newest_deletes) or (n % 3 == 1 and n != RACERS - 1)
            when = stamp(base + timedelta(minutes=round_), n)
            if deletes:
                sends.append(("DELETE", f"{path}?client_updated_at={when}", None))
            else:
                sends.append(("PUT", path, make_body(day, when, n)))
        answers = race(server, clients, sends)
        assert [a.status_code for a in answers if a.status_code >= 300] == []
        stored = clients[0][0].get(server.url + path, timeout=30)
        if newest_deletes:
            if stored.status_code != 404:
                losers.append((round_, stored.json()["notes"]))
        elif stored.status_code != 200 or stored.json()["notes"] != f"edit {RACERS - 1}":
            losers.append((round_, stored.status_code, stored.text[:80]))
    assert losers == []


def test_a_phone_following_the_changes_cursor_misses_nothing_while_eight_phones_write(server):
    writers = phones(server, "poller@example.com", WRITERS)
    ((poller, _),) = phones(server, "poller@example.com", 1)
    first_day = date.today() - timedelta(days=WRITERS * ENTRIES_PER_WRITER + 10)
    done = threading.Event()
    seen: set[str] = set()
    polls = 0

    def write(index: int) -> list[str]:
        session, token = writers[index]
        made = []
        for n in range(ENTRIES_PER_WRITER):
            entry_id = str(uuid.uuid4())
            day = first_day + timedelta(days=index * ENTRIES_PER_WRITER + n)
            body = entry_body(day, stamp(datetime.now(UTC) - timedelta(minutes=1), 0), n % 11)
            answer = session.put(
                f"{server.url}/api/v1/entries/{entry_id}",
                json=body,
                headers={"X-CSRFToken": token},
                timeout=60,
            )
            assert answer.status_code == 201, answer.text
            made.append(entry_id)
        return made

    def follow(cursor: str | None) -> str | None:
        nonlocal polls
        while True:
            params = {"since": cursor} if cursor is not None else {}
            answer = poller.get(f"{server.url}/api/v1/changes", params=params, timeout=60)
            assert answer.status_code == 200, answer.text
            body = answer.json()
            polls += 1
            seen.update(entry["id"] for entry in body["entries"])
            cursor = body["cursor"]
            if not body["more"]:
                return cursor

    def poll_until_done() -> None:
        cursor = None
        while not done.is_set():
            cursor = follow(cursor)
        follow(cursor)  # once more after the last write was acknowledged

    poller_thread = threading.Thread(target=poll_until_done)
    poller_thread.start()
    try:
        with ThreadPoolExecutor(WRITERS) as pool:
            written = {entry_id for made in pool.map(write, range(WRITERS)) for entry_id in made}
    finally:
        done.set()
        poller_thread.join(timeout=120)

    full = poller.get(f"{server.url}/api/v1/changes", timeout=60).json()
    assert len(written) == WRITERS * ENTRIES_PER_WRITER
    assert {entry["id"] for entry in full["entries"]} == written
    assert polls > 2, "the poller never polled while the writers wrote: nothing was tested"
    assert written - seen == set()
