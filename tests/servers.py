"""Real servers for multi-process tests and benchmarks: gunicorn serving the app, and Redis.

    with redis_server() as redis_url:                     # "redis://127.0.0.1:PORT/0"
    with gunicorn_server(env, workers=4) as server:       # server.url, server.worker_pids()
    token = api_login(requests.Session(), server.url, email, password)   # a phone, logged in

Both listen on 127.0.0.1 on a free port, keep their files in a temporary folder and are stopped on
exit. Plain helpers, not fixtures: tests/test_concurrency.py, tests/test_deployment.py and
bench/bench_load.py use them.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import requests

from tests.pg_server import free_port

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class ServerUnavailable(RuntimeError):
    pass


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServerUnavailable(f"{process.args!r} exited with {process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise ServerUnavailable(f"{process.args!r} did not listen on port {port} in {timeout}s")


def _stop(process: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 20) -> None:
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    """A fresh redis-server (Debian's redis-server package) with no persistence."""
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not Path(binary).exists():
        raise ServerUnavailable("redis-server not found: apt-get install redis-server")
    folder = tempfile.mkdtemp(prefix="skinlog-redis-")
    port = free_port()
    command = [
        binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
        "--dir", folder, "--daemonize", "no", "--loglevel", "warning",
    ]  # fmt: skip
    process = subprocess.Popen(
        command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_for_port(port, process)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        _stop(process)
        shutil.rmtree(folder, ignore_errors=True)


@dataclass
class Gunicorn:
    url: str
    process: subprocess.Popen
    log_path: Path

    def worker_pids(self) -> list[int]:
        """The master's current worker processes (it replaces any that die)."""
        pid = self.process.pid
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            return []
        return [int(child) for child in children]

    def wait_for_workers(self, count: int, timeout: float = 30) -> list[int]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pids = self.worker_pids()
            if len(pids) >= count:
                return pids
            time.sleep(0.05)
        raise ServerUnavailable(f"gunicorn has {len(self.worker_pids())} of {count} workers")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def memory_kib(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak RSS) of a process, in KiB, from /proc."""
    values: dict[str, int] = {}
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            name, _, rest = line.partition(":")
            if name in {"VmRSS", "VmHWM"}:
                values[name] = int(rest.split()[0])
    return values


@contextlib.contextmanager
def gunicorn_server(
    env: dict[str, str],
    *,
    workers: int = 4,
    threads: int = 4,
    timeout: int = 60,
    extra_args: tuple[str, ...] = (),
) -> Iterator[Gunicorn]:
    """Serve `webapp:create_app()` under gunicorn with the production settings file.

    `env` is added to this process's environment (DATABASE_URL, PHOTO_STORAGE, SECRET_KEY...).
    """
    port = free_port()
    folder = Path(tempfile.mkdtemp(prefix="skinlog-gunicorn-"))
    log_path = folder / "gunicorn.log"
    full_env = {
        **os.environ,
        "GUNICORN_ACCESS_LOG": "",
        "GUNICORN_LOG_LEVEL": "warning",
        **env,
        "BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": str(workers),
        "GUNICORN_THREADS": str(threads),
        "GUNICORN_TIMEOUT": str(timeout),
        "PYTHONWARNINGS": "ignore",  # the test run's "warnings are errors" is not for the server
    }
    command = [
        sys.executable, "-m", "gunicorn", "-c", "python:webapp.gunicorn_conf",
        *extra_args, "webapp:create_app()",
    ]  # fmt: skip
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
            env=full_env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Gunicorn(f"http://127.0.0.1:{port}", process, log_path)
    try:
        wait_for_port(port, process)
        server.wait_for_workers(workers)
        yield server
    except Exception as exc:
        exc.add_note(f"gunicorn log:\n{server.log()[-4000:]}")
        raise
    finally:
        _stop(process)
        shutil.rmtree(folder, ignore_errors=True)


def api_login(session: requests.Session, base: str, email: str, password: str) -> str:
    """Log `session` in through the login form, retrying while workers die; returns the CSRF token
    of the new login, as the phone's outbox does before it replays."""
    for _ in range(30):
        try:
            token = session.get(f"{base}/api/v1/csrf", timeout=30).json()["csrf_token"]
            response = session.post(
                f"{base}/login",
                data={"email": email, "password": password, "csrf_token": token},
                timeout=30,
                allow_redirects=False,
            )
            if response.status_code == 302:
                # A new login is a new session: fetch the token that belongs to it.
                return session.get(f"{base}/api/v1/csrf", timeout=30).json()["csrf_token"]
        except requests.RequestException:  # reset, cut off mid-body, timeout
            pass
        time.sleep(0.1)
    raise AssertionError(f"{email} could not log in")


def server_env(settings: dict[str, object]) -> dict[str, str]:
    """Environment variables for a server process equivalent to create_app(settings) in-process."""
    names = {
        "SQLALCHEMY_DATABASE_URI": "DATABASE_URL",
        "PHOTO_STORAGE": "PHOTO_STORAGE",
        "S3_ENDPOINT_URL": "S3_ENDPOINT_URL",
        "SECRET_KEY": "SECRET_KEY",
        "INSTANCE_PATH": "SKINLOG_INSTANCE_PATH",
        "ARGON2_TIME_COST": "ARGON2_TIME_COST",
        "ARGON2_MEMORY_KIB": "ARGON2_MEMORY_KIB",
        "LOGIN_RATE_LIMIT": "LOGIN_RATE_LIMIT",
        "RATELIMIT_STORAGE_URI": "RATELIMIT_STORAGE_URI",
    }
    return {env: str(settings[key]) for key, env in names.items() if settings.get(key) is not None}


def migrated_settings(instance: Path, **overrides: object) -> dict[str, object]:
    """Test settings (tests/conftest.py) for a server process, with the schema built by running
    the migrations, as a deployment does (`flask db upgrade`)."""
    from flask_migrate import upgrade

    from tests.conftest import settings_for_tests
    from webapp import create_app
    from webapp.extensions import db

    settings = settings_for_tests(str(instance))
    settings.update(overrides)
    app = create_app(settings)
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return settings
