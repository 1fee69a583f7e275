"""Benchmark: syncing 200 queued entries with one photo each over loopback.

Run from the repository root:

    .venv/bin/python bench/bench_sync.py                 # 200 entries
    .venv/bin/python bench/bench_sync.py --entries 50

A real server (the app under werkzeug's threaded server, SQLite, photo folder in a temp dir) runs
in a thread; the client replays the outbox with exactly the request sequence of
static/js/outbox/sync.js: one GET /api/v1/csrf per sync run, then per entry one JSON PUT of the
entry and one multipart PUT of its photo (a phone-shrunk 2048 x 1536 JPEG). It prints:

* total time, requests per entry and bytes uploaded;
* baseline: the same number of bytes uploaded in one single request to a sink that only reads
  them; ratio = sync time / baseline time;
* the same sync with the server's photo processing (decode, renditions, colour metrics) replaced
  by a precomputed result, which isolates the protocol's own cost: its ratio to the baseline shows
  whether the sync is bound by bytes or by per-request overhead.

Timings are wall-clock on whatever machine runs this; compare ratios, not seconds.
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
import tempfile
import threading
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

import requests
from werkzeug.serving import make_server

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.conftest import PASSWORD, settings_for_tests
from tests.photo_factory import make_photo
from webapp import create_app, imaging
from webapp.extensions import csrf, db
from webapp.models import Photo, User


def start_server(instance: str):
    app = create_app(dict(settings_for_tests(instance), TESTING=False))

    def sink():
        from flask import request

        received = 0
        while chunk := request.stream.read(1 << 20):
            received += len(chunk)
        return {"received": received}

    app.add_url_rule("/bench/sink", "bench_sink", sink, methods=["POST"])
    csrf.exempt(sink)
    with app.app_context():
        db.create_all()
        db.session.add(
            User(
                email="bench@example.com",
                display_name="Bench",
                password_hash=app.extensions["passwords"].hash(PASSWORD),
            )
        )
        db.session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return app, server, f"http://127.0.0.1:{server.server_port}"


def logged_in_session(base: str) -> requests.Session:
    session = requests.Session()
    form = session.get(f"{base}/login").text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form).group(1)
    answer = session.post(
        f"{base}/login",
        allow_redirects=False,
        data={"email": "bench@example.com", "password": PASSWORD, "csrf_token": token},
    )
    assert answer.status_code == 302, answer.text
    return session


def outbox(count: int, photo: bytes) -> list[dict]:
    today = date.today()
    return [
        {
            "uuid": str(uuid.uuid4()),
            "body": {
                "date": (today - timedelta(days=i)).isoformat(),
                "ratings": {"redness": i % 11},
                "pie_severity": i % 5,
                "aftercare": ["sunscreen"],
                "notes": f"day {i}",
                "client_updated_at": "2026-01-01T08:00:00Z",
            },
            "photo": {"uuid": str(uuid.uuid4()), "area": "left_cheek", "data": photo},
        }
        for i in range(count)
    ]


def sync(session: requests.Session, base: str, items: list[dict]) -> tuple[float, int, int]:
    """The client's request sequence; returns (seconds, requests, bytes uploaded)."""
    requests_made, sent = 0, 0
    started = time.perf_counter()
    token = session.get(f"{base}/api/v1/csrf").json()["csrf_token"]
    requests_made += 1
    headers = {"X-CSRFToken": token, "Accept": "application/json"}
    for item in items:
        answer = session.put(
            f"{base}/api/v1/entries/{item['uuid']}", json=item["body"], headers=headers
        )
        assert answer.status_code in (200, 201), answer.text
        sent += len(answer.request.body)
        photo = item["photo"]
        answer = session.put(
            f"{base}/api/v1/entries/{item['uuid']}/photos/{photo['uuid']}",
            files={"file": ("photo.jpg", photo["data"], "image/jpeg")},
            data={"area": photo["area"]},
            headers=headers,
        )
        assert answer.status_code in (200, 201), answer.text
        sent += len(answer.request.body)
        requests_made += 2
    return time.perf_counter() - started, requests_made, sent


def baseline(session: requests.Session, base: str, size: int) -> float:
    payload = b"\0" * size
    started = time.perf_counter()
    answer = session.post(
        f"{base}/bench/sink", data=payload, headers={"Content-Type": "application/octet-stream"}
    )
    elapsed = time.perf_counter() - started
    assert answer.json()["received"] == size
    return elapsed


def main() -> None:
    # One access-log line per request would drown the figures.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entries", type=int, default=200)
    args = parser.parse_args()
    photo = make_photo(2048, 1536)
    with tempfile.TemporaryDirectory() as tmp:
        app, server, base = start_server(f"{tmp}/instance")
        try:
            session = logged_in_session(base)
            seconds, made, sent = sync(session, base, outbox(args.entries, photo))
            with app.app_context():
                photos = db.session.query(Photo).count()
            assert photos == args.entries, photos
            base_seconds = baseline(session, base, sent)

            # Protocol only: the same sync with photo processing precomputed.
            with app.app_context():
                db.session.execute(db.delete(Photo))
                db.session.execute(db.text("DELETE FROM entries"))
                db.session.commit()
            processed = imaging.ingest_photo(photo)
            real_ingest = imaging.ingest_photo
            imaging.ingest_photo = lambda data, **kwargs: processed
            try:
                bare_seconds, _, bare_sent = sync(session, base, outbox(args.entries, photo))
            finally:
                imaging.ingest_photo = real_ingest
            bare_base = baseline(session, base, bare_sent)
        finally:
            server.shutdown()
    n = args.entries
    print(f"entries synced            {n} (one {len(photo) / 1024:.0f} KiB photo each)")
    print(f"requests                  {made} = {made / n:.3f} per entry (1 csrf per run + 2 each)")
    print(f"bytes uploaded            {sent / 1e6:.1f} MB ({sent / n / 1024:.0f} KiB per entry)")
    print(f"sync, full server work    {seconds:.2f} s ({seconds / n * 1000:.1f} ms per entry)")
    print(f"baseline, one request     {base_seconds:.3f} s for the same bytes")
    print(f"ratio sync / baseline     {seconds / base_seconds:.1f}x")
    per_entry = bare_seconds / n * 1000
    print(f"sync, ingest precomputed  {bare_seconds:.2f} s ({per_entry:.1f} ms per entry)")
    print(f"ratio (protocol only)     {bare_seconds / bare_base:.1f}x over {bare_base:.3f} s")


if __name__ == "__main__":
    main()
