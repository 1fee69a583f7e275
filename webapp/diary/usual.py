"""What a patient usually logs, so that a typical day takes a few taps: the last entry before a
day ("Same as yesterday" on the log form), the areas they usually photograph, and each area's
last photo (the camera's ghost)."""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

import sqlalchemy as sa

from ..extensions import db
from ..models import Entry, Photo, User
from ..serializers import entry_json
from .form_fields import form_values_from_entry

# "Same as yesterday" copies how the skin felt and the aftercare: never warning signs or notes,
# which are about one day only.
SAME_AS_LAST = (
    "redness", "swelling", "pain", "itching", "dryness", "bruising",
    "pie_severity", "pih_severity", "aftercare",
)  # fmt: skip
# Photos counted for the usual areas: the recent ones say what the patient photographs now.
USUAL_AREAS_FROM_PHOTOS = 60


def last_entry_before(user: User, day: date) -> dict[str, Any] | None:
    """{date, label, values} of the latest live entry before `day` (values: SAME_AS_LAST)."""
    entry = db.session.execute(
        db.select(Entry)
        .where(Entry.user_id == user.id, Entry.deleted_at.is_(None), Entry.date < day)
        .order_by(Entry.date.desc())
        .limit(1)
    ).scalar_one_or_none()
    if entry is None:
        return None
    values = form_values_from_entry(entry_json(entry))
    when = "yesterday" if (day - entry.date).days == 1 else f"{entry.date.day} {entry.date:%b}"
    return {
        "date": entry.date.isoformat(),
        "label": f"Same as {when}",
        "values": {name: values[name] for name in SAME_AS_LAST},
    }


def usual_areas(user: User, defaults: tuple[str, ...]) -> list[str]:
    """The areas of the patient's recent photos, most photographed first, then `defaults`."""
    areas = db.session.execute(
        db.select(Photo.area)
        .join(Entry, Photo.entry_id == Entry.id)
        .where(Entry.user_id == user.id, Entry.deleted_at.is_(None))
        .order_by(Entry.date.desc())
        .limit(USUAL_AREAS_FROM_PHOTOS)
    ).scalars()
    counted = [area for area, _ in Counter(areas).most_common()]
    return counted + [area for area in defaults if area not in counted]


def last_photo_by_area(user: User) -> dict[str, str]:
    """{area: uuid} of each area's latest live photo (by the entry's day, then as stored): the
    camera shows it as a ghost over the live view, so that today's photo is framed the same."""
    latest = (
        sa.func.row_number()
        .over(partition_by=Photo.area, order_by=(Entry.date.desc(), Photo.id.desc()))
        .label("latest")
    )
    ranked = (
        db.select(Photo.area, Photo.uuid, latest)
        .join(Entry, Photo.entry_id == Entry.id)
        .where(
            Photo.user_id == user.id,
            Entry.user_id == user.id,
            Photo.deleted_at.is_(None),
            Entry.deleted_at.is_(None),
        )
        .subquery()
    )
    rows = db.session.execute(db.select(ranked.c.area, ranked.c.uuid).where(ranked.c.latest == 1))
    return {area: photo_uuid for area, photo_uuid in rows}
