"""The devices a patient is reminded on: Web Push subscriptions checked, stored, listed, removed.

A subscription is what the browser's `PushSubscription.toJSON()` gives: the push service's endpoint
and the two keys the payload is encrypted to (RFC 8291). The endpoint is unique: subscribing the
same browser again updates its row, and if another account had it, the row moves to this one,
since the browser now belongs to whoever subscribed last (a shared phone reminds one patient).

Checked strictly, because the sender POSTs to the endpoint: https to a named host only, never an
IP address or a local name (the server must not be steered at its own network); loopback over
http only when the app is under test, where the push service stands in on 127.0.0.1.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import PushSubscription, User
from ..validation import Invalid
from .vapid import application_server_key, load_vapid

# Fields of PushSubscription.toJSON(); `expirationTime` is sent by browsers and not needed (the
# push service answers 404/410 once a subscription has ended, and the sender removes it then).
FIELDS = frozenset({"endpoint", "keys", "expirationTime"})
KEY_FIELDS = frozenset({"p256dh", "auth"})
MAX_ENDPOINT_LENGTH = 1024  # the column's size; real endpoints are a few hundred characters
P256DH_BYTES = 65  # an uncompressed P-256 point: 0x04, then x and y
AUTH_BYTES = 16
# Enough for every phone, tablet and computer of one patient; a script cannot add endless rows.
MAX_DEVICES = 20
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
MAX_ID = 2**31 - 1  # the id column's range on PostgreSQL; a larger id in a URL is no row


class TooManyDevices(Exception):
    """The patient already has MAX_DEVICES subscriptions."""


@dataclass(frozen=True)
class SubscriptionInput:
    """A checked subscription: the endpoint and the keys as unpadded base64url."""

    endpoint: str
    p256dh: str
    auth: str


@lru_cache(maxsize=4)
def server_key(private_key: str | None, instance_path: str) -> str:
    """The applicationServerKey browsers subscribe with (read once per process: the key pair
    never changes while the app runs)."""
    return application_server_key(load_vapid(private_key, instance_path))


def parse_subscription(payload: Any, *, allow_loopback: bool = False) -> SubscriptionInput:
    """The subscription in `payload`, or Invalid naming each field that is wrong."""
    if not isinstance(payload, dict):
        raise Invalid({"_": "expected a JSON object like PushSubscription.toJSON()"})
    problems = {str(name): "is not a field we know" for name in payload if name not in FIELDS}
    endpoint = _endpoint(payload.get("endpoint"), allow_loopback, problems)
    expiration = payload.get("expirationTime")
    if expiration is not None and (
        isinstance(expiration, bool) or not isinstance(expiration, int | float)
    ):
        problems["expirationTime"] = "must be null or a time in milliseconds"
    keys = payload.get("keys")
    p256dh = auth = ""
    if not isinstance(keys, dict):
        problems["keys"] = 'must be an object with "p256dh" and "auth"'
    else:
        for name in keys:
            if name not in KEY_FIELDS:
                problems[f"keys.{name}"] = "is not a field we know"
        p256dh = _key(keys.get("p256dh"), "keys.p256dh", P256DH_BYTES, problems)
        auth = _key(keys.get("auth"), "keys.auth", AUTH_BYTES, problems)
        if p256dh and not _on_p256(base64.urlsafe_b64decode(p256dh + "==")):
            problems["keys.p256dh"] = "must be an uncompressed P-256 public key"
    if problems:
        raise Invalid(problems)
    return SubscriptionInput(endpoint=endpoint, p256dh=p256dh, auth=auth)


def _endpoint(raw: Any, allow_loopback: bool, problems: dict[str, str]) -> str:
    if not isinstance(raw, str) or not raw:
        problems["endpoint"] = "must be the push service's URL"
        return ""
    if len(raw) > MAX_ENDPOINT_LENGTH or not raw.isascii() or not raw.isprintable():
        problems["endpoint"] = f"must be a URL of at most {MAX_ENDPOINT_LENGTH} characters"
        return ""
    try:
        parts = urlsplit(raw)
        host = (parts.hostname or "").lower()
        parts.port  # noqa: B018  (raises ValueError for a port that is not a number)
    except ValueError:
        problems["endpoint"] = "must be a URL"
        return ""
    if parts.username is not None or parts.password is not None or parts.fragment:
        problems["endpoint"] = "must not hold a user name, password or fragment"
    elif allow_loopback and host in LOOPBACK_HOSTS and parts.scheme in ("http", "https"):
        return raw
    elif parts.scheme != "https":
        problems["endpoint"] = "must be an https URL"
    elif not _public_name(host):
        problems["endpoint"] = "must name the push service's host"
    return raw


def _public_name(host: str) -> bool:
    """A host name: not an IP address in any spelling a resolver accepts ("127.1", "0x7f.1" and
    "2130706433" are 127.0.0.1 to inet_aton), not a single local label such as "localhost".
    A name's last label starts with a letter, which no spelling of an IPv4 address does."""
    labels = host.rstrip(".").split(".")
    if len(labels) < 2 or not all(labels) or not labels[-1][:1].isalpha():
        return False
    return labels[-1] not in {"local", "localhost", "internal"}


