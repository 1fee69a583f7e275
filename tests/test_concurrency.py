"""Many phones syncing at once into 4 gunicorn workers on PostgreSQL; workers killed mid-upload.

20 clients replay their offline outboxes concurrently over real HTTP: 19 patients, one of whom has
two phones replaying the very same queue (same entry and photo UUIDs) at the same time. While they
upload, gunicorn workers are SIGKILLed. A client counts an item as done only on a 2xx, and retries
anything else, as the PWA's outbox does. At the end every entry and photo is stored exactly once,
every acknowledged item is there, and every stored photo's bytes are readable.

Runs in the PostgreSQL pass (`make test-postgres`, part of `make test`); SQLite is one process's
embedded default, not a multi-worker deployment.
"""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from tests.conftest import PASSWORD, settings_for_tests
from tests.photo_factory import make_photo
from tests.servers import Gunicorn, api_login, gunicorn_server, migrated_settings, server_env
from webapp import create_app
from webapp.extensions import db
from webapp.models import Entry, Photo, User

PATIENTS = 19
ENTRIES_PER_CLIENT = 4
PHOTOS_PER_ENTRY = 2
MAX_ATTEMPTS = 30

pytestmark = pytest.mark.skipif(
    not (
        os.environ.get("TEST_DATABASE") == "postgresql"
        or os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql")
    ),
    reason="multi-worker test: runs in the PostgreSQL pass (make test-postgres)",
)


@dataclass
class Item:
    kind: str  # "entry" or "photo"
    url: str
    entry_uuid: str
    photo_uuid: str | None = None
    body: dict | None = None


@dataclass
class Outbox:
    email: str
    items: list[Item]
    acknowledged: dict[str, dict] = field(default_factory=dict)  # url -> stored version
    retries: int = 0
    interrupted: int = 0  # connection dropped: the worker died with our request
    failures: list[str] = field(default_factory=list)


def plan(email: str, first_day: date) -> list[Item]:
    items: list[Item] = []
    for n in range(ENTRIES_PER_CLIENT):
        entry_uuid = str(uuid.uuid4())
        day = first_day + timedelta(days=n)
        body = {
            "date": day.isoformat(),
            "ratings": {"redness": n % 11, "swelling": 2, "pain": 1},
            "pie_severity": 2,
            "notes": f"day {n} for {email}",
            "client_updated_at": f"{day.isoformat()}T08:00:00Z",
        }
        items.append(Item("entry", f"/api/v1/entries/{entry_uuid}", entry_uuid, body=body))
        for _ in range(PHOTOS_PER_ENTRY):
            photo_uuid = str(uuid.uuid4())
            url = f"/api/v1/entries/{entry_uuid}/photos/{photo_uuid}"
            items.append(Item("photo", url, entry_uuid, photo_uuid))
    return items


def send(session: requests.Session, base: str, token: str, item: Item, photo: bytes):
    headers = {"X-CSRFToken": token}
    if item.kind == "entry":
        return session.put(base + item.url, json=item.body, headers=headers, timeout=60)
    return session.put(
        base + item.url,
        data={"area": "left_cheek"},
        files={"file": ("photo.jpg", photo, "image/jpeg")},
        headers=headers,
        timeout=60,
    )


def sync(base: str, outbox: Outbox, photo: bytes, start: threading.Barrier) -> None:
    """The outbox loop: an item leaves only on a 2xx; anything else is retried."""
    with requests.Session() as session:
        token = api_login(session, base, outbox.email, PASSWORD)
        start.wait()
        for item in outbox.items:
            for _attempt in range(MAX_ATTEMPTS):
                try:
                    response = send(session, base, token, item, photo)
                except requests.RequestException:  # reset, cut off mid-body, timeout
                    outbox.interrupted += 1
                    outbox.retries += 1
                    time.sleep(0.05)
                    continue
                if 200 <= response.status_code < 300:
                    outbox.acknowledged[item.url] = response.json()
                    break
                outbox.retries += 1
                if response.status_code < 500 and response.status_code != 404:
                    # 404 is expected: a photo may race its entry on the other phone.
                    outbox.failures.append(f"{item.url}: {response.status_code} {response.text}")
                time.sleep(0.05)
            else:
                outbox.failures.append(f"{item.url}: gave up")


def kill_workers_mid_upload(
    server: Gunicorn, outboxes: list[Outbox], total: int, killed: list[int]
) -> None:
    """SIGKILL a busy worker when a quarter of the items are in, and another at three fifths."""
    for fraction in (0.25, 0.6):
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            done = sum(len(o.acknowledged) for o in outboxes)
            if done >= fraction * total:
                break
            time.sleep(0.01)
        victim = busiest_worker(server)
        os.kill(victim, signal.SIGKILL)
        killed.append(victim)


