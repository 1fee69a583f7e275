"""Benchmark: the complete export (GET /account/export.zip) of a two-year history against just
reading the same photo bytes from the store, in the same run.

Run from the repository root:

    .venv/bin/python bench/bench_export.py              # two years: 730 entries, 1,460 photos
    .venv/bin/python bench/bench_export.py --days 365   # one year
    .venv/bin/python bench/bench_export.py --postgres-s3 --repeat 1   # PostgreSQL, moto's S3

It builds the history of bench_timeline.py (730 daily entries, two photos a day, 12 sessions
every 8 weeks) in a fresh SQLite database (or, with --postgres-s3, a throw-away PostgreSQL
cluster), and puts behind every photo a full rendition made by the app's own ingest of a textured
synthetic face (~380 kB, the same bytes under every key: the export copies bytes, it never
decodes them) in a folder store (or moto's S3 server, over HTTP on loopback). Each measure then
runs in a fresh Python process, so its peak memory is its own:

* read (baseline): every photo's full rendition streamed from the store in chunks, as the export
  must at least do;
* export: the ZIP through the app's route, logged in, the streamed body read and thrown away as
  a client would, then checked (it opens, and holds every photo).

For each it prints the wall time, the bytes, the peak of Python's traced allocations
(tracemalloc, in a second run: tracing slows the code) and the process's peak RSS with the RSS
before the work (interpreter, app, imports), so that "added" is what the work itself cost. Ratios
are against the read baseline. The issue's aim: peak memory under 100 MB.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from tests import pg_server, s3_server  # noqa: E402
from tests.conftest import PASSWORD, CSRFClient, settings_for_tests  # noqa: E402
from tests.history_factory import add_history  # noqa: E402
from tests.synthetic_faces import make_face  # noqa: E402
from webapp import create_app, imaging  # noqa: E402
from webapp.extensions import db  # noqa: E402
from webapp.models import Photo, User  # noqa: E402

EMAIL = "patient@example.com"


def full_rendition() -> bytes:
    """A phone-like photo's stored full rendition: a synthetic face with sensor-like noise, put
    through the app's ingest (2048 px long side)."""
    face = make_face(1, width=1536, height=2048).rgb
    noisy = face + np.random.default_rng(1).normal(0, 3, face.shape)
    upload = io.BytesIO()
    Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)).save(upload, "JPEG", quality=92)
    return imaging.ingest_photo(upload.getvalue()).renditions["full"].data


def settings(instance: str, overrides: dict[str, str]) -> dict[str, object]:
    """The test settings of this instance, with the database and photo store of this run."""
    return settings_for_tests(instance) | overrides