def _key(raw: Any, name: str, size: int, problems: dict[str, str]) -> str:
    """The key as unpadded base64url, if it decodes to `size` bytes."""
    what = f"must be base64url of {size} bytes"
    if not isinstance(raw, str) or not raw.isascii() or len(raw) > 2 * size:
        problems[name] = what
        return ""
    text = raw.rstrip("=")
    try:
        decoded = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        problems[name] = what
        return ""
    if len(decoded) != size:
        problems[name] = what
        return ""
    return base64.urlsafe_b64encode(decoded).rstrip(b"=").decode()


def _on_p256(point: bytes) -> bool:
    """An uncompressed point on the P-256 curve: what the payload is encrypted to. A key that is
    not one would fail every send; it is refused at the door instead."""
    if point[0] != 0x04:
        return False
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError:
        return False
    return True


def subscribe(user: User, data: SubscriptionInput, device: str) -> tuple[PushSubscription, bool]:
    """Store the subscription for `user`: (the row, whether it is new). The same endpoint again
    updates its row (new keys, this patient, this device's name)."""
    for _ in range(2):
        row = _by_endpoint(data.endpoint)
        created = row is None
        if row is None:
            if _count_of(user) >= MAX_DEVICES:
                raise TooManyDevices
            row = PushSubscription(endpoint=data.endpoint)
            db.session.add(row)
        row.user_id, row.p256dh, row.auth, row.device = user.id, data.p256dh, data.auth, device
        try:
            db.session.commit()
        except IntegrityError:
            # The same browser subscribed twice at once (two taps, two tabs): the other request
            # made the row; update that one instead.
            db.session.rollback()
            continue
        return row, created
    raise RuntimeError("the subscription's row could not be written")


def _by_endpoint(endpoint: str) -> PushSubscription | None:
    return db.session.execute(
        db.select(PushSubscription).where(PushSubscription.endpoint == endpoint)
    ).scalar_one_or_none()


def _count_of(user: User) -> int:
    return db.session.execute(
        db.select(db.func.count())
        .select_from(PushSubscription)
        .where(PushSubscription.user_id == user.id)
    ).scalar_one()


def subscriptions_of(user: User) -> list[PushSubscription]:
    """The patient's devices, oldest first."""
    return list(
        db.session.execute(
            db.select(PushSubscription)
            .where(PushSubscription.user_id == user.id)
            .order_by(PushSubscription.created_at, PushSubscription.id)
        ).scalars()
    )


def remove(user: User, subscription_id: int) -> bool:
    """Delete one of the patient's devices; False when it is not theirs (or gone), so another
    account's device answers like one that does not exist."""
    if not 0 < subscription_id <= MAX_ID:
        return False
    deleted = db.session.execute(
        db.delete(PushSubscription).where(
            PushSubscription.id == subscription_id, PushSubscription.user_id == user.id
        )
    ).rowcount
    db.session.commit()
    return bool(deleted)
