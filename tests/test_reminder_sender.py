"""The reminder sender end to end: real Web Push requests (VAPID-signed, aes128gcm-encrypted) to
web-push-testing on loopback, which checks the signature and decrypts what it receives; and a
tiny loopback HTTP server for the answers it cannot give (503, 429 with Retry-After)."""

from __future__ import annotations

import json
import time as timer
import uuid
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import Flask

from tests.conftest import REMINDER_DUE
from tests.push_service import PushService, failing_push_service
from webapp.extensions import db
from webapp.models import (
    Entry,
    PushSubscription,
    ReminderSettings,
    TreatmentSession,
    User,
    utcnow,
)
from webapp.reminders import background, commands, sender, service
from webapp.reminders.vapid import application_server_key, load_vapid

BERLIN = ZoneInfo("Europe/Berlin")
# reminder_patient's day (a Tuesday in Berlin's winter): 20:00 local is 19:00 UTC.
DAY = date(2026, 2, 10)
DUE = REMINDER_DUE
NOW = DUE + timedelta(seconds=30)


@pytest.fixture
def subscribe(app: Flask, push_service: PushService):
    """subscribe(user) -> the push service's subscription, stored as the user's device."""

    def _subscribe(user: User, endpoint: str | None = None) -> dict:
        with app.app_context():
            key = application_server_key(
                load_vapid(app.config["VAPID_PRIVATE_KEY"], app.instance_path)
            )
            subscription = push_service.subscribe(key)
            db.session.add(
                PushSubscription(
                    user_id=user.id,
                    endpoint=endpoint or subscription["endpoint"],
                    p256dh=subscription["keys"]["p256dh"],
                    auth=subscription["keys"]["auth"],
                    device="Chrome on Android",
                )
            )
            db.session.commit()
        return subscription

    return _subscribe


def _settings(user: User) -> ReminderSettings:
    return db.session.execute(
        db.select(ReminderSettings).where(ReminderSettings.user_id == user.id)
    ).scalar_one()


def _send(app: Flask, now: datetime = NOW) -> sender.SendReport:
    with app.app_context():
        return sender.send_due(now)


def _add_session(app: Flask, user: User, on: date) -> None:
    with app.app_context():
        db.session.add(
            TreatmentSession(
                user_id=user.id, uuid=str(uuid.uuid4()), change_seq=1, date=on, device="pen"
            )
        )
        db.session.commit()


def _state(app: Flask, user: User) -> ReminderSettings:
    with app.app_context():
        row = _settings(user)
        db.session.expunge(row)
        return row


def _devices(app: Flask, user: User) -> int:
    with app.app_context():
        return len(
            db.session.execute(
                db.select(PushSubscription).where(PushSubscription.user_id == user.id)
            ).all()
        )


def test_due_patient_gets_exactly_the_expected_payload(
    app, reminder_patient, subscribe, push_service
):
    device = subscribe(reminder_patient)
    _add_session(app, reminder_patient, DAY - timedelta(days=31))
    _add_session(app, reminder_patient, DAY - timedelta(days=3))

    report = _send(app)

    assert [json.loads(message) for message in push_service.messages(device)] == [
        {"title": "Skinlog", "body": "Time to log day 3 after session 2", "url": "/log"}
    ]
    assert len(report.sent) == 1 and report.errors == []


def test_daily_reminder_body_on_an_ordinary_day(app, reminder_patient, subscribe, push_service):
    device = subscribe(reminder_patient)
    _send(app)
    assert [json.loads(m)["body"] for m in push_service.messages(device)] == ["Time to log today"]


def test_logged_day_sends_nothing(app, reminder_patient, subscribe, push_service):
    device = subscribe(reminder_patient)
    with app.app_context():
        db.session.add(
            Entry(user_id=reminder_patient.id, uuid=str(uuid.uuid4()), change_seq=1, date=DAY)
        )
        db.session.commit()

    report = _send(app)

    assert push_service.messages(device) == []
    assert report.sent == [] and report.nothing_due == 1


def test_every_device_of_the_patient_gets_the_reminder(
    app, reminder_patient, subscribe, push_service
):
    phone, laptop = subscribe(reminder_patient), subscribe(reminder_patient)
    _send(app)
    assert len(push_service.messages(phone)) == 1 and len(push_service.messages(laptop)) == 1


