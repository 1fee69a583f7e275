"""The server's VAPID key pair, which signs every Web Push request (RFC 8292).

Like the secret key: taken from VAPID_PRIVATE_KEY (base64url of the raw key or of its DER, or a
PEM) when set, else generated once into instance/vapid_private_key.pem (0600) and reused on every
later start, by every worker. Browsers bind a subscription to the public key, so a new key pair
would silently end every subscription: it is never regenerated while the file exists.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from py_vapid import Vapid02

VAPID_KEY_FILE = "vapid_private_key.pem"


def load_vapid(private_key: str | None, instance_path: str | os.PathLike) -> Vapid02:
    """The configured key pair, or the one kept in the instance folder (made on first use)."""
    if private_key:
        text = private_key.strip()
        if text.startswith("-----BEGIN"):
            return Vapid02.from_pem(text.encode())
        return Vapid02.from_string(text)
    path = Path(instance_path) / VAPID_KEY_FILE
    try:
        return Vapid02.from_pem(path.read_bytes())
    except FileNotFoundError:
        pass
    vapid = Vapid02()
    vapid.generate_keys()
    pem = vapid.private_pem()
    # O_EXCL: when several workers start at once, one writes and the others read its key.
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return Vapid02.from_pem(path.read_bytes())
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pem)
    return vapid


def application_server_key(vapid: Vapid02) -> str:
    """The public key as the browser's pushManager.subscribe wants it: base64url of the
    uncompressed P-256 point, without padding."""
    point = vapid.public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return base64.urlsafe_b64encode(point).rstrip(b"=").decode()
