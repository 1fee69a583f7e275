"""The phone's copy of the patient's last month, carried by the offline log form (?shell=1).

With no signal, the service worker serves one blank log form for every day. So that picking a
day that already has an entry opens that entry instead of writing over it blind, the form carries
each recent entry's id, form values and photos (static/js/log-date.js fills the form from it).
The copy is as fresh as the form: the service worker fetches it again on every page seen online.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from .. import records
from ..models import User
from ..serializers import entry_json
from ..vocabulary import RATINGS
from .form_fields import form_values_from_entry

# Days the copy covers, today included: recent enough for backfilling, small enough to fetch often.
PHONE_COPY_DAYS = 31
FIELDS = (*RATINGS, "pie_severity", "pih_severity", "red_flags", "aftercare", "notes")


def phone_copy(user: User, *, today: date) -> dict[str, Any]:
    """{as_of, since, entries: {day: {id, values, photos: [{id, area}]}}}. A day from `since` on
    that is missing had no entry when the copy was made (`as_of`); of earlier days the copy
    knows nothing."""
    as_of = datetime.now(UTC).replace(microsecond=0)
    since = today - timedelta(days=PHONE_COPY_DAYS - 1)
    copy: dict[str, Any] = {}
    for entry in records.recent_entries(user, since):
        values = form_values_from_entry(entry_json(entry))
        copy[entry.date.isoformat()] = {
            "id": entry.uuid,
            "values": {name: values[name] for name in FIELDS},
            "photos": [{"id": photo.uuid, "area": photo.area} for photo in entry.photos],
        }
    return {"as_of": as_of.isoformat(), "since": since.isoformat(), "entries": copy}