def test_next_due_moves_to_the_next_local_reminder_time(app, reminder_patient, subscribe):
    subscribe(reminder_patient)
    _send(app)
    state = _state(app, reminder_patient)
    assert state.next_due_at == DUE + timedelta(days=1)
    assert state.last_sent_on == DAY


def test_at_most_one_reminder_per_local_day(app, reminder_patient, subscribe, push_service):
    device = subscribe(reminder_patient)
    _send(app)
    with app.app_context():  # a later time the same evening: not again today
        user = db.session.get(User, reminder_patient.id)
        service.update_settings(
            user,
            daily_enabled=True,
            remind_at=time(22, 0),
            photo_days_enabled=True,
            session_due_enabled=True,
        )
        _settings(user).next_due_at = DUE + timedelta(hours=2)  # even if forced due again
        db.session.commit()

    _send(app, NOW + timedelta(hours=2))

    assert len(push_service.messages(device)) == 1


def test_a_second_run_sends_nothing(app, reminder_patient, subscribe, push_service):
    device = subscribe(reminder_patient)
    _send(app)
    report = _send(app, NOW + timedelta(minutes=1))
    assert len(push_service.messages(device)) == 1 and report.sent == []


def test_a_reminder_not_due_yet_is_not_sent(app, reminder_patient, subscribe, push_service):
    device = subscribe(reminder_patient)
    _send(app, DUE - timedelta(seconds=1))
    assert push_service.messages(device) == []


def test_yesterdays_reminder_missed_by_an_outage_is_not_sent_late(
    app, reminder_patient, subscribe, push_service
):
    device = subscribe(reminder_patient)
    _send(app, DUE + timedelta(days=1, hours=5))  # 01:00 local, the next day
    assert push_service.messages(device) == []
    assert _state(app, reminder_patient).next_due_at == DUE + timedelta(days=2)


def test_expired_subscription_answering_410_is_removed(
    app, reminder_patient, subscribe, push_service
):
    device = subscribe(reminder_patient)
    push_service.expire(device)

    report = _send(app)

    assert _devices(app, reminder_patient) == 0
    assert report.removed_subscriptions == 1 and report.sent == []
    assert _state(app, reminder_patient).attempts == 0  # nothing left to retry


def test_next_session_may_be_due_is_sent_once_per_session(
    app, reminder_patient, subscribe, push_service
):
    device = subscribe(reminder_patient)
    _add_session(app, reminder_patient, DAY - timedelta(days=60))
    _add_session(
        app, reminder_patient, DAY - timedelta(days=30)
    )  # usual interval 30 days: due today

    _send(app)
    with app.app_context():
        _settings(reminder_patient).next_due_at = DUE + timedelta(days=1)
        db.session.commit()
    _send(app, NOW + timedelta(days=1))

    bodies = [json.loads(m)["body"] for m in push_service.messages(device)]
    assert bodies == ["Your next session may be due", "Time to log today"]


# --- A push service in trouble -----------------------------------------------------------------


def test_503_is_retried_after_a_minute_then_sent(app, reminder_patient, subscribe):
    with failing_push_service((503, {})) as endpoint:
        subscribe(reminder_patient, endpoint=endpoint)

        first = _send(app)
        state = _state(app, reminder_patient)
        assert first.sent == [] and len(first.errors) == 1 and len(first.retrying) == 1
        assert (state.attempts, state.next_due_at) == (1, NOW + timedelta(minutes=1))

        second = _send(app, NOW + timedelta(minutes=1))

    assert len(second.sent) == 1
    state = _state(app, reminder_patient)
    assert (state.attempts, state.last_sent_on) == (0, DAY)
    assert state.next_due_at == DUE + timedelta(days=1)


def test_backoff_doubles_with_each_failed_try(app, reminder_patient, subscribe):
    with failing_push_service((500, {}), (502, {})) as endpoint:
        subscribe(reminder_patient, endpoint=endpoint)
        _send(app)
        _send(app, NOW + timedelta(minutes=1))
        state = _state(app, reminder_patient)
    assert (state.attempts, state.next_due_at) == (2, NOW + timedelta(minutes=3))


def test_429_honours_retry_after(app, reminder_patient, subscribe):
    with failing_push_service((429, {"Retry-After": "300"})) as endpoint:
        subscribe(reminder_patient, endpoint=endpoint)
        _send(app)
    assert _state(app, reminder_patient).next_due_at == NOW + timedelta(seconds=300)


