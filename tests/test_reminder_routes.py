"""The reminders section of the account page and the push subscription API (issue 15): who may
do what, what bad input gets back (4xx with a reason, never a 500), and what is stored."""

from __future__ import annotations

import base64
import json
import re
from datetime import time

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import example, given
from hypothesis import strategies as st

from tests import hostile_input
from webapp.extensions import db
from webapp.models import PushSubscription, ReminderSettings
from webapp.reminders import subscriptions

SUBSCRIPTIONS = "/api/v1/push-subscriptions"
ENDPOINT = "https://fcm.googleapis.com/fcm/send/device-one"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def browser_key() -> str:
    """A p256dh as a browser makes it: a fresh P-256 public key, uncompressed, base64url."""
    public = ec.generate_private_key(ec.SECP256R1()).public_key()
    return b64url(
        public.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
    )


P256DH = browser_key()
AUTH = b64url(bytes(range(16)))


def subscription_body(endpoint: str = ENDPOINT, **changes: object) -> dict[str, object]:
    """What PushSubscription.toJSON() gives."""
    body: dict[str, object] = {
        "endpoint": endpoint,
        "expirationTime": None,
        "keys": {"p256dh": P256DH, "auth": AUTH},
    }
    body.update(changes)
    return body


def rows(app) -> list[tuple[int, int, str]]:
    """(id, user_id, endpoint) of every stored subscription."""
    with app.app_context():
        return [
            tuple(row)
            for row in db.session.execute(
                sa.select(PushSubscription.id, PushSubscription.user_id, PushSubscription.endpoint)
            )
        ]


# --- The settings form -----------------------------------------------------------------------


def test_the_account_page_shows_the_reminder_settings_with_their_defaults(logged_in):
    html = logged_in.get("/account").get_data(as_text=True)
    assert 'id="reminders-heading">Reminders<' in html
    assert re.search(r'<input[^>]*id="daily_enabled"(?![^>]*checked)[^>]*>', html)
    assert re.search(r'<input[^>]*id="remind_at"[^>]*type="time"[^>]*value="20:00"', html)
    assert re.search(r'<input checked[^>]*id="photo_days_enabled"', html)
    assert re.search(r'<input checked[^>]*id="session_due_enabled"', html)
    assert '<label for="remind_at">Reminder time</label>' in html
    assert "No device is reminded yet." in html


def test_saved_settings_are_stored_and_shown_again(app, logged_in, user):
    response = logged_in.post(
        "/account/reminders",
        data={"daily_enabled": "y", "remind_at": "07:45", "session_due_enabled": "y"},
    )
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/account")
    with app.app_context():
        row = db.session.execute(sa.select(ReminderSettings)).scalar_one()
        assert (row.user_id, row.daily_enabled, row.remind_at) == (user.id, True, time(7, 45))
        assert (row.photo_days_enabled, row.session_due_enabled) == (False, True)
        assert row.next_due_at is not None
    html = logged_in.get("/account").get_data(as_text=True)
    assert "Your reminder settings are saved." in html
    assert re.search(r'<input checked[^>]*id="daily_enabled"', html)
    assert 'value="07:45"' in html
    assert re.search(r'<input[^>]*id="photo_days_enabled"(?![^>]*checked)[^>]*>', html)


def test_turning_everything_off_leaves_nothing_due(app, logged_in):
    assert logged_in.post("/account/reminders", data={"remind_at": "20:00"}).status_code == 302
    with app.app_context():
        row = db.session.execute(sa.select(ReminderSettings)).scalar_one()
        assert not (row.daily_enabled or row.photo_days_enabled or row.session_due_enabled)
        assert row.next_due_at is None


