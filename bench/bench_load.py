"""Load benchmark: gunicorn on loopback, SQLite vs PostgreSQL, 1 vs 4 workers (by hand, not in CI).

    .venv/bin/python bench/bench_load.py                          # every combination, 5 s each
    .venv/bin/python bench/bench_load.py --seconds 10 --clients 8 --databases postgresql --workers 4

For each database (SQLite file; a throw-away PostgreSQL cluster from tests/pg_server.py) and each
worker count it starts `gunicorn -c python:webapp.gunicorn_conf` (gthread, 4 threads per worker)
on 127.0.0.1, builds the schema with the migrations, makes one patient per client with a 180-day
history (entries, sessions, photo rows), logs every client in, then runs closed-loop load: each of
`--clients` threads sends requests back to back for `--seconds` (and at most `--max-requests`).

Routes, each measured under the same load in the same run:
  trivial   GET /api/v1/csrf                 (the app's cheapest route: the reference)
  log page  GET /log                         (the daily log form)
  entry PUT PUT /api/v1/entries/<uuid>       (a new daily entry, JSON)
  photo PUT PUT /api/v1/entries/<uuid>/photos/<uuid>  (a ~1 MB JPEG, multipart; full ingest)
  timeline  GET /timeline/data.json          (180 days of curves and photo strip data)

It prints requests/s, p50/p95/p99 latency and errors per route, each as a ratio to the trivial
route, and the resident memory of every worker while photos are ingested (peak VmRSS sampled every
50 ms, and VmHWM). Client and server share this machine's cores: compare ratios, not absolutes.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import pg_server  # noqa: E402
from tests.conftest import PASSWORD  # noqa: E402
from tests.history_factory import add_history  # noqa: E402
from tests.photo_factory import make_photo  # noqa: E402
from tests.servers import gunicorn_server, memory_kib  # noqa: E402

HISTORY_DAYS = 180


@dataclass
class Result:
    name: str
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    seconds: float = 0.0

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


@dataclass
class Client:
    session: requests.Session
    token: str
    entry_day: date  # new entries go backwards from here, one date each
    photo_entries: list[str] = field(default_factory=list)
    photos_sent: int = 0


def build_database(url: str, instance: Path, clients: int) -> dict[str, object]:
    """Migrate, then one patient per client with a history; returns the app settings."""
    from flask_migrate import upgrade

    from webapp import create_app
    from webapp.extensions import db
    from webapp.models import User

    settings = {
        "INSTANCE_PATH": str(instance),
        "SQLALCHEMY_DATABASE_URI": url,
        "SECRET_KEY": "bench-" + uuid.uuid4().hex,
        "ARGON2_TIME_COST": 1,
        "ARGON2_MEMORY_KIB": 8,
        "PHOTO_STORAGE": "",
        "LOGIN_RATE_LIMIT": "10000 per minute",
        "RATELIMIT_STORAGE_URI": "memory://",
    }
    app = create_app(settings)
    with app.app_context():
        upgrade()
        for n in range(clients):
            user = User(
                email=f"bench{n}@example.com",
                password_hash=app.extensions["passwords"].hash(PASSWORD),
                display_name=f"Bench {n}",
                track="both",
                timezone="UTC",
            )
            db.session.add(user)
            db.session.commit()
            add_history(user.id, days=HISTORY_DAYS, session_every=42, sessions=4)
            db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return settings


def server_env(settings: dict[str, object]) -> dict[str, str]:
    return {
        "DATABASE_URL": str(settings["SQLALCHEMY_DATABASE_URI"]),
        "SKINLOG_INSTANCE_PATH": str(settings["INSTANCE_PATH"]),
        "SECRET_KEY": str(settings["SECRET_KEY"]),
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_KIB": "8",
        "LOGIN_RATE_LIMIT": "10000 per minute",
        "RATELIMIT_STORAGE_URI": "memory://",
        "PHOTO_STORAGE": "",
    }


def login(base: str, n: int) -> Client:
    session = requests.Session()
    token = session.get(f"{base}/api/v1/csrf", timeout=30).json()["csrf_token"]
    response = session.post(
        f"{base}/login",
        data={"email": f"bench{n}@example.com", "password": PASSWORD, "csrf_token": token},
        allow_redirects=False,
        timeout=30,
    )
    assert response.status_code == 302, response.text[:300]
    token = session.get(f"{base}/api/v1/csrf", timeout=30).json()["csrf_token"]
    start = date.today() - timedelta(days=HISTORY_DAYS + 1)
    return Client(session, token, start)


def new_entry(base: str, client: Client) -> requests.Response:
    day = client.entry_day
    client.entry_day -= timedelta(days=1)
    body = {
        "date": day.isoformat(),
        "ratings": {"redness": 5, "swelling": 2, "pain": 1, "itching": 0, "dryness": 3},
        "pie_severity": 2,
        "aftercare": ["sunscreen"],
        "notes": "bench",
        "client_updated_at": f"{day.isoformat()}T08:00:00Z",
    }
    return client.session.put(
        f"{base}/api/v1/entries/{uuid.uuid4()}",
        json=body,
        headers={"X-CSRFToken": client.token},
        timeout=120,
    )


def run_load(
    name: str,
    clients: list[Client],
    request: Callable[[Client], requests.Response],
    seconds: float,
    max_requests: int,
    ok: tuple[int, ...] = (200, 201),
) -> Result:
    result = Result(name)
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def loop(client: Client) -> None:
        latencies: list[float] = []
        errors = 0
        for _ in range(max_requests):  # bounded, and stopped by the deadline
            if time.monotonic() >= deadline:
                break
            began = time.perf_counter()
            try:
                response = request(client)
                good = response.status_code in ok
            except requests.RequestException:
                good = False
            if good:
                latencies.append(time.perf_counter() - began)
            else:
                errors += 1
        with lock:
            result.latencies.extend(latencies)
            result.errors += errors

    threads = [threading.Thread(target=loop, args=(c,)) for c in clients]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.seconds = time.monotonic() - began
    return result


def bench_configuration(
    database: str, workers: int, args: argparse.Namespace, photo: bytes, pg_base: str | None
) -> tuple[list[Result], dict[int, dict[str, int]]]:
    with tempfile.TemporaryDirectory(prefix="skinlog-bench-") as folder:
        instance = Path(folder) / "instance"
        if database == "postgresql":
            assert pg_base
            _schema, url = pg_server.new_schema(pg_base)
        else:
            instance.mkdir(parents=True)
            url = "sqlite:///" + str(instance / "bench.sqlite3")
        settings = build_database(url, instance, args.clients)
        with gunicorn_server(server_env(settings), workers=workers, threads=4) as server:
            base = server.url
            clients = [login(base, n) for n in range(args.clients)]
            get = lambda path: lambda c: c.session.get(base + path, timeout=120)  # noqa: E731
            results = [
                run_load("trivial", clients, get("/api/v1/csrf"), args.seconds, args.max_requests)
            ]
            results.append(
                run_load("log page", clients, get("/log"), args.seconds, args.max_requests)
            )
            results.append(
                run_load(
                    "entry PUT",
                    clients,
                    lambda c: new_entry(base, c),
                    args.seconds,
                    min(args.max_requests, 2000),
                )
            )
            # Entries to hold the photos (6 at most each), made before the clock starts.
            per_client = args.max_photos
            for client in clients:
                for _ in range(-(-per_client // 6)):
                    response = new_entry(base, client)
                    client.photo_entries.append(response.json()["id"])

            def put_photo(client: Client) -> requests.Response:
                entry = client.photo_entries[client.photos_sent // 6]
                client.photos_sent += 1
                return client.session.put(
                    f"{base}/api/v1/entries/{entry}/photos/{uuid.uuid4()}",
                    data={"area": "left_cheek"},
                    files={"file": ("photo.jpg", photo, "image/jpeg")},
                    headers={"X-CSRFToken": client.token},
                    timeout=120,
                )

            memory: dict[int, dict[str, int]] = {}
            sampling = threading.Event()

            def sample() -> None:
                while not sampling.is_set():
                    for pid in server.worker_pids():
                        rss = memory_kib(pid).get("VmRSS", 0)
                        peak = memory.setdefault(pid, {"before": rss, "peak_rss": 0})
                        peak["peak_rss"] = max(peak["peak_rss"], rss)
                    time.sleep(0.05)

            sampler = threading.Thread(target=sample)
            sampler.start()
            try:
                results.append(
                    run_load("photo PUT", clients, put_photo, args.seconds, args.max_photos)
                )
            finally:
                sampling.set()
                sampler.join()
            for pid, values in memory.items():
                values["hwm"] = memory_kib(pid).get("VmHWM", 0)
            results.append(
                run_load(
                    "timeline", clients, get("/timeline/data.json"), args.seconds, args.max_requests
                )
            )
            # The reference again, to show the machine did not drift during the run.
            results.append(
                run_load("trivial again", clients, get("/api/v1/csrf"), 2, args.max_requests)
            )
            for client in clients:
                client.session.close()
        return results, memory


def report(title: str, results: list[Result], memory: dict[int, dict[str, int]]) -> None:
    trivial = results[0]
    print(f"\n## {title}")
    print(
        f"{'route':<14}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'errors':>8}"
        f"{'rps/triv':>10}{'p50/triv':>10}{'p99/triv':>10}"
    )
    for r in results:
        print(
            f"{r.name:<14}{r.rps:>9.1f}{r.pct(0.5):>9.1f}{r.pct(0.95):>9.1f}{r.pct(0.99):>9.1f}"
            f"{r.errors:>8}{r.rps / trivial.rps:>10.3f}{r.pct(0.5) / trivial.pct(0.5):>10.1f}"
            f"{r.pct(0.99) / trivial.pct(0.99):>10.1f}"
        )
    if memory:
        print("memory per worker during photo PUTs (MiB): before -> peak RSS (VmHWM)")
        for pid, values in sorted(memory.items()):
            print(
                f"  worker {pid}: {values['before'] / 1024:.0f} -> {values['peak_rss'] / 1024:.0f}"
                f" ({values.get('hwm', 0) / 1024:.0f})"
            )


def one_mb_photo() -> bytes:
    photo = make_photo(2600, 1950)
    return photo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="per route (default 5)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (default 8)")
    parser.add_argument("--max-requests", type=int, default=20_000, help="per client and route")
    parser.add_argument("--max-photos", type=int, default=30, help="photo PUTs per client")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--workers", default="1,4")
    args = parser.parse_args()
    databases = [d.strip() for d in args.databases.split(",") if d.strip()]
    worker_counts = [int(w) for w in args.workers.split(",")]

    photo = one_mb_photo()
    print(
        f"# bench_load: {args.clients} clients, {args.seconds:g} s per route, photo "
        f"{len(photo) / 1e6:.2f} MB, {os.cpu_count()} CPUs shared by client and server"
    )
    with contextlib.ExitStack() as stack:
        pg_base = None
        if "postgresql" in databases:
            pg_base = stack.enter_context(pg_server.postgres_server())
        for database in databases:
            for workers in worker_counts:
                results, memory = bench_configuration(database, workers, args, photo, pg_base)
                report(f"{database}, {workers} worker(s) x 4 threads", results, memory)
                sys.stdout.flush()


if __name__ == "__main__":
    main()
