"""The progress timeline of one patient: read (read.py) → align (align.py) → present (here).

`build_timeline(user, ...)` is what the patient's timeline pages, the dermatologist's shared view
and the PDF report all start from. It runs four queries whatever the length of the history
(sessions, entries, photos, days with warning signs; three when photos are left out), hands the
rows to the pure maths in `progress` and `summary`, and returns a `Timeline` of plain data.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from .. import progress
from ..models import User
from ..progress import DARK_MARKS, METRICS, RED_MARKS, DayRecord
from ..vocabulary import tracks_pie, tracks_pih
from .align import Aligned, align, busiest_area, with_measured
from .read import read_history
from .view import Timeline

RATED_METRICS = ("redness", "swelling", "pie_severity", "pih_severity")


def build_timeline(
    user: User,
    *,
    date_from: date | None = None,
    date_to: date | None = None,
    include_photos: bool = True,
    metric: str = "redness",
    measure_area: str | None = None,
    include_poor: bool = False,
) -> Timeline:
    """Everything the timeline views show for `user`, within [date_from, date_to] when given.

    Sessions are numbered over the whole history (session 3 stays session 3 in a shared range).
    Without photos there are no measured metrics either: they come from the photos' marks, of
    the photos good enough to measure (poor-quality ones too when `include_poor`). An unknown
    `metric` falls back to redness.
    """
    history = read_history(
        user, date_from=date_from, date_to=date_to, include_photos=include_photos
    )
    return _present(
        align(history, date_from, date_to),
        today=history.today,
        track=user.track,
        metric=metric,
        measure_area=measure_area,
        date_from=date_from,
        date_to=date_to,
        include_photos=include_photos,
        include_poor=include_poor,
        flagged=history.flagged,
    )


def _present(
    aligned: Aligned,
    *,
    today: date,
    track: str,
    metric: str,
    measure_area: str | None,
    date_from: date | None,
    date_to: date | None,
    include_photos: bool,
    include_poor: bool,
    flagged: Sequence[tuple[date, list[str]]],
) -> Timeline:
    """The curves, series and summary of the chosen metric, measured on the chosen area."""
    photos_by_area = aligned.photos_by_area
    if measure_area not in photos_by_area:
        measure_area = busiest_area(photos_by_area)
    values_by_date = aligned.values_by_date
    measured: tuple[str, ...] = ()
    if measure_area is not None:
        items = photos_by_area[measure_area]
        values_by_date = with_measured(values_by_date, items, include_poor=include_poor)
        if any(item.marks is not None for item in items):
            measured = _measured_metrics(track)
    available = [METRICS[key] for key in RATED_METRICS + measured]
    chosen = METRICS.get(metric)
    if chosen not in available:
        chosen = METRICS["redness"]
    days = [DayRecord(day, values) for day, values in values_by_date.items()]
    matched = ["pie_severity", "pih_severity", *measured]
    matched_day = progress.matched_day(aligned.cycles)
    series = progress.series_rows(aligned.cycles, days, matched, matched_day)
    tracked = [
        key
        for key, on in (("pie_severity", tracks_pie(track)), ("pih_severity", tracks_pih(track)))
        if on
    ]
    return Timeline(
        metric=chosen,
        metrics=available,
        track=track,
        today=today,
        date_from=date_from,
        date_to=date_to,
        sessions=aligned.sessions,
        curves=progress.recovery_curves(aligned.cycles, days, chosen.key),
        series=series,
        summary=progress.summary_lines(series, tracked, matched_day),
        entry_count=len(values_by_date),
        include_photos=include_photos,
        measure_area=measure_area,
        measured_metrics=list(measured),
        include_poor=include_poor,
        photos_by_area=photos_by_area,
        calendar=aligned.calendar,
        matched_day=matched_day,
        days=days,
        flagged=list(flagged),
    )


def _measured_metrics(track: str) -> tuple[str, ...]:
    """The marks measured for what the patient tracks: red marks (PIE), dark marks (PIH)."""
    return (RED_MARKS if tracks_pie(track) else ()) + (DARK_MARKS if tracks_pih(track) else ())
