"""Benchmark: the timeline page and its JSON against a trivial route of the same app, same run.

Run from the repository root:

    .venv/bin/python bench/bench_timeline.py              # best of 30
    .venv/bin/python bench/bench_timeline.py --repeat 80

It builds a two-year history for one patient (730 daily entries, 1,460 photo rows: two areas a
day, 12 sessions every 8 weeks) straight into a fresh SQLite database (photo rows only: the
timeline never opens photo bytes), logs in through the test client and times, best of N:

* trivial: GET /api/v1/csrf (a fresh CSRF token as JSON: the app's cheapest route);
* trivial, logged in: GET /timeline/data.json for a patient with no data (same login and
  session loading as the real pages, nothing to read);
* timeline: GET /timeline (HTML: recovery chart, series table and chart, photo strips);
* data: GET /timeline/data.json (and ?photos=all, every photo).

It prints milliseconds, the ratio to the trivial route, the payload size before compression and
the number of SQL statements per request. Wall-clock, single thread: compare ratios, not ms.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conftest import PASSWORD, CSRFClient, settings_for_tests  # noqa: E402
from tests.history_factory import add_history  # noqa: E402
from webapp import create_app  # noqa: E402
from webapp.extensions import db  # noqa: E402
from webapp.models import User  # noqa: E402


def make_user(app, email: str) -> int:
    with app.app_context():
        user = User(
            email=email,
            password_hash=app.extensions["passwords"].hash(PASSWORD),
            display_name="Bench",
            track="both",
            timezone="UTC",
        )
        db.session.add(user)
        db.session.commit()
        return user.id


def logged_in(app, email: str) -> CSRFClient:
    client = app.test_client()
    response = client.post("/login", data={"email": email, "password": PASSWORD})
    assert response.status_code == 302, response.status_code
    return client


def best_of(client, url: str, repeat: int) -> tuple[float, float, int]:
    """(best ms, median ms, bytes)."""
    size = 0
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        response = client.get(url)
        body = response.get_data()
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (url, response.status_code)
        size = len(body)
    return min(times), statistics.median(times), size


def count_statements(app, client, url: str) -> int:
    statements = []
    with app.app_context():
        engine = db.engine

    def record(*args):
        statements.append(args[2])

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        client.get(url)
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    return len(statements)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--profile", action="store_true", help="profile GET /timeline")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        app = create_app(settings_for_tests(str(Path(folder) / "instance")))
        app.test_client_class = CSRFClient
        with app.app_context():
            db.create_all()
        patient = make_user(app, "patient@example.com")
        make_user(app, "empty@example.com")
        start = time.perf_counter()
        with app.app_context():
            add_history(patient, days=730, sessions=12, session_every=56)
        print(
            f"history: 730 entries, 1460 photos, 12 sessions "
            f"(built in {time.perf_counter() - start:.1f} s)"
        )
        client = logged_in(app, "patient@example.com")
        empty = logged_in(app, "empty@example.com")
        for url in ("/timeline", "/timeline/data.json", "/api/v1/csrf"):
            client.get(url)  # warm up: templates compiled, caches filled

        trivial, _, _ = best_of(client, "/api/v1/csrf", args.repeat)
        rows = [
            ("trivial  GET /api/v1/csrf", client, "/api/v1/csrf"),
            ("trivial, logged in: empty /timeline/data.json", empty, "/timeline/data.json"),
            ("GET /timeline", client, "/timeline"),
            ("GET /timeline?metric=delta_a", client, "/timeline?metric=delta_a"),
            ("GET /timeline/data.json", client, "/timeline/data.json"),
            ("GET /timeline/data.json?photos=all", client, "/timeline/data.json?photos=all"),
            ("GET /compare", client, "/compare"),
        ]
        print(f"best of {args.repeat}; ratio = best / best of the trivial route")
        print(f"{'request':50} {'best ms':>8} {'median':>8} {'ratio':>6} {'bytes':>8} {'SQL':>4}")
        for label, who, url in rows:
            best, median, size = best_of(who, url, args.repeat)
            statements = count_statements(app, who, url)
            print(
                f"{label:50} {best:8.2f} {median:8.2f} {best / trivial:6.1f} "
                f"{size:8d} {statements:4d}"
            )
        if args.profile:
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(10):
                client.get("/timeline")
            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


if __name__ == "__main__":
    main()
