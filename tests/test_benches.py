"""The export and import benchmarks still run (they share bench_export's history builder, and a
change to it once broke bench_import unnoticed): each on two weeks of history, its table printed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _run(script: str, *arguments: str) -> str:
    # On SQLite and a folder, as they measure by default, whichever database this run tests.
    sqlite = {"TEST_DATABASE": "sqlite", "TEST_DATABASE_URL": "", "TEST_PHOTO_STORAGE": ""}
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), *arguments],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=os.environ | sqlite,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_export_benchmark_runs_on_a_short_history():
    output = _run("bench_export.py", "--days", "14", "--repeat", "1")
    assert "ratio" in output


def test_the_import_benchmark_runs_on_a_short_history():
    output = _run("bench_import.py", "--days", "14")
    assert "import into a new account" in output
    assert "import's peak memory" in output
