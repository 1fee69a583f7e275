"""Fixtures shared by every test: an app with its own database and photo folder, clients, users.

CSRF protection stays on in tests. The test client adds a fresh token to unsafe requests the way the
real pages and the offline client do; pass `csrf=False` to send a request without one.

Which database and photo store the apps under test use (`make test` runs the suite twice: the
default, then PostgreSQL with S3):

* default: an SQLite file and a photo folder in each test's own instance folder;
* TEST_DATABASE=postgresql: a throw-away PostgreSQL cluster started once per run
  (tests/pg_server.py), one fresh schema per app; or TEST_DATABASE_URL=postgresql+psycopg://... to
  use a server of your own (also one schema per app, dropped at the end);
* TEST_PHOTO_STORAGE=s3: moto's standalone S3 server over HTTP on loopback, started once per run
  (tests/s3_server.py; TEST_S3_ENDPOINT_URL names another), one bucket, a prefix per app. Any other
  value of TEST_PHOTO_STORAGE is used as PHOTO_STORAGE as it stands.
"""

from __future__ import annotations

import contextlib
import os
import uuid
import weakref
from collections.abc import Iterator
from datetime import UTC, datetime, time

import pytest
import sqlalchemy as sa
from flask import Flask, current_app
from flask.testing import FlaskClient

from tests import pg_server, s3_server
from tests.photo_factory import make_photo
from tests.push_service import PushService, web_push_testing
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


class _Services:
    """Servers started at most once per run, on first use, and stopped when pytest ends."""

    def __init__(self) -> None:
        self.stack = contextlib.ExitStack()
        self.postgres_url: str | None = None
        self.own_postgres = False
        self.schemas: list[str] = []
        self.s3: tuple[str, str] | None = None  # (endpoint URL, bucket)

    def database_url(self, instance_path: str) -> str:
        wanted = os.environ.get("TEST_DATABASE_URL", "")
        if not wanted and os.environ.get("TEST_DATABASE", "sqlite") == "postgresql":
            if self.postgres_url is None:
                self.postgres_url = self.stack.enter_context(pg_server.postgres_server())
                self.own_postgres = True
            wanted = self.postgres_url
        if not wanted:
            return "sqlite:///" + os.path.join(instance_path, "test.sqlite3")
        if wanted.startswith("postgresql"):
            schema, url = pg_server.new_schema(wanted)
            self.schemas.append(schema)
            if not self.own_postgres and len(self.schemas) == 1:
                self.stack.callback(lambda: pg_server.drop_schemas(wanted, self.schemas))
            return url
        return wanted

    def photo_storage(self) -> dict[str, object]:
        wanted = os.environ.get("TEST_PHOTO_STORAGE", "")
        if wanted != "s3":
            return {"PHOTO_STORAGE": wanted}
        if self.s3 is None:
            endpoint = self.stack.enter_context(s3_server.moto_s3_server())
            # boto3 in the app reads these; dummy values, never a developer's real credentials.
            os.environ.update(s3_server.credentials_env())
            os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
            bucket = f"skinlog-test-{uuid.uuid4().hex[:12]}"
            s3_server.make_bucket(endpoint, bucket)
            self.stack.callback(s3_server.remove_bucket, endpoint, bucket)
            self.s3 = (endpoint, bucket)
        endpoint, bucket = self.s3
        return {"PHOTO_STORAGE": f"s3://{bucket}/t{uuid.uuid4().hex}", "S3_ENDPOINT_URL": endpoint}


_services = _Services()


def pytest_unconfigure(config: pytest.Config) -> None:
    _services.stack.close()


def settings_for_tests(instance_path: str) -> dict[str, object]:
    """Settings for an app under test: its own instance folder, cheap hashing, no shared state."""
    return {
        "TESTING": True,
        "INSTANCE_PATH": instance_path,
        "SECRET_KEY": os.urandom(16).hex(),
        "SQLALCHEMY_DATABASE_URI": _services.database_url(instance_path),
        **_services.photo_storage(),
        "ARGON2_TIME_COST": 1,
        "ARGON2_MEMORY_KIB": 8,
        "LOGIN_RATE_LIMIT": "1000 per minute",
        "RATELIMIT_STORAGE_URI": "memory://",
        # The push service of the reminder tests (web-push-testing) listens on 127.0.0.1.
        "PUSH_ALLOW_LOOPBACK": True,
    }


# Every engine a test's apps opened, so their pooled connections are closed when the test ends
# even if the test made an app without disposing it (psycopg warns about unclosed connections).
_engines: weakref.WeakSet[sa.engine.Engine] = weakref.WeakSet()


@sa.event.listens_for(sa.engine.Engine, "engine_connect")
def _remember_engine(connection: sa.engine.Connection) -> None:
    _engines.add(connection.engine)


# PostgreSQL connections opened during a test. A live server's request thread can still hold one
# when its test ends; it is closed here rather than left to the garbage collector.
_psycopg_connections: list[object] = []


@sa.event.listens_for(sa.pool.Pool, "connect")
def _remember_connection(dbapi_connection: object, connection_record: object) -> None:
    if type(dbapi_connection).__module__.startswith("psycopg"):
        _psycopg_connections.append(dbapi_connection)


@pytest.fixture(autouse=True)
def _close_database_connections() -> Iterator[None]:
    yield
    for engine in list(_engines):
        engine.dispose()
    _engines.clear()
    while _psycopg_connections:
        with contextlib.suppress(Exception):
            _psycopg_connections.pop().close()  # type: ignore[attr-defined]


@pytest.fixture(autouse=True)
def _no_app_context_left_pushed(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test that ends with an app context still pushed fails here, by name. Otherwise the next
    tests quietly run in that app (e.g. a CLI command's with_appcontext takes it, with another
    database): a streamed response a failing test never closed keeps its context pushed."""
    yield
    assert not current_app, f"{request.node.nodeid} left an app context pushed"


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


@pytest.fixture(scope="module")
def push_service() -> Iterator[PushService]:
    """web-push-testing on loopback (tests/push_service.py), one per test module."""
    with web_push_testing() as service:
        yield service


# When reminder_patient's daily reminder is due: a Tuesday in Berlin's winter, 20:00 local.
REMINDER_DUE = datetime(2026, 2, 10, 19, 0, tzinfo=UTC)


@pytest.fixture
def reminder_patient(app: Flask, make_user) -> User:
    """A Berlin patient with every reminder on, the daily one at 20:00, due at REMINDER_DUE."""
    from webapp.models import ReminderSettings
    from webapp.reminders import service

    user = make_user(timezone="Europe/Berlin")
    with app.app_context():
        service.update_settings(
            user,
            daily_enabled=True,
            remind_at=time(20, 0),
            photo_days_enabled=True,
            session_due_enabled=True,
        )
        db.session.execute(
            sa.update(ReminderSettings)
            .where(ReminderSettings.user_id == user.id)
            .values(next_due_at=REMINDER_DUE)
        )
        db.session.commit()
    return user
