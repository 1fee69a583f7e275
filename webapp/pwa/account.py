"""An opaque tag for the logged-in account, stamped on every item the phone queues offline.

On a shared phone the login may change while items wait; the sync client compares the tag of
each item with the tag of the current login and never uploads one patient's entries into another
patient's account. It is a keyed hash: it reveals nothing about the user id. No Flask here.
"""

from __future__ import annotations

import hashlib
import hmac


def account_tag(secret_key: str | bytes, user_id: int) -> str:
    key = secret_key.encode() if isinstance(secret_key, str) else secret_key
    digest = hmac.new(key, f"skinlog-account:{user_id}".encode(), hashlib.sha256)
    return digest.hexdigest()[:24]