@pytest.mark.parametrize("remind_at", ["", "25:00", "7pm", "20:61", "x" * 5000, "20:00\x00"])
def test_a_bad_time_is_refused_on_the_page_with_a_reason(app, logged_in, remind_at):
    response = logged_in.post(
        "/account/reminders", data={"daily_enabled": "y", "remind_at": remind_at}
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Your reminders were not saved" in html
    assert 'id="remind_at-error">Enter a time like 20:00' in html
    assert 'aria-invalid="true"' in html
    with app.app_context():
        assert not db.session.execute(sa.select(ReminderSettings.daily_enabled)).scalar()


def test_seconds_from_a_browser_time_input_are_accepted(app, logged_in):
    assert logged_in.post("/account/reminders", data={"remind_at": "06:30:00"}).status_code == 302
    with app.app_context():
        assert db.session.execute(sa.select(ReminderSettings.remind_at)).scalar_one() == time(6, 30)


def test_the_settings_form_needs_a_login(client):
    response = client.post("/account/reminders", data={"remind_at": "20:00"})
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_the_settings_form_needs_its_csrf_token(app, logged_in):
    response = logged_in.post("/account/reminders", data={"remind_at": "08:00"}, csrf=False)
    assert response.status_code == 400
    with app.app_context():
        assert db.session.execute(sa.select(ReminderSettings.remind_at)).scalar() != time(8, 0)


# --- The device list on the page ---------------------------------------------------------------


def test_the_section_lists_each_device_with_a_remove_button(logged_in):
    logged_in.post(
        SUBSCRIPTIONS,
        json=subscription_body(),
        headers={"User-Agent": "Mozilla/5.0 (Linux; Android 14) Chrome/130.0 Mobile"},
    )
    html = logged_in.get("/account").get_data(as_text=True)
    assert "No device is reminded yet." in html  # the text stays, hidden, for the script
    assert "<p data-no-devices hidden>" in html
    (row_id,) = re.findall(r'data-device-id="(\d+)"', html)
    assert "Chrome on Android" in html
    assert f'action="/account/reminders/devices/{row_id}/remove"' in html
    assert re.search(r">Remove<span class=\"visually-hidden\"> Chrome on Android, since", html)
    # Nothing of the endpoint is written into the page, only its digest.
    assert "device-one" not in html


def test_remove_on_the_page_forgets_the_device(app, logged_in):
    row_id = logged_in.post(SUBSCRIPTIONS, json=subscription_body()).get_json()["id"]
    response = logged_in.post(f"/account/reminders/devices/{row_id}/remove")
    assert response.status_code == 302
    assert rows(app) == []
    assert "will not be reminded any more" in logged_in.get("/account").get_data(as_text=True)


def test_remove_on_the_page_is_404_for_another_patients_device(app, logged_in, other_client):
    row_id = other_client.post(SUBSCRIPTIONS, json=subscription_body()).get_json()["id"]
    assert logged_in.post(f"/account/reminders/devices/{row_id}/remove").status_code == 404
    assert [row[0] for row in rows(app)] == [row_id]


def test_remove_on_the_page_needs_its_csrf_token(app, logged_in):
    row_id = logged_in.post(SUBSCRIPTIONS, json=subscription_body()).get_json()["id"]
    response = logged_in.post(f"/account/reminders/devices/{row_id}/remove", csrf=False)
    assert response.status_code == 400
    assert len(rows(app)) == 1


# --- The subscription API ----------------------------------------------------------------------


def test_the_push_key_is_the_vapid_public_key_and_stays_the_same(logged_in):
    first = logged_in.get("/api/v1/push/key")
    assert first.status_code == 200
    assert first.headers["Cache-Control"] == "no-store"
    key = first.get_json()["key"]
    point = base64.urlsafe_b64decode(key + "==")
    assert len(point) == 65 and point[0] == 4 and "=" not in key
    assert logged_in.get("/api/v1/push/key").get_json()["key"] == key


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/push/key"),
        ("GET", SUBSCRIPTIONS),
        ("POST", SUBSCRIPTIONS),
        ("DELETE", f"{SUBSCRIPTIONS}/1"),
    ],
)
def test_the_api_answers_401_json_when_logged_out(client, method, path):
    response = client.open(path, method=method, json=subscription_body())
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorized"
    assert response.headers["Cache-Control"] == "no-store"


