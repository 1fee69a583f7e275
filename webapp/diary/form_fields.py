"""Turn posted HTML form fields into the payload shape `validation` checks (the API's shape too)."""

from __future__ import annotations

from typing import Any

from werkzeug.datastructures import MultiDict

from ..vocabulary import RATINGS


def _int_or_text(raw: str | None) -> int | str | None:
    """ "" means not answered; digits become a number; anything else is left for the validator."""
    if raw is None or raw.strip() == "":
        return None
    text = raw.strip()
    return int(text) if text.isdigit() and len(text) < 6 else text


def _number_or_text(raw: str | None) -> float | str | None:
    if raw is None or raw.strip() == "":
        return None
    try:
        return float(raw.strip().replace(",", "."))
    except ValueError:
        return raw


def entry_payload(form: MultiDict) -> dict[str, Any]:
    return {
        "date": form.get("date", ""),
        "ratings": {name: _int_or_text(form.get(name)) for name in RATINGS},
        "pie_severity": _int_or_text(form.get("pie_severity")),
        "pih_severity": _int_or_text(form.get("pih_severity")),
        "red_flags": form.getlist("red_flags"),
        "aftercare": form.getlist("aftercare"),
        "notes": form.get("notes", ""),
    }


def session_payload(form: MultiDict) -> dict[str, Any]:
    return {
        "date": form.get("date", ""),
        "device": form.get("device", ""),
        "needle_depth_mm": _number_or_text(form.get("needle_depth_mm")),
        "areas": form.getlist("areas"),
        "topicals": form.getlist("topicals"),
        "setting": form.get("setting", "clinic"),
        "provider": form.get("provider", ""),
        "notes": form.get("notes", ""),
    }


def form_values_from_entry(entry_dict: dict[str, Any]) -> dict[str, Any]:
    """Flatten an entry's dict (ratings nested) into the form's field names."""
    values = dict(entry_dict)
    values.update(entry_dict.get("ratings") or {})
    return values
