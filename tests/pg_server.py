"""A throw-away PostgreSQL server for tests: Debian's postgresql, a fresh cluster in a temp folder.

    with postgres_server() as base_url:      # "postgresql+psycopg://postgres@127.0.0.1:PORT/skinlog"
        url = new_schema_url(base_url)       # one empty schema per app under test

The cluster lives in a temporary directory, listens on 127.0.0.1 on a free port (and on a socket in
the same directory), trusts local connections, runs with fsync off (its data is thrown away), and is
stopped and deleted on exit. PostgreSQL refuses to run as root, so as root (CI) the cluster belongs
to the `postgres` system user that Debian's package creates, and the server commands run through
`runuser`. Set TEST_POSTGRES_BINDIR to use other binaries than the newest /usr/lib/postgresql/*/bin.

This is a plain helper, not a fixture: tests/conftest.py starts it once per run when
TEST_DATABASE=postgresql, and tests/test_concurrency.py and bench/bench_load.py reuse it.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

DATABASE = "skinlog"
SERVER_USER = "postgres"  # the system account Debian's postgresql package creates


class PostgresUnavailable(RuntimeError):
    pass


def find_bindir() -> Path:
    """The newest installed server's bin folder (initdb, pg_ctl, postgres)."""
    explicit = os.environ.get("TEST_POSTGRES_BINDIR")
    candidates = [explicit] if explicit else []
    candidates += sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit() else 0,
        reverse=True,
    )
    found = shutil.which("initdb")
    if found:
        candidates.append(str(Path(found).parent))
    for folder in candidates:
        if folder and (Path(folder) / "initdb").exists() and (Path(folder) / "pg_ctl").exists():
            return Path(folder)
    raise PostgresUnavailable(
        "no PostgreSQL server binaries found: apt-get install postgresql (or set "
        "TEST_POSTGRES_BINDIR)"
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_server_user(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", SERVER_USER, "--", *command]


def _run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        _as_server_user(command),
        check=True,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        **kwargs,
    )


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """Start a fresh cluster; yield a SQLAlchemy URL of its (empty) `skinlog` database."""
    bindir = find_bindir()
    root = Path(tempfile.mkdtemp(prefix="skinlog-pg-"))
    data = root / "data"
    log_file = root / "server.log"
    if os.geteuid() == 0:
        try:
            account = pwd.getpwnam(SERVER_USER)
        except KeyError:
            shutil.rmtree(root)
            message = f"running as root but there is no {SERVER_USER!r} user"
            raise PostgresUnavailable(message) from None
        os.chown(root, account.pw_uid, account.pw_gid)
    port = free_port()
    started = False
    try:
        _run(
            [
                str(bindir / "initdb"),
                "--pgdata", str(data),
                "--username", "postgres",
                "--auth", "trust",
                "--encoding", "UTF8",
                "--locale", "C",
                "--no-sync",
            ]
        )  # fmt: skip
        options = " ".join(
            [
                f"-p {port}",
                "-c listen_addresses=127.0.0.1",
                f"-c unix_socket_directories={root}",
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
                "-c max_connections=200",
                "-c shared_buffers=64MB",
            ]
        )
        # pg_ctl -w waits until the server accepts connections.
        _run(
            [str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log_file), "-o", options,
             "-w", "-t", "60", "start"]
        )  # fmt: skip
        started = True
        admin = f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
        _execute_autocommit(admin, f'CREATE DATABASE "{DATABASE}"')
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/{DATABASE}"
    except subprocess.CalledProcessError as exc:
        log = log_file.read_text() if log_file.exists() else ""
        raise PostgresUnavailable(
            f"{exc.cmd!r} failed ({exc.returncode}): {exc.stderr}\n{log}"
        ) from exc
    finally:
        if started:
            with contextlib.suppress(subprocess.CalledProcessError):
                _run([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"])
        shutil.rmtree(root, ignore_errors=True)


def _psycopg_dsn(sqlalchemy_url: str) -> str:
    return sqlalchemy_url.replace("postgresql+psycopg://", "postgresql://", 1)


def _execute_autocommit(sqlalchemy_url: str, statement: str) -> None:
    import psycopg

    deadline = time.monotonic() + 10
    while True:
        try:
            with psycopg.connect(_psycopg_dsn(sqlalchemy_url), autocommit=True) as connection:
                connection.execute(statement)
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def new_schema(base_url: str) -> tuple[str, str]:
    """Create an empty schema in the database at `base_url`: (name, URL whose connections use it).

    One schema per app under test keeps tests apart (tables, indexes, alembic_version) for the price
    of a CREATE SCHEMA, and works against any PostgreSQL the tests are pointed at.
    """
    schema = "t_" + uuid.uuid4().hex[:20]
    _execute_autocommit(base_url, f"CREATE SCHEMA {schema}")
    separator = "&" if "?" in base_url else "?"
    return schema, f"{base_url}{separator}options={quote(f'-csearch_path={schema}')}"


def drop_schemas(base_url: str, schemas: list[str]) -> None:
    """Drop schemas made by new_schema (and everything in them)."""
    for start in range(0, len(schemas), 100):
        names = ", ".join(schemas[start : start + 100])
        if names:
            _execute_autocommit(base_url, f"DROP SCHEMA IF EXISTS {names} CASCADE")
