"""The timeline's align step, pure: the rows read (read.py) placed on the session calendar.

Sessions get their number over the whole history (session 3 stays session 3 in a shared range),
each logged day its values, each photo its session and day since it. No database, no Flask.
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from operator import attrgetter

from .. import photo_choice, progress
from ..photo_choice import PhotoItem
from ..progress import Cycle, SessionCalendar
from ..vocabulary import AREAS
from .read import EntryRow, History, PhotoRow

DailyValues = dict[date, dict[str, float | None]]


@dataclass(frozen=True)
class SessionInfo:
    number: int
    uuid: str
    date: date
    device: str
    needle_depth_mm: float
    areas: tuple[str, ...]
    last_day: int


@dataclass(frozen=True)
class Aligned:
    calendar: SessionCalendar  # every live session, numbered over the whole history
    sessions: list[SessionInfo]  # those within the range
    cycles: list[Cycle]  # theirs
    values_by_date: DailyValues  # the rated metrics of each logged day
    photos_by_area: dict[str, list[PhotoItem]]  # in AREAS order, each oldest first


def align(history: History, date_from: date | None, date_to: date | None) -> Aligned:
    dates = [row.date for row in history.sessions]  # oldest first, as read
    today = min(history.today, date_to or history.today)
    sessions, cycles = [], []
    for row, cycle in zip(history.sessions, progress.cycles(dates, today=today), strict=True):
        if (date_from is None or row.date >= date_from) and (
            date_to is None or row.date <= date_to
        ):
            areas = tuple(row.areas or ())
            info = SessionInfo(
                cycle.number,
                row.uuid,
                row.date,
                row.device,
                row.needle_depth_mm,
                areas,
                cycle.last_day,
            )
            sessions.append(info)
            cycles.append(cycle)
    values_by_date, entry_dates = _daily_values(history.entries)
    photos = _photos_by_area(history.photos, entry_dates, dates)
    return Aligned(SessionCalendar(dates), sessions, cycles, values_by_date, photos)


def _daily_values(entries: Sequence[EntryRow]) -> tuple[DailyValues, dict[int, date]]:
    """Each logged day's rated values, and each entry's date by id (photos carry only the id)."""
    values_by_date: DailyValues = {}
    entry_dates: dict[int, date] = {}
    for entry_id, day, redness, swelling, pie, pih in entries:
        entry_dates[entry_id] = day
        values_by_date[day] = {
            "redness": redness,
            "swelling": swelling,
            "pie_severity": pie,
            "pih_severity": pih,
        }
    return values_by_date, entry_dates


def _photos_by_area(
    photos: Sequence[PhotoRow], entry_dates: dict[int, date], session_dates: list[date]
) -> dict[str, list[PhotoItem]]:
    grouped: dict[str, list[PhotoItem]] = {}
    # (session number, days since it) per day, as SessionCalendar.align() computes it, without
    # making an Alignment per photo: this loop runs for every photo of the history.
    aligned: dict[date, tuple[int | None, int | None]] = {}
    for uuid, area, entry_id, width, height, key, lab_a, ita, measures in photos:
        day = entry_dates.get(entry_id)
        if day is None:  # logged after the entries were read: next time
            continue
        alignment = aligned.get(day)
        if alignment is None:
            number = bisect.bisect_right(session_dates, day)
            alignment = aligned[day] = (
                (number, (day - session_dates[number - 1]).days) if number else (None, None)
            )
        quality, marks, fit = json.loads(measures)  # read.py's one array of the three
        grouped.setdefault(area, []).append(
            PhotoItem(
                uuid, area, day, *alignment, width, height, key, lab_a, ita, quality, marks, fit
            )
        )
    by_date = attrgetter("date")
    for items in grouped.values():
        items.sort(key=by_date)  # read by id, so nearly sorted already: a pass or two
    order = list(AREAS)
    return {area: grouped[area] for area in sorted(grouped, key=order.index)}


def busiest_area(photos_by_area: dict[str, list[PhotoItem]]) -> str | None:
    """The most photographed area (the first in AREAS on a tie): whose photos are measured."""
    order = list(AREAS)
    return max(
        photos_by_area,
        key=lambda area: (len(photos_by_area[area]), -order.index(area)),
        default=None,
    )


def with_measured(
    values_by_date: DailyValues, items: Sequence[PhotoItem], *, include_poor: bool = False
) -> DailyValues:
    """`values_by_date` plus each day's measured marks (progress.MARK_METRICS): the mean over
    that day's photos of one area (`items`) that count (photo_choice.counts_for_measure: poor
    photos only when `include_poor`). A new mapping: the aligned values stay as read."""
    measured = photo_choice.daily_marks(
        (item.date, item.marks)
        for item in items
        if item.marks is not None and item.counts(include_poor=include_poor)
    )
    merged = dict(values_by_date)
    for day, values in measured.items():
        merged[day] = {**merged.get(day, {}), **values}
    return merged