def test_a_new_subscription_is_stored_and_answered_201(app, logged_in, user):
    response = logged_in.post(
        SUBSCRIPTIONS,
        json=subscription_body(),
        headers={"User-Agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4) Safari/604.1"},
    )
    assert response.status_code == 201
    body = response.get_json()
    assert body["device"] == "Safari on iPhone"
    assert body["push_service"] == "fcm.googleapis.com"
    assert set(body) == {"id", "device", "push_service", "created_at", "last_sent_at"}
    assert rows(app) == [(body["id"], user.id, ENDPOINT)]
    with app.app_context():
        row = db.session.get(PushSubscription, body["id"])
        assert (row.p256dh, row.auth) == (P256DH, AUTH)


def test_padded_keys_are_stored_unpadded(app, logged_in):
    padded = {"p256dh": P256DH + "=", "auth": AUTH + "=="}
    row_id = logged_in.post(SUBSCRIPTIONS, json=subscription_body(keys=padded)).get_json()["id"]
    with app.app_context():
        row = db.session.get(PushSubscription, row_id)
        assert (row.p256dh, row.auth) == (P256DH, AUTH)


def test_the_list_holds_the_patients_own_devices_only(logged_in, other_client):
    mine = logged_in.post(SUBSCRIPTIONS, json=subscription_body()).get_json()
    other_client.post(SUBSCRIPTIONS, json=subscription_body("https://push.example.org/other"))
    listed = logged_in.get(SUBSCRIPTIONS)
    assert listed.status_code == 200
    assert listed.get_json() == {"subscriptions": [mine]}


def test_the_same_endpoint_again_is_the_same_row_with_the_new_keys(app, logged_in):
    first = logged_in.post(SUBSCRIPTIONS, json=subscription_body()).get_json()
    new_keys = {"p256dh": browser_key(), "auth": b64url(b"\x01" * 16)}
    again = logged_in.post(SUBSCRIPTIONS, json=subscription_body(keys=new_keys))
    assert again.status_code == 200
    assert again.get_json()["id"] == first["id"]
    assert len(rows(app)) == 1
    with app.app_context():
        assert db.session.get(PushSubscription, first["id"]).p256dh == new_keys["p256dh"]


def test_an_endpoint_another_patient_had_moves_to_whoever_subscribed_last(
    app, logged_in, other_client, user
):
    theirs = other_client.post(SUBSCRIPTIONS, json=subscription_body()).get_json()
    mine = logged_in.post(SUBSCRIPTIONS, json=subscription_body())
    assert mine.status_code == 200
    assert rows(app) == [(theirs["id"], user.id, ENDPOINT)]
    assert other_client.get(SUBSCRIPTIONS).get_json() == {"subscriptions": []}


def test_subscribing_needs_the_csrf_header(app, logged_in):
    response = logged_in.post(SUBSCRIPTIONS, json=subscription_body(), csrf=False)
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "csrf"
    assert rows(app) == []


def test_deleting_needs_the_csrf_header(app, logged_in):
    row_id = logged_in.post(SUBSCRIPTIONS, json=subscription_body()).get_json()["id"]
    response = logged_in.delete(f"{SUBSCRIPTIONS}/{row_id}", csrf=False)
    assert response.status_code == 403
    assert len(rows(app)) == 1


