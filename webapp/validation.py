"""Validation of what a patient sends: one set of rules for the HTML forms and the JSON API.

Functions take plain dicts (parsed JSON, or form fields converted by the diary blueprint) and return
clean values, or raise `Invalid` naming every bad field with a sentence a patient understands.
No Flask here.
"""

from __future__ import annotations

import math
import uuid as uuid_module
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from .vocabulary import (
    AFTERCARE,
    AREAS,
    DEVICES,
    MAX_NOTES_LENGTH,
    MAX_SHORT_TEXT_LENGTH,
    NEEDLE_DEPTH_MAX_MM,
    NEEDLE_DEPTH_MIN_MM,
    RATING_MAX,
    RATINGS,
    RED_FLAGS,
    SETTINGS,
    SEVERITY_MAX,
    TOPICALS,
)

EARLIEST_DATE = date(2000, 1, 1)


class Invalid(ValueError):
    """Bad input. `fields` maps each field name to what is wrong with it."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("; ".join(f"{name}: {problem}" for name, problem in fields.items()))
        self.fields = fields


@dataclass
class EntryData:
    date: date
    ratings: dict[str, int | None]
    pie_severity: int | None
    pih_severity: int | None
    red_flags: list[str] = field(default_factory=list)
    aftercare: list[str] = field(default_factory=list)
    notes: str = ""
    client_updated_at: datetime | None = None


@dataclass
class SessionData:
    date: date
    device: str
    needle_depth_mm: float
    areas: list[str]
    topicals: list[str]
    setting: str
    provider: str
    notes: str
    client_updated_at: datetime | None = None


def parse_uuid(value: object) -> str:
    """Canonical lower-case UUID text, or Invalid."""
    try:
        return str(uuid_module.UUID(str(value)))
    except ValueError:
        raise Invalid({"id": "must be a UUID"}) from None


def parse_entry(payload: object, *, latest_date: date) -> EntryData:
    """Validate a daily entry. `latest_date` is today where the patient is: no future entries."""
    data = _require_object(payload)
    problems: dict[str, str] = {}
    entry_date = _date(data, "date", problems, latest_date=latest_date)
    ratings_in = data.get("ratings", {})
    ratings: dict[str, int | None] = {}
    if ratings_in is None:
        ratings_in = {}
    if not isinstance(ratings_in, dict):
        problems["ratings"] = "must be an object of ratings"
        ratings_in = {}
    unknown = set(ratings_in) - set(RATINGS)
    if unknown:
        problems["ratings"] = "unknown rating: " + ", ".join(sorted(map(str, unknown)))
    for name, label in RATINGS.items():
        ratings[name] = _optional_int(
            ratings_in.get(name), f"ratings.{name}", 0, RATING_MAX, problems, label
        )
    pie = _optional_int(data.get("pie_severity"), "pie_severity", 0, SEVERITY_MAX, problems)
    pih = _optional_int(data.get("pih_severity"), "pih_severity", 0, SEVERITY_MAX, problems)
    red_flags = _choices(data, "red_flags", RED_FLAGS, problems)
    aftercare = _choices(data, "aftercare", AFTERCARE, problems)
    notes = _text(data, "notes", MAX_NOTES_LENGTH, problems)
    client_updated_at = _timestamp(data, problems)
    if problems or entry_date is None:
        raise Invalid(problems)
    return EntryData(entry_date, ratings, pie, pih, red_flags, aftercare, notes, client_updated_at)


def parse_session(payload: object, *, latest_date: date) -> SessionData:
    """Validate a treatment session record."""
    data = _require_object(payload)
    problems: dict[str, str] = {}
    session_date = _date(data, "date", problems, latest_date=latest_date)
    device = data.get("device")
    if not _one_of(device, DEVICES):
        problems["device"] = "choose one of: " + ", ".join(DEVICES)
    depth = data.get("needle_depth_mm")
    if isinstance(depth, bool) or not isinstance(depth, int | float) or not math.isfinite(depth):
        problems["needle_depth_mm"] = "must be a number of millimetres"
    elif not NEEDLE_DEPTH_MIN_MM <= depth <= NEEDLE_DEPTH_MAX_MM:
        problems["needle_depth_mm"] = (
            f"must be between {NEEDLE_DEPTH_MIN_MM} and {NEEDLE_DEPTH_MAX_MM} mm"
        )
    areas = _choices(data, "areas", AREAS, problems)
    if not areas and "areas" not in problems:
        problems["areas"] = "choose at least one treated area"
    topicals = _choices(data, "topicals", TOPICALS, problems)
    setting = data.get("setting", "clinic")
    if not _one_of(setting, SETTINGS):
        problems["setting"] = "choose clinic or home"
    provider = _text(data, "provider", MAX_SHORT_TEXT_LENGTH, problems)
    notes = _text(data, "notes", MAX_NOTES_LENGTH, problems)
    client_updated_at = _timestamp(data, problems)
    if problems or session_date is None:
        raise Invalid(problems)
    return SessionData(
        session_date,
        str(device),
        round(float(depth), 2),  # type: ignore[arg-type]
        areas,
        topicals,
        str(setting),
        provider,
        notes,
        client_updated_at,
    )


def _one_of(value: object, names: Mapping[str, str]) -> bool:
    # A list or an object from JSON cannot be looked up in a dict (TypeError, a 500): only a
    # string can name a choice.
    return isinstance(value, str) and value in names


def parse_area(value: object) -> str:
    if not _one_of(value, AREAS):
        raise Invalid({"area": "choose one of: " + ", ".join(AREAS)})
    return str(value)


def _require_object(payload: object) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise Invalid({"_": "expected a JSON object"})
    return payload


def _date(
    data: dict[str, Any], name: str, problems: dict[str, str], *, latest_date: date
) -> date | None:
    raw = data.get(name)
    if not isinstance(raw, str):
        problems[name] = "must be a date like 2026-11-20"
        return None
    try:
        value = date.fromisoformat(raw)
    except ValueError:
        problems[name] = "must be a date like 2026-11-20"
        return None
    if value > latest_date:
        problems[name] = "cannot be in the future"
    elif value < EARLIEST_DATE:
        problems[name] = "is too far in the past"
    return value


def _optional_int(
    value: object,
    name: str,
    low: int,
    high: int,
    problems: dict[str, str],
    label: str | None = None,
) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        problems[name] = f"{label or 'value'} must be a whole number from {low} to {high}"
        return None
    if not low <= value <= high:
        problems[name] = f"{label or 'value'} must be from {low} to {high}"
        return None
    return value


def _choices(
    data: dict[str, Any], name: str, allowed: dict[str, str], problems: dict[str, str]
) -> list[str]:
    raw = data.get(name, [])
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
        problems[name] = "must be a list of names"
        return []
    unknown = [item for item in raw if item not in allowed]
    if unknown:
        problems[name] = "unknown: " + ", ".join(sorted(set(unknown))[:5])
        return []
    # Keep the vocabulary's order and drop repeats, so equal answers compare equal.
    return [name_ for name_ in allowed if name_ in raw]


def _text(data: dict[str, Any], name: str, limit: int, problems: dict[str, str]) -> str:
    raw = data.get(name, "")
    if raw is None:
        return ""
    if not isinstance(raw, str):
        problems[name] = "must be text"
        return ""
    if "\x00" in raw:
        problems[name] = "contains a character that is not allowed"
        return ""
    text = raw.strip()
    if len(text) > limit:
        problems[name] = f"is too long (at most {limit} characters)"
    return text


def _timestamp(data: dict[str, Any], problems: dict[str, str]) -> datetime | None:
    raw = data.get("client_updated_at")
    if raw is None:
        return None
    if not isinstance(raw, str):
        problems["client_updated_at"] = "must be an ISO 8601 timestamp"
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        problems["client_updated_at"] = "must be an ISO 8601 timestamp"
        return None
    if value.tzinfo is None:
        problems["client_updated_at"] = "must include a timezone (e.g. Z)"
        return None
    return value.astimezone(UTC)