def busiest_worker(server: Gunicorn) -> int:
    """The worker that used the most CPU in the last 0.2 s: the one ingesting photos right now.

    A gthread worker keeps the keep-alive connections it accepted, so the load is uneven and an
    idle worker may hold no request at all.
    """
    before = {pid: _cpu_ticks(pid) for pid in server.worker_pids()}
    time.sleep(0.2)
    busy = {pid: _cpu_ticks(pid) - ticks for pid, ticks in before.items()}
    return max(busy, key=lambda pid: busy[pid])


def _cpu_ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0
    return int(fields[11]) + int(fields[12])  # utime + stime


def test_twenty_phones_sync_exactly_once_through_killed_workers(tmp_path):
    settings = migrated_settings(tmp_path / "instance")
    check_app = create_app(settings)
    emails = [f"patient{n}@example.com" for n in range(PATIENTS)]
    with check_app.app_context():
        passwords = check_app.extensions["passwords"]
        for n, email in enumerate(emails):
            user = User(email=email, password_hash=passwords.hash(PASSWORD), display_name=f"P{n}")
            db.session.add(user)
        db.session.commit()

    first_day = date.today() - timedelta(days=30)
    plans = {email: plan(email, first_day) for email in emails}
    # Two phones of patient 0 replay the same queue; everyone else has one phone.
    outboxes = [Outbox(emails[0], plans[emails[0]]), Outbox(emails[0], plans[emails[0]])]
    outboxes += [Outbox(email, plans[email]) for email in emails[1:]]
    assert len(outboxes) == 20
    photo = make_photo(800, 600)
    total = sum(len(o.items) for o in outboxes)

    killed: list[int] = []
    with gunicorn_server(server_env(settings), workers=4, threads=4) as server:
        start = threading.Barrier(len(outboxes) + 1)
        clients = [
            threading.Thread(target=sync, args=(server.url, o, photo, start), daemon=True)
            for o in outboxes
        ]
        for client in clients:
            client.start()
        start.wait(timeout=120)
        began = time.monotonic()
        killer = threading.Thread(
            target=kill_workers_mid_upload, args=(server, outboxes, total, killed), daemon=True
        )
        killer.start()
        for client in clients:
            client.join(timeout=300)
        killer.join(timeout=30)
        elapsed = time.monotonic() - began
        assert not any(c.is_alive() for c in clients), "a client hung"
        assert len(killed) == 2
        replaced = server.wait_for_workers(4)
        assert not set(killed) & set(replaced), "the master replaced the killed workers"

    failures = [f for o in outboxes for f in o.failures]
    assert failures == []
    for outbox in outboxes:
        assert set(outbox.acknowledged) == {item.url for item in outbox.items}
    interrupted = sum(o.interrupted for o in outboxes)
    assert interrupted >= 1, "no request was in flight when the workers died: nothing was tested"

    # Both phones of patient 0 got the same stored photo for every replayed upload.
    twin_a, twin_b = outboxes[0], outboxes[1]
    for item in twin_a.items:
        if item.kind == "photo":
            stored_a, stored_b = twin_a.acknowledged[item.url], twin_b.acknowledged[item.url]
            assert (stored_a["id"], stored_a["sha256"]) == (stored_b["id"], stored_b["sha256"])

    expected_entries = {i.entry_uuid for p in plans.values() for i in p if i.kind == "entry"}
    expected_photos = {i.photo_uuid for p in plans.values() for i in p if i.kind == "photo"}
    with check_app.app_context():
        entry_uuids = Counter(db.session.execute(sa.select(Entry.uuid)).scalars())
        photo_rows = db.session.execute(sa.select(Photo)).scalars().all()
        photo_uuids = Counter(p.uuid for p in photo_rows)
        assert set(entry_uuids) == expected_entries
        assert max(entry_uuids.values()) == 1
        assert set(photo_uuids) == expected_photos
        assert max(photo_uuids.values()) == 1
        per_entry = Counter(p.entry_id for p in photo_rows)
        assert set(per_entry.values()) == {PHOTOS_PER_ENTRY}
        store = check_app.extensions["photo_store"]
        for row in photo_rows:
            for rendition in ("full", "display", "thumb"):
                assert store.exists(row.rendition_key(rendition)), (row.uuid, rendition)
        db.engine.dispose()
    print(  # shown with -s: how hard the run was
        f"\n{total} items from 20 clients in {elapsed:.1f}s; killed workers {killed}; "
        f"{interrupted} requests cut off, {sum(o.retries for o in outboxes)} retries"
    )


def test_settings_for_the_workers_match_the_test_database(tmp_path):
    # Guard for the test above: the gunicorn workers must use the database the checks read.
    settings = settings_for_tests(str(tmp_path / "instance"))
    assert server_env(settings)["DATABASE_URL"] == settings["SQLALCHEMY_DATABASE_URI"]
