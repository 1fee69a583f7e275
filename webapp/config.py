"""Settings read from the environment, with embedded defaults for a single machine.

Every setting a deployment may change is an environment variable; the rest are constants here.
Nothing secret has a guessable fallback: without SECRET_KEY a random key is generated once into the
instance folder (as CTFd does) and reused on every later start.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

SECRET_KEY_FILE = "secret_key"  # noqa: S105 (a file name, not a secret)


def load_or_create_secret_key(instance_path: str | os.PathLike) -> str:
    """Return the key in instance/secret_key, creating it (0600) on first start."""
    path = Path(instance_path) / SECRET_KEY_FILE
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        key = secrets.token_hex(32)
        # O_EXCL: when several workers start at once, one writes and the others read its key.
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_text().strip()
        with os.fdopen(descriptor, "w") as handle:
            handle.write(key)
        return key


def _env_flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def settings_from_environment(instance_path: str) -> dict[str, object]:
    """All settings for create_app, from the environment with embedded defaults."""
    secure_cookies = _env_flag("SECURE_COOKIES", False)
    database_url = os.environ.get("DATABASE_URL") or (
        "sqlite:///" + os.path.join(instance_path, "skinlog.sqlite3")
    )
    return {
        "SECRET_KEY": os.environ.get("SECRET_KEY") or load_or_create_secret_key(instance_path),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "PHOTO_STORAGE": os.environ.get("PHOTO_STORAGE", ""),
        "S3_ENDPOINT_URL": os.environ.get("S3_ENDPOINT_URL") or None,
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI", "memory://"),
        # If Redis is unreachable, count in this process's memory rather than answer 500s.
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        # How many reverse proxies (load balancer, nginx) set X-Forwarded-For/-Proto in front of
        # gunicorn. 0 trusts no header: behind a proxy every client would share its address, and
        # one rate limit. Never more than there are: a client could then pick its own address.
        "TRUSTED_PROXIES": int(os.environ.get("TRUSTED_PROXIES", "0")),
        # Uploads: up to 6 photos of 25 MB each plus form fields in one request.
        "MAX_CONTENT_LENGTH": 6 * 25 * 1024 * 1024 + 1024 * 1024,
        "MAX_FORM_MEMORY_SIZE": 1024 * 1024,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": secure_cookies,
        # Flask-Login's remember cookie has none of these flags unless asked.
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": secure_cookies,
        # "Keep me signed in": a phone stays logged in for weeks.
        "REMEMBER_COOKIE_DURATION": timedelta(days=60),
        "PERMANENT_SESSION_LIFETIME": timedelta(days=60),
        "WTF_CSRF_TIME_LIMIT": None,  # tokens are bound to the session, which expires on its own
        "LOGIN_RATE_LIMIT": os.environ.get("LOGIN_RATE_LIMIT", "10 per minute;50 per hour"),
        "PREFERRED_URL_SCHEME": "https" if secure_cookies else "http",
        # Argon2id cost; the defaults are argon2-cffi's RFC 9106 low-memory profile (64 MiB, t=3).
        "ARGON2_TIME_COST": int(os.environ.get("ARGON2_TIME_COST", "3")),
        "ARGON2_MEMORY_KIB": int(os.environ.get("ARGON2_MEMORY_KIB", str(64 * 1024))),
        # Web Push (reminders): without VAPID_PRIVATE_KEY a key pair is generated once into the
        # instance folder, like the secret key. The subject is how a push service reaches us.
        "VAPID_PRIVATE_KEY": os.environ.get("VAPID_PRIVATE_KEY") or None,
        "VAPID_SUBJECT": os.environ.get("VAPID_SUBJECT", "mailto:reminders@skinlog.invalid"),
        # `make run` sends due reminders from a thread of its own process, so one machine reminds
        # without cron; production runs `flask reminders send` every minute instead.
        "REMINDERS_IN_PROCESS": _env_flag("REMINDERS_IN_PROCESS", False),
        # Push endpoints on loopback (http too): only the tests set it, whose push service stands
        # in on 127.0.0.1. Otherwise the sender connects only to public addresses.
        "PUSH_ALLOW_LOOPBACK": False,
        **COMPRESSION,
    }


# Flask-Compress: text answers go out as brotli or gzip, whichever the browser accepts (a phone
# on a weak signal loads the timeline in a fifth of the bytes). Photos are JPEG, already
# compressed, and never listed. Static files are streamed, so they get brotli (Flask-Compress
# streams no gzip); a strong ETag becomes "<etag>:br" and If-None-Match is still answered 304.
COMPRESSION = {
    "COMPRESS_MIMETYPES": [
        "text/html",
        "text/css",
        "text/javascript",  # what Flask sends for .js files and /sw.js
        "application/javascript",
        "application/json",
        "application/manifest+json",
        "image/svg+xml",
    ],
    "COMPRESS_ALGORITHM": ["br", "gzip"],
    "COMPRESS_ALGORITHM_STREAMING": ["br"],
    "COMPRESS_BR_LEVEL": 5,
    "COMPRESS_MIN_SIZE": 500,  # below this the headers cost more than the saving
}
