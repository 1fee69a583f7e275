"""Two reminder senders at once, as two machines running `flask reminders send` from cron would:
separate processes on the same database, pushing to the same web-push-testing service. Over
several rounds every due patient's reminder arrives exactly once. And a sender killed while it
pushes: the next run does not send that reminder again.

On PostgreSQL the senders split the patients (FOR UPDATE SKIP LOCKED); on SQLite, which ignores
FOR UPDATE, both read the same rows and the compare-and-set on next_due_at lets only one of them
claim each: the test runs on both, so both ways are proven.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from flask import Flask

from tests.push_service import PushService
from tests.servers import PROJECT_ROOT
from webapp.extensions import db
from webapp.models import PushSubscription, ReminderSettings
from webapp.reminders import sender, service
from webapp.reminders.vapid import application_server_key, load_vapid

PATIENTS = 30
ROUNDS = 3
SENDERS = 2
# Winter in UTC: a day's reminder at 20:00 is due at 20:00 UTC.
FIRST_DUE = datetime(2026, 1, 5, 20, 0, tzinfo=UTC)

# One sender process: the app from the environment, one run of send_due at argv[1], started at
# the wall-clock second argv[2] so that the processes really overlap; prints its report. The
# push service is on loopback, which only a test allows.
SENDER = """
import dataclasses, json, sys, time
from datetime import datetime
from webapp import create_app
from webapp.reminders.sender import send_due
app = create_app({"PUSH_ALLOW_LOOPBACK": True})
with app.app_context():
    time.sleep(max(0.0, float(sys.argv[2]) - time.time()))
    report = send_due(datetime.fromisoformat(sys.argv[1]))
print(json.dumps(dataclasses.asdict(report)))
"""


def _patients(app: Flask, make_user, push_service: PushService) -> list[dict]:
    with app.app_context():
        key = application_server_key(load_vapid(None, app.instance_path))
    devices = []
    for _ in range(PATIENTS):
        user = make_user(timezone="UTC")
        device = push_service.subscribe(key)
        with app.app_context():
            service.update_settings(
                user,
                daily_enabled=True,
                remind_at=clock(20, 0),
                photo_days_enabled=True,
                session_due_enabled=True,
            )
            db.session.add(
                PushSubscription(
                    user_id=user.id,
                    endpoint=device["endpoint"],
                    p256dh=device["keys"]["p256dh"],
                    auth=device["keys"]["auth"],
                )
            )
            db.session.commit()
        devices.append(device)
    return devices


def _make_due(app: Flask, due: datetime) -> None:
    with app.app_context():
        db.session.execute(db.update(ReminderSettings).values(next_due_at=due))
        db.session.commit()


def _sender_process(app: Flask, now: datetime, start: float) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "SECRET_KEY": app.config["SECRET_KEY"],
        # The same instance folder: the same VAPID key, as every machine must have.
        "SKINLOG_INSTANCE_PATH": app.instance_path,
        "PHOTO_STORAGE": "",
        "PYTHONWARNINGS": "ignore",
    }
    return subprocess.Popen(
        [sys.executable, "-c", SENDER, now.isoformat(), str(start)],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _run_senders(app: Flask, now: datetime) -> list[dict]:
    start = time.time() + 4
    processes = [_sender_process(app, now, start) for _ in range(SENDERS)]
    reports = []
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        reports.append(json.loads(out.strip().splitlines()[-1]))
    return reports


def test_two_senders_at_once_send_each_reminder_exactly_once(app, make_user, push_service):
    devices = _patients(app, make_user, push_service)

    for round_ in range(ROUNDS):
        due = FIRST_DUE + timedelta(days=round_)
        _make_due(app, due)
        reports = _run_senders(app, due + timedelta(seconds=5))

        assert sum(len(report["sent"]) for report in reports) == PATIENTS
        assert all(report["errors"] == [] for report in reports)
        received = [len(push_service.messages(device)) for device in devices]
        assert received == [round_ + 1] * PATIENTS, f"round {round_ + 1}: {received}"


class HangingPushService:
    """A loopback push service that takes requests and never answers them (until closed)."""

    def __init__(self) -> None:
        self.requests = 0
        self.received = threading.Event()
        self.release = threading.Event()
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                service.requests += 1
                service.received.set()
                service.release.wait(60)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.endpoint = f"http://127.0.0.1:{self.server.server_port}/push/device"

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


def test_a_sender_killed_mid_push_never_sends_that_reminder_twice(app, make_user, push_service):
    with app.app_context():
        key = application_server_key(load_vapid(None, app.instance_path))
    device = push_service.subscribe(key)  # real keys, so the payload encrypts
    hanging = HangingPushService()
    try:
        user = make_user(timezone="UTC")
        with app.app_context():
            service.update_settings(
                user,
                daily_enabled=True,
                remind_at=clock(20, 0),
                photo_days_enabled=True,
                session_due_enabled=True,
            )
            db.session.add(
                PushSubscription(
                    user_id=user.id,
                    endpoint=hanging.endpoint,
                    p256dh=device["keys"]["p256dh"],
                    auth=device["keys"]["auth"],
                )
            )
            db.session.commit()
        _make_due(app, FIRST_DUE)
        now = FIRST_DUE + timedelta(seconds=5)

        process = _sender_process(app, now, time.time())
        assert hanging.received.wait(60), process.communicate(timeout=5)
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=30)

        with app.app_context():
            report = sender.send_due(now + timedelta(minutes=1))
            row = db.session.execute(db.select(ReminderSettings)).scalar_one()
            assert report.sent == [] and hanging.requests == 1
            assert row.next_due_at == FIRST_DUE + timedelta(days=1)
    finally:
        hanging.close()