def build(instance: str, days: int, overrides: dict[str, str]) -> tuple[int, int]:
    """The patient, the history and the photo bytes; returns (photos, bytes per photo)."""
    app = create_app(settings(instance, overrides))
    jpeg = full_rendition()
    with app.app_context():
        db.create_all()
        user = User(
            email=EMAIL,
            password_hash=app.extensions["passwords"].hash(PASSWORD),
            display_name="Bench",
            track="both",
            timezone="UTC",
        )
        db.session.add(user)
        db.session.commit()
        add_history(user.id, days=days, sessions=max(1, days // 56), session_every=56)
        store = app.extensions["photo_store"]
        keys = list(db.session.execute(db.select(Photo.storage_key)).scalars())
        for key in keys:
            store.put(f"{key}/full.jpg", jpeg, imaging.CONTENT_TYPE)
        db.session.execute(db.update(Photo).values(byte_size=len(jpeg)))
        db.session.commit()
        db.engine.dispose()
    return len(keys), len(jpeg)


# --- The measures, each in its own process --------------------------------------------------------


def read_photos(app) -> int:
    """Baseline: every photo's full rendition streamed from the store, nothing kept."""
    store = app.extensions["photo_store"]
    size = 0
    with app.app_context():
        keys = list(db.session.execute(db.select(Photo.storage_key)).scalars())
    for key in keys:
        for chunk in store.open(f"{key}/full.jpg"):
            size += len(chunk)
    return size


def export_zip(app, check: bool) -> int:
    """The export through its route, read as a client reads a download and thrown away."""
    client = app.test_client()
    response = client.post("/login", data={"email": EMAIL, "password": PASSWORD})
    assert response.status_code == 302, response.status_code
    response = client.get("/account/export.zip")
    assert response.status_code == 200, response.status_code
    size = 0
    with tempfile.TemporaryFile() as spool:
        for chunk in response.response:
            size += len(chunk)
            if check:
                spool.write(chunk)
        response.close()
        if check:
            with zipfile.ZipFile(spool) as archive:
                photos = sum(name.startswith("photos/") for name in archive.namelist())
                data = json.loads(archive.read("data.json"))
                assert photos == len(data["photos"]) > 0, (photos, len(data["photos"]))
    return size


def memory_status(field: str) -> int:
    """A figure of /proc/self/status in bytes: VmHWM is this process's peak RSS. (ru_maxrss is
    not: Linux carries it across exec, so a child reports its parent's peak.)"""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise LookupError(field)


def worker(instance: str, measure: str, trace: bool, overrides: dict[str, str]) -> None:
    """One measure in this process; prints its figures as JSON."""
    app = create_app(settings(instance, overrides))
    app.test_client_class = CSRFClient
    before = memory_status("VmHWM")
    if trace:
        tracemalloc.start()
    start = time.perf_counter()
    size = read_photos(app) if measure == "read" else export_zip(app, check=not trace)
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1] if trace else None
    rss = memory_status("VmHWM")
    with app.app_context():
        db.engine.dispose()
    print(
        json.dumps(
            {"seconds": seconds, "bytes": size, "traced_peak": peak, "rss": rss}
            | {"rss_before": before}
        )
    )


def run(
    instance: str, measure: str, overrides: dict[str, str], trace: bool = False
) -> dict[str, float]:
    command = [sys.executable, __file__, "--worker", measure, "--instance", instance]
    command += ["--settings", json.dumps(overrides)]
    if trace:
        command.append("--trace")
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"{measure} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def mb(value: float) -> str:
    return f"{value / 1e6:8.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each; best kept")
    parser.add_argument(
        "--postgres-s3", action="store_true", help="PostgreSQL and moto's S3 instead of SQLite"
    )
    parser.add_argument("--settings", default="{}", help=argparse.SUPPRESS)
    parser.add_argument("--worker", choices=("read", "export"), help=argparse.SUPPRESS)
    parser.add_argument("--instance", help=argparse.SUPPRESS)
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.instance, args.worker, args.trace, json.loads(args.settings))
        return

    with tempfile.TemporaryDirectory() as folder, contextlib.ExitStack() as servers:
        instance = str(Path(folder) / "instance")
        overrides, where = {}, "SQLite, folder store"
        if args.postgres_s3:
            logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's request log
            endpoint = servers.enter_context(s3_server.moto_s3_server())
            os.environ.update(s3_server.credentials_env(), AWS_EC2_METADATA_DISABLED="true")
            s3_server.make_bucket(endpoint, "skinlog-bench")
            overrides = {
                "SQLALCHEMY_DATABASE_URI": servers.enter_context(pg_server.postgres_server()),
                "PHOTO_STORAGE": "s3://skinlog-bench/photos",
                "S3_ENDPOINT_URL": endpoint,
            }
            where = "PostgreSQL, S3 (moto on loopback)"
        start = time.perf_counter()
        photos, per_photo = build(instance, args.days, overrides)
        print(
            f"history: {args.days} entries, {photos} photos of {per_photo / 1000:.0f} kB "
            f"(built in {time.perf_counter() - start:.1f} s); {where}"
        )
        figures = {}
        for measure in ("read", "export"):
            timed = [run(instance, measure, overrides) for _ in range(args.repeat)]
            best = min(timed, key=lambda figure: figure["seconds"])
            best["rss"] = max(figure["rss"] for figure in timed)
            best["traced_peak"] = run(instance, measure, overrides, trace=True)["traced_peak"]
            figures[measure] = best
        base = figures["read"]
        print(f"best of {args.repeat}; ratio = export / read, same run")
        print(
            f"{'measure':34} {'best s':>7} {'MB':>8} {'MB/s':>7} {'traced':>8} "
            f"{'RSS MB':>8} {'added':>8}"
        )
        for label, key in (
            ("read every photo (baseline)", "read"),
            ("GET /account/export.zip", "export"),
        ):
            figure = figures[key]
            print(
                f"{label:34} {figure['seconds']:7.2f} {mb(figure['bytes'])} "
                f"{figure['bytes'] / figure['seconds'] / 1e6:7.0f} {mb(figure['traced_peak'])} "
                f"{mb(figure['rss'])} {mb(figure['rss'] - figure['rss_before'])}"
            )
        export = figures["export"]
        print(
            f"ratios: time {export['seconds'] / base['seconds']:.2f}, "
            f"bytes {export['bytes'] / base['bytes']:.3f}, "
            f"traced peak {export['traced_peak'] / base['traced_peak']:.1f}, "
            f"peak RSS {export['rss'] / base['rss']:.2f}"
        )
        print(
            f"memory: the export added {mb(export['rss'] - export['rss_before']).strip()} MB to "
            f"a process that held {mb(export['rss_before']).strip()} MB once the app was loaded "
            f"(aim: under 100 MB for the export)"
        )


if __name__ == "__main__":
    main()