def test_unknown_fields_are_refused_by_name(app, logged_in):
    body = subscription_body(device="mine", keys={"p256dh": P256DH, "auth": AUTH, "extra": 1})
    response = logged_in.post(SUBSCRIPTIONS, json=body)
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"] == {
        "device": "is not a field we know",
        "keys.extra": "is not a field we know",
    }
    assert rows(app) == []


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"endpoint": "http://fcm.googleapis.com/fcm/send/x"}, "endpoint"),
        ({"endpoint": "https://10.0.0.7/push"}, "endpoint"),
        ({"endpoint": "https://[fd00::1]/push"}, "endpoint"),
        ({"endpoint": "https://intranet/push"}, "endpoint"),
        ({"endpoint": "https://127.1/push"}, "endpoint"),
        ({"endpoint": "https://0x7f.1/push"}, "endpoint"),
        ({"endpoint": "https://2130706433/push"}, "endpoint"),
        ({"endpoint": "https://push..example.org/x"}, "endpoint"),
        ({"endpoint": "https://metadata.internal/push"}, "endpoint"),
        ({"endpoint": "https://user:pw@push.example.org/x"}, "endpoint"),
        ({"endpoint": "https://push.example.org:99999/x"}, "endpoint"),
        ({"endpoint": "javascript:alert(1)"}, "endpoint"),
        ({"endpoint": "/relative/path"}, "endpoint"),
        ({"endpoint": "https://push.example.org/" + "a" * 1024}, "endpoint"),
        ({"endpoint": "https://push.example.org/é"}, "endpoint"),
        ({"endpoint": None}, "endpoint"),
        ({"keys": None}, "keys"),
        ({"keys": {"p256dh": P256DH}}, "keys.auth"),
        ({"keys": {"p256dh": P256DH, "auth": b64url(b"\x00" * 15)}}, "keys.auth"),
        ({"keys": {"p256dh": P256DH, "auth": AUTH + "!"}}, "keys.auth"),
        ({"keys": {"p256dh": AUTH, "auth": AUTH}}, "keys.p256dh"),
        ({"keys": {"p256dh": b64url(b"\x04" + b"\x01" * 64), "auth": AUTH}}, "keys.p256dh"),
        ({"keys": {"p256dh": "A" * 5000, "auth": AUTH}}, "keys.p256dh"),
        ({"expirationTime": "tomorrow"}, "expirationTime"),
    ],
)
def test_a_bad_subscription_is_refused_naming_the_field(app, logged_in, changes, field):
    response = logged_in.post(SUBSCRIPTIONS, json=subscription_body(**changes))
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "invalid"
    assert set(error["fields"]) == {field}
    assert rows(app) == []


def test_a_loopback_push_service_is_accepted_only_under_test():
    body = subscription_body("http://127.0.0.1:8090/push/abc")
    assert subscriptions.parse_subscription(body, allow_loopback=True).endpoint.startswith("http:")
    with pytest.raises(subscriptions.Invalid) as refused:
        subscriptions.parse_subscription(body)
    assert set(refused.value.fields) == {"endpoint"}


def test_a_body_that_is_not_json_is_refused(logged_in):
    as_form = logged_in.post(SUBSCRIPTIONS, data={"endpoint": ENDPOINT})
    assert as_form.status_code == 415
    broken = logged_in.post(SUBSCRIPTIONS, data="{", content_type="application/json")
    assert broken.status_code == 400
    assert broken.get_json()["error"]["code"] == "malformed_json"


def test_a_patient_has_at_most_max_devices(app, logged_in, monkeypatch):
    monkeypatch.setattr(subscriptions, "MAX_DEVICES", 2)
    for number in range(2):
        body = subscription_body(f"https://push.example.org/{number}")
        assert logged_in.post(SUBSCRIPTIONS, json=body).status_code == 201
    third = logged_in.post(SUBSCRIPTIONS, json=subscription_body("https://push.example.org/3"))
    assert third.status_code == 409
    assert third.get_json()["error"]["code"] == "too_many_devices"
    # A device already listed may still subscribe again.
    again = logged_in.post(SUBSCRIPTIONS, json=subscription_body("https://push.example.org/0"))
    assert again.status_code == 200


def test_deleting_a_device_answers_204_and_forgets_it(app, logged_in):
    row_id = logged_in.post(SUBSCRIPTIONS, json=subscription_body()).get_json()["id"]
    response = logged_in.delete(f"{SUBSCRIPTIONS}/{row_id}")
    assert response.status_code == 204
    assert response.get_data() == b""
    assert rows(app) == []
    assert logged_in.delete(f"{SUBSCRIPTIONS}/{row_id}").status_code == 404


def test_deleting_another_patients_device_is_404_and_keeps_it(app, logged_in, other_client):
    row_id = other_client.post(SUBSCRIPTIONS, json=subscription_body()).get_json()["id"]
    response = logged_in.delete(f"{SUBSCRIPTIONS}/{row_id}")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"
    assert [row[0] for row in rows(app)] == [row_id]


@pytest.mark.parametrize("raw_id", ["0", "99999999999999999999999", "abc", "-1", "1.5"])
def test_deleting_an_id_that_cannot_be_a_device_is_404(logged_in, raw_id):
    response = logged_in.delete(f"{SUBSCRIPTIONS}/{raw_id}")
    assert response.status_code == 404
    assert response.is_json


