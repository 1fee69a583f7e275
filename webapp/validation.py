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
from datetime import UTC, date, datetime, time, timedelta
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
EARLIEST_STAMP = datetime.combine(EARLIEST_DATE, time(), UTC)
# How far a client's edit stamp may run ahead of the server's clock: a phone a little fast is
# common, but last writer wins on the stamp, so one from a clock set to 2099 would beat every
# later edit forever.
MAX_CLOCK_SKEW = timedelta(minutes=5)

ENTRY_FIELDS = frozenset(
    {
        "date",
        "ratings",
        "pie_severity",
        "pih_severity",
        "red_flags",
        "aftercare",
        "notes",
        "client_updated_at",
    }
)
SESSION_FIELDS = frozenset(
    {
        "date",
        "device",
        "needle_depth_mm",
        "areas",
        "topicals",
        "setting",
        "provider",
        "notes",
        "client_updated_at",
    }
)
# What the API adds to its answers (serializers.py). A client may send a stored
# version back as it came, so these are ignored; any other unknown key is refused, as dropping it
# would silently lose what the client meant (a "redness" outside "ratings").
ENTRY_ANSWER_ONLY = frozenset(
    {"id", "created_at", "updated_at", "deleted", "session_number", "days_since_session", "photos"}
)
SESSION_ANSWER_ONLY = frozenset({"id", "created_at", "updated_at", "deleted"})


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


def parse_entry(payload: object, *, latest_date: date, now: datetime | None = None) -> EntryData:
    """Validate a daily entry. `latest_date` is today where the patient is: no future entries.
    `now` is the server's clock, which `client_updated_at` may not run ahead of (default: read it).
    """
    data = _require_object(payload)
    problems = _unknown_fields(data, ENTRY_FIELDS | ENTRY_ANSWER_ONLY)
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
    client_updated_at = _client_stamp(data, problems, now)
    if problems or entry_date is None:
        raise Invalid(problems)
    return EntryData(entry_date, ratings, pie, pih, red_flags, aftercare, notes, client_updated_at)


def parse_session(
    payload: object, *, latest_date: date, now: datetime | None = None
) -> SessionData:
    """Validate a treatment session record; `latest_date` and `now` as for parse_entry."""
    data = _require_object(payload)
    problems = _unknown_fields(data, SESSION_FIELDS | SESSION_ANSWER_ONLY)
    session_date = _date(data, "date", problems, latest_date=latest_date)
    device = data.get("device")
    if not _one_of(device, DEVICES):
        problems["device"] = "choose one of: " + ", ".join(DEVICES)
    depth = data.get("needle_depth_mm")
    # Only a float can be infinite or NaN; math.isfinite() on a huge int overflows instead.
    if (
        isinstance(depth, bool)
        or not isinstance(depth, int | float)
        or (isinstance(depth, float) and not math.isfinite(depth))
    ):
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
    client_updated_at = _client_stamp(data, problems, now)
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


def parse_timestamp(raw: object, *, name: str) -> datetime:
    """An ISO 8601 instant with a timezone, in UTC, or Invalid naming `name`.

    The one parser for every timestamp a client sends, in a body or in a query string, so the
    rules cannot differ between them.
    """
    if not isinstance(raw, str):
        raise Invalid({name: "must be an ISO 8601 timestamp"})
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise Invalid({name: "must be an ISO 8601 timestamp"}) from None
    if value.tzinfo is None:
        raise Invalid({name: "must include a timezone (e.g. Z)"})
    try:
        return value.astimezone(UTC)
    except OverflowError:
        # 9999-12-31T23:59:59-01:00 is a valid string whose instant lies after year 9999.
        raise Invalid({name: "is not a possible date and time"}) from None


def parse_client_stamp(raw: object, *, now: datetime, name: str = "client_updated_at") -> datetime:
    """When a client made a change (a body's `client_updated_at`, DELETE's query argument): a
    timestamp as parse_timestamp reads it, from 2000 on and at most MAX_CLOCK_SKEW ahead of `now`,
    the server's clock."""
    value = parse_timestamp(raw, name=name)
    if value > now + MAX_CLOCK_SKEW:
        raise Invalid({name: "is ahead of the server's clock: check this device's date and time"})
    if value < EARLIEST_STAMP:
        raise Invalid({name: "is before 2000: check this device's date and time"})
    return value


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


def _unknown_fields(data: dict[str, Any], known: frozenset[str]) -> dict[str, str]:
    """A problem for each key that is not in `known`, to which the other fields' are added."""
    problems: dict[str, str] = {}
    for name in data:
        if name in known:
            continue
        if name in RATINGS:
            problems[str(name)] = 'is a rating: put it inside "ratings"'
        else:
            problems[str(name)] = "is not a field we know"
    return problems


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
    if not _storable(raw):
        problems[name] = "contains a character that is not allowed"
        return ""
    text = raw.strip()
    if len(text) > limit:
        problems[name] = f"is too long (at most {limit} characters)"
    return text


def _storable(text: str) -> bool:
    # PostgreSQL refuses NUL in text; a lone surrogate ("\ud83d" is valid JSON) has no UTF-8
    # encoding, so the database driver would fail on it.
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _client_stamp(
    data: dict[str, Any], problems: dict[str, str], now: datetime | None
) -> datetime | None:
    raw = data.get("client_updated_at")
    if raw is None:
        return None  # the server stamps the write (records)
    try:
        return parse_client_stamp(raw, now=datetime.now(UTC) if now is None else now)
    except Invalid as invalid:
        problems.update(invalid.fields)
        return None