def test_gives_up_for_the_day_after_max_attempts(app, reminder_patient, subscribe):
    answers = [(503, {})] * sender.MAX_ATTEMPTS
    with failing_push_service(*answers) as endpoint:
        subscribe(reminder_patient, endpoint=endpoint)
        now = NOW
        for _ in range(sender.MAX_ATTEMPTS):
            report = _send(app, now)
            now = max(now, _state(app, reminder_patient).next_due_at)
    state = _state(app, reminder_patient)
    assert report.given_up and state.attempts == 0
    assert state.next_due_at == DUE + timedelta(days=1) and state.last_sent_on is None


def test_a_retry_never_runs_past_the_reminders_local_day(app, reminder_patient, subscribe):
    with failing_push_service((429, {"Retry-After": str(6 * 3600)})) as endpoint:
        subscribe(reminder_patient, endpoint=endpoint)
        report = _send(app)
    assert report.given_up and _state(app, reminder_patient).next_due_at == DUE + timedelta(days=1)


def test_one_device_delivered_counts_as_sent(app, reminder_patient, subscribe, push_service):
    device = subscribe(reminder_patient)
    with failing_push_service((503, {})) as endpoint:
        subscribe(reminder_patient, endpoint=endpoint)
        report = _send(app)
    assert len(push_service.messages(device)) == 1
    assert len(report.sent) == 1 and report.retrying == []
    assert _state(app, reminder_patient).next_due_at == DUE + timedelta(days=1)


def test_send_command_prints_what_was_sent(app, reminder_patient, subscribe):
    subscribe(reminder_patient)
    result = app.test_cli_runner().invoke(commands.reminders_cli, ["send", "--at", NOW.isoformat()])
    assert result.exit_code == 0, result.output
    assert "'Time to log today' to 1 device(s)" in result.output


def test_several_workers_send_each_due_patient_once(app, make_user, subscribe, push_service):
    devices = []
    for _ in range(12):
        user = make_user(timezone="UTC")
        with app.app_context():
            service.update_settings(
                user,
                daily_enabled=True,
                remind_at=time(19, 0),
                photo_days_enabled=True,
                session_due_enabled=True,
            )
            _settings(user).next_due_at = DUE
            db.session.commit()
        devices.append(subscribe(user))

    with app.app_context():
        report = sender.send_due(NOW, workers=4)

    assert len(report.sent) == 12
    assert [len(push_service.messages(device)) for device in devices] == [1] * 12


def test_send_command_fails_when_the_push_service_errs(app, reminder_patient, subscribe):
    with failing_push_service((503, {})) as endpoint:
        subscribe(reminder_patient, endpoint=endpoint)
        result = app.test_cli_runner().invoke(
            commands.reminders_cli, ["send", "--at", NOW.isoformat()]
        )
    assert result.exit_code == 1
    assert "push service answered 503" in result.output


def test_in_process_sender_thread_sends_what_is_due(app, reminder_patient, subscribe, push_service):
    device = subscribe(reminder_patient)
    with app.app_context():
        _settings(reminder_patient).next_due_at = utcnow() - timedelta(seconds=1)
        db.session.commit()

    thread = background.start(app, interval=0.2)
    try:
        assert background.start(app) is None  # once per process
        deadline = timer.monotonic() + 20
        while not push_service.messages(device) and timer.monotonic() < deadline:
            timer.sleep(0.1)
    finally:
        thread.stop()

    assert len(push_service.messages(device)) == 1


def test_a_run_with_nothing_due_is_one_query(app, reminder_patient, count_queries):
    with count_queries() as queries:
        _send(app, DUE - timedelta(minutes=1))
    assert len(queries) == 1


def test_the_due_query_reads_the_next_due_index(app, reminder_patient, count_queries):
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("the plan is read on SQLite; PostgreSQL's depends on the table's size")
    with count_queries() as queries:
        _send(app, DUE - timedelta(minutes=1))
    with app.app_context(), db.engine.connect() as connection:
        plan = connection.exec_driver_sql(
            "EXPLAIN QUERY PLAN " + queries[0], ("2026-02-10 19:00:00", 1, 0)
        ).all()
    assert "ix_reminder_settings_next_due_at" in str(plan)