# --- Fuzz --------------------------------------------------------------------------------------

FUZZ = hostile_input.fuzz_settings(60)
VALID = subscription_body()
KEY_TEXTS = hostile_input.fair_choice(
    hostile_input.json_values,
    st.text(
        alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/", max_size=100
    ),
)


def test_any_subscription_body_is_answered_without_a_5xx(logged_in):
    headers = {"X-CSRFToken": logged_in.get("/api/v1/csrf").get_json()["csrf_token"]}

    @FUZZ
    @example(subscription_body(endpoint="https://push.example.org/\ud83d"))
    @example(subscription_body(keys={"p256dh": "\ud83d", "auth": AUTH}))
    @given(
        hostile_input.fair_choice(
            hostile_input.bodies(VALID, ["endpoint", "keys", "expirationTime"]),
            st.builds(
                lambda p256dh, auth: subscription_body(keys={"p256dh": p256dh, "auth": auth}),
                KEY_TEXTS,
                KEY_TEXTS,
            ),
            hostile_input.json_values,
        )
    )
    def check(body: object) -> None:
        response = logged_in.post(
            SUBSCRIPTIONS,
            data=hostile_input.json_text(body),
            content_type="application/json",
            headers=headers,
            csrf=False,
        )
        assert response.status_code in (200, 201, 400, 422), response.get_data(as_text=True)
        assert response.is_json
        if response.status_code == 422:
            assert response.get_json()["error"]["fields"]

    check()


def test_any_raw_body_is_answered_without_a_5xx(logged_in):
    headers = {"X-CSRFToken": logged_in.get("/api/v1/csrf").get_json()["csrf_token"]}

    @hostile_input.fuzz_settings(30)
    @given(hostile_input.raw_bodies)
    def check(text: str) -> None:
        response = logged_in.post(
            SUBSCRIPTIONS, data=text, content_type="application/json", headers=headers, csrf=False
        )
        assert response.status_code in (400, 422), response.get_data(as_text=True)[:200]
        assert response.is_json

    check()


# --- With the sender ---------------------------------------------------------------------------


def test_a_device_subscribed_through_the_api_is_reminded_by_the_sender(
    app, logged_in, push_service
):
    """The subscription as stored (keys unpadded, endpoint as given) is one the sender can push
    to: against web-push-testing, which checks the VAPID signature made with the key that
    /push/key handed out and decrypts the payload with the browser's keys."""
    from webapp.reminders import sender

    key = logged_in.get("/api/v1/push/key").get_json()["key"]
    browser = push_service.subscribe(key)
    body = {"endpoint": browser["endpoint"], "expirationTime": None, "keys": browser["keys"]}
    assert logged_in.post(SUBSCRIPTIONS, json=body).status_code == 201
    settings = {"daily_enabled": "y", "remind_at": "20:00"}
    assert logged_in.post("/account/reminders", data=settings).status_code == 302
    with app.app_context():
        due = db.session.execute(sa.select(ReminderSettings.next_due_at)).scalar_one()
        sender.send_due(now=due)
    (message,) = push_service.messages(browser)
    reminder = json.loads(message)
    assert set(reminder) == {"title", "body", "url"}
    assert (reminder["title"], reminder["url"]) == ("Skinlog", "/log")


# --- A new timezone --------------------------------------------------------------------------


def test_a_new_timezone_moves_the_next_reminder_to_the_same_hour_there(app, logged_in, user):
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    logged_in.get("/account")  # makes the settings: 20:00, scheduled in the user's UTC
    response = logged_in.post(
        "/account/profile",
        data={
            "display_name": "Sam",
            "track": "both",
            "fitzpatrick": "",
            "timezone": "Pacific/Auckland",
        },
    )
    assert response.status_code == 302
    with app.app_context():
        due = db.session.execute(sa.select(ReminderSettings.next_due_at)).scalar_one()
    local = due.replace(tzinfo=UTC).astimezone(ZoneInfo("Pacific/Auckland"))
    assert local.time() == time(20, 0)
    assert local > datetime.now(UTC)
