"""The sender connects only to public addresses: a stored endpoint is a URL a browser (or anyone
with a login) handed us, and the server POSTs to it. The subscription API refuses IP addresses
and local names, but a public-looking name can resolve to the server's own network, and a push
service could redirect there; so the check happens where the connection is made
(requests-hardened), and redirects are never followed.

Here "localhost" stands for such a name (it resolves to 127.0.0.1 through /etc/hosts): the real
push service (web-push-testing) listens behind it, and must receive nothing unless the app allows
loopback, as only the tests do (PUSH_ALLOW_LOOPBACK). Real push services are HTTPS: the filter
connects to the address it checked, and the certificate must still be checked against the name."""

from __future__ import annotations

import datetime as dt
import ssl
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from flask import Flask

from tests.conftest import REMINDER_DUE
from tests.push_service import PushService, failing_push_service
from tests.test_reminder_routes import AUTH, P256DH
from webapp.extensions import db
from webapp.models import PushSubscription, ReminderSettings, User
from webapp.reminders import sender
from webapp.reminders.vapid import application_server_key, load_vapid

DUE = REMINDER_DUE
NOW = DUE + timedelta(seconds=30)


def _store_device(app: Flask, user: User, endpoint: str, keys: dict[str, str]) -> None:
    with app.app_context():
        db.session.add(
            PushSubscription(
                user_id=user.id, endpoint=endpoint, p256dh=keys["p256dh"], auth=keys["auth"]
            )
        )
        db.session.commit()


def _browser_subscription(app: Flask, push_service: PushService) -> dict:
    """What a browser's subscription to the push service gives: its endpoint and keys."""
    with app.app_context():
        key = application_server_key(load_vapid(None, app.instance_path))
    return push_service.subscribe(key)


def _subscribe_behind_a_name(app: Flask, user: User, push_service: PushService) -> dict:
    """A subscription of the push service, stored with its endpoint's host named "localhost"."""
    subscription = _browser_subscription(app, push_service)
    parts = urlsplit(subscription["endpoint"])
    named = parts._replace(netloc=f"localhost:{parts.port}")
    _store_device(app, user, urlunsplit(named), subscription["keys"])
    return subscription


def _send(app: Flask) -> sender.SendReport:
    with app.app_context():
        return sender.send_due(NOW)


def test_a_name_resolving_to_loopback_gets_no_request(app, reminder_patient, push_service):
    app.config["PUSH_ALLOW_LOOPBACK"] = False
    subscription = _subscribe_behind_a_name(app, reminder_patient, push_service)

    report = _send(app)

    assert push_service.messages(subscription) == []
    assert report.sent == [] and report.retrying == []
    assert report.errors == [
        f"patient {reminder_patient.id}: the push service's address is not public"
    ]


def test_the_same_device_is_reminded_where_loopback_is_allowed(app, reminder_patient, push_service):
    subscription = _subscribe_behind_a_name(app, reminder_patient, push_service)

    report = _send(app)

    assert len(push_service.messages(subscription)) == 1
    assert len(report.sent) == 1


def test_a_refused_address_keeps_the_device_and_is_not_retried(app, reminder_patient, push_service):
    app.config["PUSH_ALLOW_LOOPBACK"] = False
    _subscribe_behind_a_name(app, reminder_patient, push_service)

    _send(app)

    with app.app_context():
        settings = db.session.execute(db.select(ReminderSettings)).scalar_one()
        assert settings.attempts == 0 and settings.next_due_at == DUE + timedelta(days=1)
        assert db.session.execute(db.select(PushSubscription)).scalar_one()


def test_a_redirect_from_the_push_service_is_not_followed(app, reminder_patient, push_service):
    subscription = _browser_subscription(app, push_service)
    with failing_push_service((307, {"Location": subscription["endpoint"]})) as endpoint:
        _store_device(app, reminder_patient, endpoint, subscription["keys"])
        report = _send(app)

    assert push_service.messages(subscription) == []
    assert report.sent == []
    assert report.errors == [f"patient {reminder_patient.id}: push service refused with 307"]


def test_the_subscription_api_refuses_loopback_unless_the_app_allows_it(app, logged_in):
    app.config["PUSH_ALLOW_LOOPBACK"] = False
    body = {
        "endpoint": "http://127.0.0.1:8090/push/abc",
        "expirationTime": None,
        "keys": {"p256dh": P256DH, "auth": AUTH},
    }

    response = logged_in.post("/api/v1/push-subscriptions", json=body)

    assert response.status_code == 422
    assert set(response.get_json()["error"]["fields"]) == {"endpoint"}


def _tls_context(folder: Path, name: str) -> tuple[ssl.SSLContext, Path]:
    """A server context whose certificate (self-signed) is for `name`, and the file to trust it."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / f"{name}.pem", folder / f"{name}.key"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    return context, cert_file


@pytest.fixture
def push_over_https(app, reminder_patient, push_service, tmp_path, monkeypatch):
    """push_over_https(name) -> the sender's report for reminder_patient's one device: an HTTPS
    push service at https://localhost:<port> whose certificate, trusted, is for `name`."""

    def _push(certificate_name: str) -> sender.SendReport:
        context, trusted = _tls_context(tmp_path, certificate_name)
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(trusted))
        keys = _browser_subscription(app, push_service)["keys"]
        with failing_push_service(tls=context) as endpoint:
            _store_device(app, reminder_patient, endpoint, keys)
            return _send(app)

    return _push


def test_an_https_push_service_is_reached_by_its_name(push_over_https):
    report = push_over_https("localhost")

    assert len(report.sent) == 1 and report.errors == []


def test_an_https_push_service_with_another_names_certificate_is_refused(
    push_over_https, reminder_patient
):
    report = push_over_https("push.example.com")

    assert report.sent == []
    assert report.errors == [
        f"patient {reminder_patient.id}: no answer from the push service (SSLError)"
    ]
