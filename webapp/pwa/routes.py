"""The installable app: the web app manifest, the service worker at the site root, the offline page.

The service worker lives in static/sw.js but must be served from /sw.js to control the whole site
(scope /). Its cache version is the hash of the files it pre-caches, so any change to the app shell
makes a new cache and the old one is dropped on activate.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path

from flask import current_app, render_template
from flask_login import current_user

from . import bp
from .account import account_tag

# The app shell: what a phone needs to open the log and session forms with no signal. The service
# worker pre-caches these (plus the offline page); their bytes make its cache version.
SHELL_STATIC = (
    "css/app.css",
    "js/confirm.js",
    "js/timezone.js",
    "js/sw-register.js",
    "js/logout.js",
    "js/outbox/db.js",
    "js/outbox/item.js",
    "js/outbox/queue.js",
    "js/outbox/backoff.js",
    "js/outbox/api.js",
    "js/outbox/replay.js",
    "js/outbox/sync.js",
    "js/outbox/photos.js",
    "js/outbox/form-values.js",
    "js/outbox/form-queue.js",
    "js/outbox/queued-photos.js",
    "js/outbox/notice.js",
    "js/outbox/save-flow.js",
    "js/outbox/forms.js",
    "js/outbox/flash.js",
    "js/outbox/status.js",
    "js/outbox/autosync.js",
    "js/outbox/deletes.js",
    "js/outbox/pending-entries.js",
    "js/offline-copy.js",
    "js/offline-page.js",
    "js/log-date.js",
    "js/day-badge.js",
    "js/same-as-last.js",
    "js/photo-picker.js",
    "css/camera.css",
    "js/camera/slots.js",
    "js/camera/shutter.js",
    "js/camera/camera.js",
    "js/camera/ghost.js",
    "js/camera/meter.js",
    "js/camera/gates.js",
    "js/reminders/push.js",
    "js/reminders/device.js",
    "js/timeline.js",  # the compare slider of the timeline pages kept as offline copies
    "icons/icon-192.png",
    "icons/icon-512.png",
    "icons/icon-maskable-512.png",
    "manifest.webmanifest",
)


def shell_urls() -> list[str]:
    """The URLs the service worker pre-caches: the offline page and the static shell files."""
    # The manifest has a route of its own at the root, where the pages link it.
    return ["/offline"] + [
        f"/{name}" if name == "manifest.webmanifest" else f"/static/{name}" for name in SHELL_STATIC
    ]


@lru_cache(maxsize=4)
def _shell_version(static_folder: str, sw_mtime: float) -> str:
    digest = hashlib.sha256()
    for name in ("sw.js", *SHELL_STATIC):
        path = Path(static_folder, name)
        digest.update(name.encode())
        digest.update(path.read_bytes() if path.exists() else b"-")
    return digest.hexdigest()[:12]


@bp.get("/sw.js")
def service_worker():
    static = Path(current_app.static_folder or "")
    source = static / "sw.js"
    version = _shell_version(str(static), source.stat().st_mtime)
    body = (
        source.read_text(encoding="utf-8")
        .replace("__SHELL_VERSION__", version)
        .replace("__SHELL_FILES__", json.dumps(shell_urls()))
    )
    response = current_app.response_class(body, mimetype="text/javascript")
    response.headers["Service-Worker-Allowed"] = "/"
    # The browser must see a new worker at once; it checks this file on every navigation.
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/manifest.webmanifest")
def manifest():
    body = Path(current_app.static_folder or "", "manifest.webmanifest").read_bytes()
    response = current_app.response_class(body, mimetype="application/manifest+json")
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/offline")
def offline():
    """Shown by the service worker for a page that cannot work without the server."""
    response = current_app.make_response(render_template("pwa/offline.html"))
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.app_context_processor
def account_context():
    tag = ""
    if current_user.is_authenticated:
        tag = account_tag(current_app.config["SECRET_KEY"], current_user.id)
    return {"account_tag": tag}
