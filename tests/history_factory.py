"""A patient's history inserted straight into the database: for route tests and the benchmark.

Rows only (photos have no bytes behind them): the timeline reads rows; it never opens a photo.
Symptoms follow the shape of docs/domain.md: redness peaks on the session day and settles in days.
Each photo carries a quality, marks and an alignment shaped as imaging stores them (good, aligned;
the marks fade with the severities), so that the measured curves have data.
"""

from __future__ import annotations

import itertools
import math
import uuid
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

from webapp.extensions import db
from webapp.models import Entry, Photo, TreatmentSession
from webapp.records import claim_changes

QUALITY = {
    "verdict": "good",
    "reasons": [],
    "mean_l": 62.0,
    "clipped": 0.001,
    "sharpness": 140.0,
    "cast": 2.0,
}


def marks_for(pie: int, pih: int) -> dict[str, float | int | None]:
    """Marks as imaging.measure_marks gives them, as red and dark as the day's severities."""
    return {
        "delta_a": 3.0 + pie,
        "red_area": 0.01 * (1 + pie),
        "red_count": 1 + pie,
        "delta_l": -(2.0 + pih),
        "dark_area": 0.005 * (1 + pih),
        "dark_count": 1 + pih,
        "skin_fraction": 0.6,
    }


def add_history(
    user_id: int,
    *,
    days: int,
    session_every: int = 0,
    sessions: int = 0,
    photo_areas: tuple[str, ...] = ("left_cheek", "right_cheek"),
    end: date | None = None,
) -> None:
    """`days` daily entries ending on `end` (default today), `sessions` sessions every
    `session_every` days starting a week in, and one photo per area per day."""
    end = end or date.today()
    start = end - timedelta(days=days - 1)
    now = datetime.now(UTC)
    # Numbers of the patient's change sequence, as records.claim_changes hands them out.
    changes = itertools.count(claim_changes(user_id, sessions + days * (1 + len(photo_areas))))
    session_dates = [start + timedelta(days=7 + index * session_every) for index in range(sessions)]
    if session_dates:
        db.session.execute(
            sa.insert(TreatmentSession),
            [
                {
                    "uuid": str(uuid.uuid4()),
                    "user_id": user_id,
                    "date": session_date,
                    "device": "pen",
                    "needle_depth_mm": 1.0,
                    "areas": ["left_cheek", "right_cheek"],
                    "topicals": [],
                    "setting": "clinic",
                    "provider": "",
                    "notes": "",
                    "client_updated_at": now,
                    "created_at": now,
                    "updated_at": now,
                    "change_seq": next(changes),
                }
                for session_date in session_dates
            ],
        )
    entries = []
    for offset in range(days):
        day = start + timedelta(days=offset)
        since = [(day - d).days for d in session_dates if d <= day]
        peak = 7 * math.exp(-since[-1] / 2) if since else 0
        progress = offset / max(days, 1)
        entries.append(
            {
                "uuid": str(uuid.uuid4()),
                "user_id": user_id,
                "date": day,
                "redness": min(10, round(1 + peak)),
                "swelling": round(peak / 2),
                "pain": 0,
                "itching": 0,
                "dryness": 0,
                "bruising": 0,
                "pie_severity": max(0, round(3 - 2 * progress)),
                "pih_severity": max(0, round(2 - progress)),
                "red_flags": [],
                "aftercare": [],
                "notes": "",
                "client_updated_at": now,
                "created_at": now,
                "updated_at": now,
                "change_seq": next(changes),
            }
        )
    db.session.execute(sa.insert(Entry), entries)
    ids = dict(
        db.session.execute(
            sa.select(Entry.date, Entry.id).where(Entry.user_id == user_id, Entry.date >= start)
        ).all()
    )
    photos = []
    references: dict[str, str] = {}  # each area's first photo: the others are aligned to it
    for entry in entries:
        for area in photo_areas:
            key = uuid.uuid4().hex
            photo_uuid = str(uuid.uuid4())
            reference = references.setdefault(area, photo_uuid)
            photos.append(
                {
                    "uuid": photo_uuid,
                    "user_id": user_id,
                    "entry_id": ids[entry["date"]],
                    "area": area,
                    "storage_key": key,
                    "width": 1200,
                    "height": 900,
                    "byte_size": 100_000,
                    "sha256": key + key,
                    "lab_l": 62.0,
                    "lab_a": 14.0 + entry["redness"] / 2,
                    "lab_b": 17.0,
                    "ita_deg": 35.0 - entry["pih_severity"],
                    "quality": QUALITY,
                    "marks": marks_for(entry["pie_severity"], entry["pih_severity"]),
                    "alignment": {
                        "reference": None if reference == photo_uuid else reference,
                        "matrix": [1.0, 0.0, 0.0, 0.0, 1.0, 0.0],
                        "score": 0.9,
                        "aligned": True,
                    },
                    "client_updated_at": now,
                    "created_at": now,
                    "updated_at": now,
                    "change_seq": next(changes),
                }
            )
    if photos:
        db.session.execute(sa.insert(Photo), photos)
    db.session.commit()
