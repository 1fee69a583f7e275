"""The app as deployed: gunicorn workers that share only the database, the photo store and Redis.

These start real servers (gunicorn, redis-server) on loopback. The suite's other tests already run
against whichever database and photo store the run selected (see tests/conftest.py); the first test
here proves the selection took effect, so a PostgreSQL or S3 pass cannot silently test SQLite.
"""

from __future__ import annotations

import os
import re
from concurrent.futures import ThreadPoolExecutor

import requests

from tests.conftest import CSRFClient, settings_for_tests
from tests.servers import gunicorn_server, migrated_settings, redis_server, server_env
from webapp import create_app
from webapp.extensions import db
from webapp.storage import LocalPhotoStore, S3PhotoStore


def test_the_run_uses_the_selected_database_and_photo_store(app):
    with app.app_context():
        dialect = db.engine.dialect.name
    wanted_db = os.environ.get("TEST_DATABASE", "sqlite")
    if not os.environ.get("TEST_DATABASE_URL"):
        assert dialect == wanted_db
    store = app.extensions["photo_store"]
    if os.environ.get("TEST_PHOTO_STORAGE") == "s3":
        assert isinstance(store, S3PhotoStore)
        assert store.client.meta.endpoint_url.startswith("http://127.0.0.1:")
    elif not os.environ.get("TEST_PHOTO_STORAGE"):
        assert isinstance(store, LocalPhotoStore)


def attempt_login(base_url: str, address: str | None = None) -> int:
    """One wrong password for nobody@example.com, from `address` if a proxy is trusted."""
    forwarded = {"X-Forwarded-For": address} if address else {}
    with requests.Session() as browser:
        token = browser.get(f"{base_url}/api/v1/csrf", timeout=30).json()["csrf_token"]
        response = browser.post(
            f"{base_url}/login",
            data={"email": "nobody@example.com", "password": "wrong password", "csrf_token": token},
            headers={"Connection": "close", **forwarded},
            timeout=30,
            allow_redirects=False,
        )
        return response.status_code


def test_login_rate_limit_holds_across_gunicorn_workers(tmp_path):
    """4 workers, one limit: with Redis as the store, 5 per minute means 5, not 5 per worker."""
    with redis_server() as redis_url:
        settings = migrated_settings(
            tmp_path / "instance",
            LOGIN_RATE_LIMIT="5 per minute",
            RATELIMIT_STORAGE_URI=redis_url,
            # The production cost, so a login keeps its worker busy and the next goes elsewhere.
            ARGON2_TIME_COST=3,
            ARGON2_MEMORY_KIB=64 * 1024,
        )
        # Sync workers take one connection at a time, so concurrent attempts spread over all four
        # (a gthread worker may accept them all); the access log names the worker of each.
        extra_args = ("--worker-class", "sync", "--access-logformat", "%(p)s %(m)s %(U)s %(s)s")
        env = {**server_env(settings), "GUNICORN_ACCESS_LOG": str(tmp_path / "access.log")}
        with (
            gunicorn_server(env, workers=4, extra_args=extra_args) as server,
            ThreadPoolExecutor(max_workers=10) as pool,
        ):
            statuses = list(pool.map(attempt_login, [server.url] * 24))
    assert sorted(statuses) == [422] * 5 + [429] * 19
    served_by = {
        line.split()[0]
        for line in (tmp_path / "access.log").read_text().splitlines()
        if re.search(r" POST /login ", line)
    }
    assert len(served_by) > 1, "every attempt landed on one worker: the test proved nothing"


def test_account_rate_limit_holds_across_gunicorn_workers_and_addresses(tmp_path):
    """One account, 24 client addresses, 4 workers: with Redis, 5 per minute for the account."""
    with redis_server() as redis_url:
        settings = migrated_settings(
            tmp_path / "instance",
            LOGIN_RATE_LIMIT="5 per minute",
            RATELIMIT_STORAGE_URI=redis_url,
            ARGON2_TIME_COST=3,
            ARGON2_MEMORY_KIB=64 * 1024,
        )
        extra_args = ("--worker-class", "sync", "--access-logformat", "%(p)s %(m)s %(U)s %(s)s")
        env = {
            **server_env(settings),
            "TRUSTED_PROXIES": "1",
            "GUNICORN_ACCESS_LOG": str(tmp_path / "access.log"),
        }
        addresses = [f"203.0.113.{number}" for number in range(1, 25)]
        with (
            gunicorn_server(env, workers=4, extra_args=extra_args) as server,
            ThreadPoolExecutor(max_workers=10) as pool,
        ):
            statuses = list(pool.map(attempt_login, [server.url] * 24, addresses))
    assert sorted(statuses) == [422] * 5 + [429] * 19
    served_by = {
        line.split()[0]
        for line in (tmp_path / "access.log").read_text().splitlines()
        if re.search(r" POST /login ", line)
    }
    assert len(served_by) > 1, "every attempt landed on one worker: the test proved nothing"


def login_statuses(app, addresses: list[str]) -> list[int]:
    """A wrong password from each address in turn, each for another email, so that only the
    per-address limit can answer 429 (the per-account one is tested in tests/test_auth.py)."""
    client = app.test_client()
    return [
        client.post(
            "/login",
            data={"email": f"nobody{number}@example.com", "password": "wrong password"},
            headers={"X-Forwarded-For": address},
        ).status_code
        for number, address in enumerate(addresses)
    ]


def test_behind_a_trusted_proxy_each_client_address_has_its_own_limit(tmp_path):
    settings = settings_for_tests(str(tmp_path / "instance"))
    settings.update(LOGIN_RATE_LIMIT="2 per minute", TRUSTED_PROXIES=1)
    app = create_app(settings)
    app.test_client_class = CSRFClient
    with app.app_context():
        db.create_all()
    statuses = login_statuses(app, ["203.0.113.1"] * 3 + ["203.0.113.2"] * 2)
    assert statuses == [422, 422, 429, 422, 422]


def test_without_trusted_proxies_a_forwarded_address_is_ignored(tmp_path):
    settings = settings_for_tests(str(tmp_path / "instance"))
    settings.update(LOGIN_RATE_LIMIT="2 per minute")
    app = create_app(settings)
    app.test_client_class = CSRFClient
    with app.app_context():
        db.create_all()
    # A client cannot dodge the limit by making up addresses.
    statuses = login_statuses(app, ["203.0.113.1", "203.0.113.2", "203.0.113.3"])
    assert statuses == [422, 422, 429]