def test_patient_without_a_device_is_passed_over_until_tomorrow(app, reminder_patient):
    report = _send(app)
    assert report.sent == [] and report.nothing_due == 1
    assert _state(app, reminder_patient).next_due_at == DUE + timedelta(days=1)


# --- Settings and the schedule (service) -----------------------------------------------------


def test_new_settings_have_nudges_on_and_the_daily_reminder_off(app, make_user):
    user = make_user(timezone="Pacific/Auckland")
    with app.app_context():
        settings = service.settings_for(user)
        assert (settings.daily_enabled, settings.photo_days_enabled) == (False, True)
        assert settings.next_due_at.astimezone(ZoneInfo("Pacific/Auckland")).time() == time(20, 0)


def test_everything_switched_off_is_never_due(app, reminder_patient):
    with app.app_context():
        user = db.session.get(User, reminder_patient.id)
        service.update_settings(
            user,
            daily_enabled=False,
            remind_at=time(20, 0),
            photo_days_enabled=False,
            session_due_enabled=False,
        )
    assert _state(app, reminder_patient).next_due_at is None


def test_timezone_change_keeps_the_local_time_in_the_new_zone(app, reminder_patient):
    with app.app_context():
        user = db.session.get(User, reminder_patient.id)
        user.timezone = "America/Sao_Paulo"
        db.session.commit()
        service.reschedule_user(user)
    due = _state(app, reminder_patient).next_due_at
    assert due.astimezone(ZoneInfo("America/Sao_Paulo")).time() == time(20, 0)
    assert utcnow() < due <= utcnow() + timedelta(hours=25)


def test_a_device_with_unusable_keys_is_reported_and_the_others_still_get_theirs(
    app, reminder_patient, subscribe, push_service
):
    device = subscribe(reminder_patient)
    with app.app_context():
        db.session.add(
            PushSubscription(
                user_id=reminder_patient.id,
                endpoint="http://127.0.0.1:9/broken",
                p256dh="AAAA",
                auth="AAAAAAAAAAAAAAAAAAAAAA",
            )
        )
        db.session.commit()
    report = _send(app)
    assert len(push_service.messages(device)) == 1
    assert report.errors == [f"patient {reminder_patient.id}: the device's keys could not be used"]


def _remind_at(app: Flask, user: User, at: time, due: datetime) -> None:
    with app.app_context():
        service.update_settings(
            db.session.get(User, user.id),
            daily_enabled=True,
            remind_at=at,
            photo_days_enabled=True,
            session_due_enabled=True,
        )
        _settings(user).next_due_at = due
        db.session.commit()


def test_berlin_spring_forward_reminder_goes_at_0330_then_back_to_0230(
    app, reminder_patient, subscribe, push_service
):
    device = subscribe(reminder_patient)
    gap_day = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)  # 02:30 does not exist; 03:30 CEST
    _remind_at(app, reminder_patient, time(2, 30), gap_day)

    _send(app, gap_day)

    assert len(push_service.messages(device)) == 1
    following = _state(app, reminder_patient).next_due_at.astimezone(BERLIN)
    assert following.strftime("%Y-%m-%d %H:%M") == "2026-03-30 02:30"


def test_berlin_fall_back_repeated_hour_sends_once(app, reminder_patient, subscribe, push_service):
    device = subscribe(reminder_patient)
    first = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 02:30 CEST; 01:30 UTC is 02:30 CET
    _remind_at(app, reminder_patient, time(2, 30), first)

    _send(app, first)
    _send(app, first + timedelta(hours=1))

    assert len(push_service.messages(device)) == 1
    assert _state(app, reminder_patient).next_due_at == datetime(2026, 10, 26, 1, 30, tzinfo=UTC)


def test_the_reminders_command_is_registered_on_the_app(app):
    result = app.test_cli_runner().invoke(args=["reminders", "send", "--at", NOW.isoformat()])
    assert result.exit_code == 0, result.output


def test_create_app_starts_the_in_process_sender_when_asked(tmp_path):
    from tests.conftest import settings_for_tests
    from webapp import create_app

    settings = settings_for_tests(str(tmp_path / "instance"))
    app = create_app({**settings, "REMINDERS_IN_PROCESS": True})
    running = background._running
    try:
        assert running is not None and running.app is app and running.thread.is_alive()
    finally:
        if running is not None:
            running.stop()
