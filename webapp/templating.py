"""Jinja filters and globals: dates in the patient's timezone, the domain's labels, what a photo
measured."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Flask
from flask_login import current_user

from . import vocabulary
from .auth.forms import TIMEZONES
from .summary import photo_measures


def coarse_device(user_agent: str) -> str:
    """'Safari on iPhone'-level detail: enough for a patient to recognise a device, no more."""
    agent = user_agent or ""
    platform = next(
        (
            name
            for marker, name in [
                ("iPhone", "iPhone"),
                ("iPad", "iPad"),
                ("Android", "Android"),
                ("Windows", "Windows"),
                ("Macintosh", "Mac"),
                ("Linux", "Linux"),
            ]
            if marker in agent
        ),
        "unknown device",
    )
    browser = next(
        (
            name
            for marker, name in [
                ("Edg/", "Edge"),
                ("Firefox/", "Firefox"),
                ("Chrome/", "Chrome"),
                ("Chromium/", "Chromium"),
                ("Safari/", "Safari"),
            ]
            if marker in agent
        ),
        "a browser",
    )
    return f"{browser} on {platform}"


def local_datetime(value: datetime | None, fmt: str = "%d %b %Y, %H:%M") -> str:
    if value is None:
        return ""
    zone_name = getattr(current_user, "timezone", None) or "UTC"
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return value.astimezone(zone).strftime(fmt)


def init_app(app: Flask) -> None:
    app.jinja_env.filters["coarse_device"] = coarse_device
    app.jinja_env.filters["local_datetime"] = local_datetime
    app.jinja_env.globals.update(
        timezones=TIMEZONES,
        vocab=vocabulary,
        photo_measures=photo_measures,
    )
