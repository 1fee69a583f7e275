"""What a share link shows, as plain data: the rows of the shared page and the PDF report.

public.py fills these from the database and report.py draws them. This module imports neither
Flask nor the models, so a report can be made, and tested, from made-up data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import NamedTuple

from ..photo_choice import PhotoItem
from ..progress import SessionCalendar
from ..summary import BeforeAndNow, WarningSign


class DayRow(NamedTuple):
    """One day of the ratings table: ratings 0-10, PIE/PIH severity 0-4, None when not rated."""

    date: date
    redness: int | None
    swelling: int | None
    pain: int | None
    itching: int | None
    dryness: int | None
    bruising: int | None
    pie_severity: int | None
    pih_severity: int | None
    notes: str  # "" when the link leaves notes out: they are not even read then


class SessionRow(NamedTuple):
    number: int  # counted over the whole history: session 3 stays 3 in a shared range
    date: date
    device: str
    needle_depth_mm: float
    areas: tuple[str, ...]
    setting: str


class PhotoPair(NamedTuple):
    """Two photos of one area at matched days: after the first and after the latest session."""

    area: str
    first: PhotoItem
    latest: PhotoItem


@dataclass(frozen=True)
class ReportContent:
    patient_name: str
    track: str
    fitzpatrick: str | None  # skin type, "I" to "VI"
    date_from: date | None
    date_to: date | None
    summary: str
    sessions: list[SessionRow]
    charts: list[tuple[str, str]]  # (title, SVG markup)
    photo_pairs: list[PhotoPair]  # empty when the link leaves photos out
    days: list[DayRow]
    calendar: SessionCalendar  # aligns a day to its session ("S2 D10")
    include_notes: bool
    warning_signs: list[WarningSign] = field(default_factory=list)  # first, on page 1
    headline: list[str] = field(default_factory=list)  # "is it working?" in numbers, next
    # per area, the baseline photo against the latest: on page 1, after the charts
    before_and_now: list[BeforeAndNow] = field(default_factory=list)
