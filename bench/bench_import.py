"""Benchmark: importing the export of a two-year history into a new account, against ingesting
the same photos directly (what any import must at least do), in the same run.

Run from the repository root:

    .venv/bin/python bench/bench_import.py              # two years: 730 entries, 1,460 photos
    .venv/bin/python bench/bench_import.py --days 90    # a quick look

It builds bench_export.py's history (730 daily entries, two photos a day, 12 sessions every 8
weeks, a ~380 kB full rendition of a synthetic face behind every photo) in a fresh SQLite
database with a folder store, exports it with the app's export, deletes that account (its UUIDs
are then free, as after moving servers) and makes a new, empty one. Then, one after the other:

* import: `importer.import_archive` of the archive into the new account (ZIP checks, data.json
  validated, every photo ingested again, measured, aligned and stored, one transaction), in a
  fresh process, so that its peak resident memory (VmHWM) is its own;
* again: the same archive imported a second time (nothing to ingest or write: the merge alone);
* ingest (baseline): every photo file of the archive read from the ZIP, `imaging.ingest_photo`
  and its three renditions put in a scratch folder store, nothing else; run before and after the
  imports, the faster kept (the machine's load varies).

It prints wall times, the ratio of each to the baseline, per-photo milliseconds, and the import's
peak resident memory above the process's before it (VmHWM). Wall-clock, single thread, on
whatever machine runs this: compare ratios, not seconds.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_export import EMAIL, build, memory_status  # noqa: E402

from tests.conftest import settings_for_tests  # noqa: E402
from webapp import create_app, imaging  # noqa: E402
from webapp.auth.account import delete_account  # noqa: E402
from webapp.extensions import db  # noqa: E402
from webapp.models import User  # noqa: E402
from webapp.portability import export, importer  # noqa: E402
from webapp.storage import LocalPhotoStore, new_key  # noqa: E402


def export_to(app, path: Path) -> int:
    """The patient's export written to `path`, then the account deleted; the archive's size."""
    store = app.extensions["photo_store"]
    with app.app_context():
        user = db.session.execute(db.select(User).where(User.email == EMAIL)).scalar_one()
        _, chunks = export.export_archive(user, store)
        with path.open("wb") as out:
            for chunk in chunks:
                out.write(chunk)
        db.session.rollback()  # the export's snapshot transaction, which a request's teardown ends
        delete_account(user, store)
    return path.stat().st_size


def ingest_directly(path: Path, scratch: Path) -> float:
    """Baseline: each photo of the archive ingested and stored as an upload is; the seconds."""
    start = time.perf_counter()
    store = LocalPhotoStore(scratch)
    count = 0
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            if not name.startswith("photos/"):
                continue
            ingested = imaging.ingest_photo(archive.read(name))
            key = new_key()
            for rendition, data in ingested.renditions.items():
                store.put(f"{key}/{rendition}.jpg", data.data, imaging.CONTENT_TYPE)
            count += 1
    assert count > 0
    return time.perf_counter() - start


def import_into(app, path: Path) -> tuple[float, importer.ImportReport]:
    with app.app_context():
        user = db.session.execute(
            db.select(User).where(User.email == "new@example.com")
        ).scalar_one()
        start = time.perf_counter()
        with path.open("rb") as upload:
            report = importer.import_archive(user, upload, app.extensions["photo_store"])
        return time.perf_counter() - start, report


def worker(instance: str, path: Path) -> None:
    """The first import, in a fresh process so that its peak memory is its own; prints JSON."""
    app = create_app(settings_for_tests(instance))
    before = memory_status("VmHWM")
    seconds, report = import_into(app, path)
    with app.app_context():
        db.engine.dispose()
    figures = {"seconds": seconds, "rss_before": before, "rss": memory_status("VmHWM")}
    print(json.dumps(figures | {"created": report.photos.created}))


def first_import(instance: str, path: Path) -> dict[str, float]:
    command = [sys.executable, __file__, "--worker", instance, str(path)]
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"import failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker[0], Path(args.worker[1]))
        return
    with tempfile.TemporaryDirectory() as folder:
        instance = str(Path(folder) / "instance")
        start = time.perf_counter()
        photos, per_photo = build(instance, args.days, {})
        app = create_app(settings_for_tests(instance))
        archive = Path(folder) / "export.zip"
        size = export_to(app, archive)
        with app.app_context():
            db.session.add(User(email="new@example.com", password_hash="-", display_name="New"))  # noqa: S106 (no login)
            db.session.commit()
        print(
            f"history: {args.days} entries, {photos} photos of {per_photo / 1000:.0f} kB, "
            f"archive {size / 1e6:.1f} MB (built and exported in "
            f"{time.perf_counter() - start:.1f} s); SQLite, folder store"
        )
        baselines = [ingest_directly(archive, Path(folder) / "scratch")]
        first = first_import(instance, archive)
        assert first["created"] == photos, first
        seconds, peak = first["seconds"], first["rss"] - first["rss_before"]
        again, second = import_into(app, archive)
        assert second.photos.unchanged == photos and second.entries.created == 0, second
        # Before and after the import: the best of the two, as the machine's load varies.
        baselines.append(ingest_directly(archive, Path(folder) / "scratch"))
        baseline = min(baselines)
        with app.app_context():
            db.engine.dispose()

    print(f"{'':28}{'seconds':>9}{'ms/photo':>10}{'ratio':>8}")
    for label, value in (
        ("ingest the photos (base)", baseline),
        ("import into a new account", seconds),
        ("import the same again", again),
    ):
        print(f"{label:28}{value:9.1f}{1000 * value / photos:10.1f}{value / baseline:8.2f}")
    print(f"import's peak memory above the process before it: {peak / 1e6:.0f} MB")


if __name__ == "__main__":
    main()
