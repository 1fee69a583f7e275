"""Fixtures shared by every test: an app with its own database and photo folder, clients, users.

CSRF protection stays on in tests. The test client adds a fresh token to unsafe requests the way the
real pages and the offline client do; pass `csrf=False` to send a request without one.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from datetime import date

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from tests.photo_factory import make_photo
from webapp import create_app
from webapp.extensions import db
from webapp.models import User

UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
PASSWORD = "correct horse battery"


class CSRFClient(FlaskClient):
    """A test client that behaves like our pages: unsafe requests carry the session's CSRF token."""

    def open(self, *args, csrf: bool = True, **kwargs):
        method = str(kwargs.get("method", "GET")).upper()
        if csrf and method in UNSAFE_METHODS:
            token = super().open("/api/v1/csrf").get_json()["csrf_token"]
            headers = dict(kwargs.pop("headers", None) or {})
            headers.setdefault("X-CSRFToken", token)
            kwargs["headers"] = headers
        return super().open(*args, **kwargs)


def settings_for_tests(instance_path: str) -> dict[str, object]:
    """Settings for an app under test: its own instance folder, cheap hashing, no shared state."""
    return {
        "TESTING": True,
        "INSTANCE_PATH": instance_path,
        "SECRET_KEY": os.urandom(16).hex(),
        "SQLALCHEMY_DATABASE_URI": os.environ.get("TEST_DATABASE_URL")
        or "sqlite:///" + os.path.join(instance_path, "test.sqlite3"),
        "PHOTO_STORAGE": os.environ.get("TEST_PHOTO_STORAGE", ""),
        "ARGON2_TIME_COST": 1,
        "ARGON2_MEMORY_KIB": 8,
        "LOGIN_RATE_LIMIT": "1000 per minute",
        "RATELIMIT_STORAGE_URI": "memory://",
    }


@pytest.fixture
def app(tmp_path) -> Iterator[Flask]:
    app = create_app(settings_for_tests(str(tmp_path / "instance")))
    app.test_client_class = CSRFClient
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> CSRFClient:
    return app.test_client()


@pytest.fixture
def make_user(app: Flask):
    """make_user(email=..., track=...) -> User, committed, with password PASSWORD."""
    counter = iter(range(1, 10_000))

    def _make_user(
        email: str | None = None, *, track: str = "both", timezone: str = "UTC", name: str = "Sam"
    ) -> User:
        with app.app_context():
            user = User(
                email=(email or f"patient{next(counter)}@example.com").lower(),
                password_hash=app.extensions["passwords"].hash(PASSWORD),
                display_name=name,
                track=track,
                timezone=timezone,
            )
            db.session.add(user)
            db.session.commit()
            db.session.refresh(user)
            db.session.expunge(user)
            return user

    return _make_user


class Auth:
    def __init__(self, client: CSRFClient) -> None:
        self.client = client

    def login(self, email: str, password: str = PASSWORD, remember: bool = False):
        data = {"email": email, "password": password}
        if remember:
            data["remember"] = "y"
        return self.client.post("/login", data=data)

    def logout(self):
        return self.client.post("/logout")


@pytest.fixture
def auth(client: CSRFClient) -> Auth:
    return Auth(client)


@pytest.fixture
def user(make_user) -> User:
    return make_user("sam@example.com")


@pytest.fixture
def logged_in(client: CSRFClient, auth: Auth, user: User) -> CSRFClient:
    """A client logged in as `user`."""
    response = auth.login(user.email)
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


@pytest.fixture
def other_client(app: Flask, make_user) -> CSRFClient:
    """A second patient, logged in on their own client."""
    other = make_user("other@example.com", name="Other")
    second = app.test_client()
    Auth(second).login(other.email)
    return second


@pytest.fixture
def sample_photo() -> bytes:
    """A small JPEG made in the test, with GPS and a comment that must not survive."""
    return make_photo(800, 600, gps=True, comment=b"secret comment")


@pytest.fixture
def count_queries(app: Flask):
    """with count_queries() as queries: ...  -> queries is the list of SQL statements run."""

    @contextlib.contextmanager
    def _count():
        statements: list[str] = []

        def record(conn, cursor, statement, parameters, context, executemany):
            statements.append(statement)

        with app.app_context():
            engine = db.engine
        sa.event.listen(engine, "before_cursor_execute", record)
        try:
            yield statements
        finally:
            sa.event.remove(engine, "before_cursor_execute", record)

    return _count


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, "no CSRF token in page"
    return match.group(1)


def iso(day: date) -> str:
    return day.isoformat()
