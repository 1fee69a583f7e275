"""The progress timeline of one patient, read from the database in a fixed number of queries.

`build_timeline(user, ...)` is what the patient's timeline pages, the dermatologist's shared view
and the PDF report all start from. It runs three queries whatever the length of the history
(sessions, entries, photos; two when photos are left out), hands the rows to the pure maths in
`progress`, and returns plain data: no ORM objects escape, so a template cannot trigger a lazy load.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from operator import attrgetter
from typing import Any, NamedTuple

import sqlalchemy as sa
from markupsafe import Markup

from .. import charts, imaging, progress
from ..extensions import db
from ..models import Entry, Photo, TreatmentSession, User
from ..progress import (
    METRICS,
    Curve,
    Cycle,
    DayRecord,
    Metric,
    PhotoItem,
    SeriesRow,
    SessionCalendar,
)
from ..records import user_today
from ..storage import PhotoStore
from ..vocabulary import AREAS, tracks_pie, tracks_pih

RATED_METRICS = ("redness", "swelling", "pie_severity", "pih_severity")
MEASURED_METRICS = ("lab_a", "ita")


class StripCell(NamedTuple):
    """One photo of a strip, with its text and URLs made: the strip template only prints.
    (A two-year strip of one area is 730 photos; each Jinja call and filter adds up.)"""

    full_url: str
    thumb_url: str
    alt: str  # "Left cheek, 03 Dec 2026, day 3 after session 2"
    when: str  # "03 Dec"
    label: str  # "day 3", or "before" the first session
    marker: int | None  # a session's number when this photo is the first after it
    marker_date: str  # that session's date, or "" when it lies outside the range shown


@dataclass(frozen=True)
class SessionInfo:
    number: int
    uuid: str
    date: date
    device: str
    needle_depth_mm: float
    areas: tuple[str, ...]
    last_day: int


@dataclass
class Timeline:
    metric: Metric
    metrics: list[Metric]  # the metrics this timeline can show
    track: str
    today: date
    date_from: date | None
    date_to: date | None
    sessions: list[SessionInfo]
    curves: list[Curve]
    series: list[SeriesRow]
    summary: list[str]
    entry_count: int
    include_photos: bool
    measure_area: str | None  # the area whose photos give the measured metrics
    photos_by_area: dict[str, list[PhotoItem]] = field(default_factory=dict)
    calendar: SessionCalendar = field(default_factory=lambda: SessionCalendar([]))
    _strips: dict[str, list[PhotoItem]] = field(default_factory=dict, repr=False)

    @property
    def has_data(self) -> bool:
        return bool(self.sessions or self.entry_count)

    @property
    def photo_count(self) -> int:
        return sum(len(items) for items in self.photos_by_area.values())

    def strip(self, area: str) -> list[PhotoItem]:
        """The short photo strip of an area: baseline, then key days of every cycle."""
        if area not in self._strips:
            self._strips[area] = progress.key_photos(self.photos_by_area.get(area, []))
        return self._strips[area]

    def strip_cells(
        self, area: str, photo_url: Callable[[PhotoItem, str], str], *, every: bool = False
    ) -> list[StripCell]:
        """The strip of `area` (every photo, or the key days) ready to print."""
        items = self.photos_by_area.get(area, []) if every else self.strip(area)
        session_dates = {s.number: s.date.strftime("%d %b %Y") for s in self.sessions}
        area_label = AREAS[area]
        cells = []
        shown = None
        for photo in items:
            number = photo.session_number
            marker = None
            if number and number != shown:
                marker = shown = number
            day = photo.date.strftime("%d %b %Y")
            label = photo.short_label
            after = f" after session {number}" if number else ""
            cells.append(
                StripCell(
                    full_url=photo_url(photo, "full"),
                    thumb_url=photo_url(photo, "thumb"),
                    alt=f"{area_label}, {day}, {label}{after}",
                    when=day[:6],
                    label=label,
                    marker=marker,
                    marker_date=session_dates.get(marker, "") if marker else "",
                )
            )
        return cells

    def default_pair(self, area: str | None = None) -> tuple[PhotoItem, PhotoItem] | None:
        """The photos the compare view opens with: `area`, else the most photographed area."""
        area = area or self.measure_area
        if area is None:
            return None
        return progress.default_pair(self.photos_by_area.get(area, []))

    def find_photo(self, photo_uuid: str) -> PhotoItem | None:
        for items in self.photos_by_area.values():
            for item in items:
                if item.uuid == photo_uuid:
                    return item
        return None

    def choose_photo(
        self, area: str | None, photo_uuid: str | None, near: date | None
    ) -> PhotoItem | None:
        """A photo of `area` picked by id (links), else the one nearest a date (the form)."""
        candidates = self.photos_by_area.get(area or "", [])
        for item in candidates:
            if item.uuid == photo_uuid:
                return item
        if near is None or not candidates:
            return None
        return min(candidates, key=lambda item: (abs((item.date - near).days), item.date))

    def recovery_chart(self, chart_id: str = "recovery") -> Markup:
        return charts.recovery_chart_svg(self.curves, self.metric, chart_id=chart_id)

    def series_chart(self, chart_id: str = "series") -> Markup:
        """PIE and PIH severity near day 28 of each cycle (the ones the patient tracks)."""
        lines = [
            charts.ChartSeries(
                METRICS[key].label,
                [value.value if (value := row.matched.get(key)) else None for row in self.series],
            )
            for key in self.severity_metrics
        ]
        return charts.series_chart_svg(
            [row.number for row in self.series],
            lines,
            low=0,
            high=4,
            axis_label="Severity near day 28, 0 clear – 4 severe",
            title="PIE and PIH severity near day 28 of each cycle",
            chart_id=chart_id,
        )

    @property
    def severity_metrics(self) -> list[str]:
        keys = []
        if tracks_pie(self.track):
            keys.append("pie_severity")
        if tracks_pih(self.track):
            keys.append("pih_severity")
        return keys

    def curve_table(self) -> list[tuple[int, list[str]]]:
        """The recovery curves as rows (day, value per session, formatted; "" for no entry):
        the charts' data table. Formatted here: 43 days x 12 sessions are 500 cells."""
        decimals = self.metric.decimals
        by_session = [
            {day: f"{value:.{decimals}f}" for day, value in curve.points} for curve in self.curves
        ]
        days = sorted({day for points in by_session for day in points})
        return [(day, [points.get(day, "") for points in by_session]) for day in days]

    def to_dict(self, *, all_photos: bool = False) -> dict[str, Any]:
        """The JSON shape of /timeline/data.json, compact: a two-year history has ~1,500 photos.

        `photos` maps an area to columns, one entry per photo, oldest first (the shape a chart
        library such as uPlot takes, and no brackets or keys repeated per photo):
        `id` (the photo's uuid: `photo_url` with {id} and {rendition} filled in is its image),
        `date_offset` (days after `photos_from`, the first photo's date), `session` and `day`
        (the session it follows and days since; null before the first session), `a` (a*,
        1 decimal) and `ita` (ITA°, whole degrees); a* and ITA° are null when not measured.
        Numbers are written as integers when they are whole (8, not 8.0).
        """
        chosen = {
            area: items if all_photos else self.strip(area)
            for area, items in self.photos_by_area.items()
        }
        first = min((items[0].date for items in chosen.values() if items), default=None)
        photos = {area: _photo_columns(items, first) for area, items in chosen.items() if first}
        return {
            "metric": self.metric.key,
            "metrics": [metric.key for metric in self.metrics],
            "indicative": "Measured colour depends on the light; compare like with like.",
            "date_from": self.date_from.isoformat() if self.date_from else None,
            "date_to": self.date_to.isoformat() if self.date_to else None,
            "sessions": [
                {
                    "number": s.number,
                    "id": s.uuid,
                    "date": s.date.isoformat(),
                    "last_day": s.last_day,
                }
                for s in self.sessions
            ],
            "curves": [
                {"session": curve.number, "points": [[d, _num(v, 2)] for d, v in curve.points]}
                for curve in self.curves
            ],
            "series": [_row_dict(row) for row in self.series],
            "summary": self.summary,
            "entry_count": self.entry_count,
            "measure_area": self.measure_area,
            "photo_count": self.photo_count,
            "photos_from": first.isoformat() if first else None,
            "photos": photos,
        }


def _photo_columns(items: list[PhotoItem], first: date) -> dict[str, list[Any]]:
    return {
        "id": [item.uuid for item in items],
        "date_offset": [(item.date - first).days for item in items],
        "session": [item.session_number for item in items],
        "day": [item.days_since_session for item in items],
        "a": [_num(item.lab_a, 1) for item in items],
        "ita": [_num(item.ita_deg, 0) for item in items],
    }


def _num(value: float | None, digits: int) -> float | int | None:
    """`value` rounded to `digits`, as an int when whole: JSON's 8 is 8.0, two bytes shorter."""
    if value is None:
        return None
    rounded = round(value, digits)
    return int(rounded) if rounded == int(rounded) else rounded


def _day_value(value: progress.DayValue | None) -> list[float] | None:
    return None if value is None else [value.day, _num(value.value, 2)]


def _row_dict(row: SeriesRow) -> dict[str, Any]:
    return {
        "session": row.number,
        "date": row.session_date.isoformat(),
        "baseline_redness": row.baseline_redness,
        "peak_redness": _day_value(row.peak_redness),
        "days_to_baseline": row.days_to_baseline,
        "matched": {key: _day_value(value) for key, value in row.matched.items()},
    }


def build_timeline(
    user: User,
    *,
    date_from: date | None = None,
    date_to: date | None = None,
    include_photos: bool = True,
    metric: str = "redness",
    measure_area: str | None = None,
) -> Timeline:
    """Everything the timeline views show for `user`, within [date_from, date_to] when given.

    Sessions are numbered over the whole history (session 3 stays session 3 in a shared range).
    Without photos there are no measured colour metrics either: they come from the photos.
    An unknown `metric` falls back to redness.
    """
    today = user_today(user)
    session_rows = db.session.execute(
        sa.select(
            TreatmentSession.uuid,
            TreatmentSession.date,
            TreatmentSession.device,
            TreatmentSession.needle_depth_mm,
            TreatmentSession.areas,
        )
        .where(TreatmentSession.user_id == user.id, TreatmentSession.deleted_at.is_(None))
        .order_by(TreatmentSession.date, TreatmentSession.id)
    ).all()
    calendar = SessionCalendar([row.date for row in session_rows])
    all_cycles = progress.cycles(calendar.dates, today=min(today, date_to or today))
    in_range = [
        (row, cycle)
        for row, cycle in zip(session_rows, all_cycles, strict=True)
        if (date_from is None or row.date >= date_from) and (date_to is None or row.date <= date_to)
    ]
    cycles: list[Cycle] = [cycle for _, cycle in in_range]
    sessions = [
        SessionInfo(
            number=cycle.number,
            uuid=row.uuid,
            date=row.date,
            device=row.device,
            needle_depth_mm=row.needle_depth_mm,
            areas=tuple(row.areas or ()),
            last_day=cycle.last_day,
        )
        for row, cycle in in_range
    ]

    entry_query = sa.select(
        Entry.id, Entry.date, Entry.redness, Entry.swelling, Entry.pie_severity, Entry.pih_severity
    ).where(Entry.user_id == user.id, Entry.deleted_at.is_(None))
    entry_query = _within(entry_query, Entry.date, date_from, date_to).order_by(Entry.date)
    values_by_date: dict[date, dict[str, float | None]] = {}
    entry_dates: dict[int, date] = {}
    # .all() fetches in one call; iterating the result would fetch (and wrap) row by row.
    for entry_id, day, redness, swelling, pie, pih in _rows(entry_query):
        entry_dates[entry_id] = day
        values_by_date[day] = {
            "redness": redness,
            "swelling": swelling,
            "pie_severity": pie,
            "pih_severity": pih,
        }

    photos_by_area: dict[str, list[PhotoItem]] = {}
    if include_photos:
        photos_by_area = _photos(user, calendar, entry_dates, date_from, date_to)
    if measure_area not in photos_by_area:
        measure_area = max(
            photos_by_area,
            key=lambda area: (len(photos_by_area[area]), -list(AREAS).index(area)),
            default=None,
        )
    if measure_area is not None:
        _add_measured(values_by_date, photos_by_area[measure_area])

    available = [METRICS[key] for key in RATED_METRICS]
    if measure_area is not None:
        available += [METRICS[key] for key in MEASURED_METRICS]
    chosen = METRICS.get(metric)
    if chosen is None or chosen.key not in {option.key for option in available}:
        chosen = METRICS["redness"]

    days = [DayRecord(day, values) for day, values in values_by_date.items()]
    matched = ["pie_severity", "pih_severity"]
    if measure_area is not None:
        matched += list(MEASURED_METRICS)
    series = progress.series_rows(cycles, days, matched)
    summary_metrics = [
        key
        for key, tracked in (
            ("pie_severity", tracks_pie(user.track)),
            ("pih_severity", tracks_pih(user.track)),
        )
        if tracked
    ]
    return Timeline(
        metric=chosen,
        metrics=available,
        track=user.track,
        today=today,
        date_from=date_from,
        date_to=date_to,
        sessions=sessions,
        curves=progress.recovery_curves(cycles, days, chosen.key),
        series=series,
        summary=progress.summary_lines(series, summary_metrics),
        entry_count=len(values_by_date),
        include_photos=include_photos,
        measure_area=measure_area,
        photos_by_area=photos_by_area,
        calendar=calendar,
    )


def _rows(query: sa.Select) -> list[sa.Row]:
    return db.session.connection().execute(query).all()


def _within(query: sa.Select, column: Any, date_from: date | None, date_to: date | None):
    if date_from is not None:
        query = query.where(column >= date_from)
    if date_to is not None:
        query = query.where(column <= date_to)
    return query


def _photos(
    user: User,
    calendar: SessionCalendar,
    entry_dates: dict[int, date],
    date_from: date | None,
    date_to: date | None,
) -> dict[str, list[PhotoItem]]:
    """The live photos of live entries, by area, oldest first. Their dates come from the entries
    already read (`entry_dates`), which saves decoding a date per photo. Only the columns a view
    shows: a two-year history has thousands of photos, and each JSON column (the region) costs
    a decode per row even when it is null."""
    query = (
        sa.select(
            Photo.uuid,
            Photo.area,
            Photo.entry_id,
            Photo.width,
            Photo.height,
            Photo.storage_key,
            Photo.lab_a,
            Photo.ita_deg,
        )
        .join(Entry, Entry.id == Photo.entry_id)
        .where(
            Photo.user_id == user.id,
            Entry.user_id == user.id,
            Photo.deleted_at.is_(None),
            Entry.deleted_at.is_(None),
        )
    )
    # Ordered by id alone, the rows come straight off the index; ordering by the entry's date
    # in SQL would sort every row's payload in a temporary B-tree, a third of this query's
    # time. The stable sort by date below keeps id order within a day: the same order.
    query = _within(query, Entry.date, date_from, date_to).order_by(Photo.id)
    grouped: dict[str, list[PhotoItem]] = {}
    # (session number, days since it) per day, as calendar.align() computes it, without making
    # an Alignment per photo: this loop runs for every photo of the history.
    aligned: dict[date, tuple[int | None, int | None]] = {}
    session_dates = calendar.dates
    for uuid, area, entry_id, width, height, key, lab_a, ita in _rows(query):
        day = entry_dates.get(entry_id)
        if day is None:  # logged after the entries were read: next time
            continue
        alignment = aligned.get(day)
        if alignment is None:
            number = bisect.bisect_right(session_dates, day)
            alignment = aligned[day] = (
                (number, (day - session_dates[number - 1]).days) if number else (None, None)
            )
        grouped.setdefault(area, []).append(
            PhotoItem(uuid, area, day, *alignment, width, height, key, lab_a, ita)
        )
    by_date = attrgetter("date")
    for items in grouped.values():
        items.sort(key=by_date)  # nearly sorted already: a pass or two
    order = list(AREAS)
    return {area: grouped[area] for area in sorted(grouped, key=order.index)}


def _add_measured(
    values_by_date: dict[date, dict[str, float | None]], items: list[PhotoItem]
) -> None:
    """The day's measured a* and ITA°: the mean over that day's photos of the measured area."""
    sums: dict[date, list[float]] = {}
    for item in items:
        if item.lab_a is None or item.ita_deg is None:
            continue
        total = sums.setdefault(item.date, [0.0, 0.0, 0.0])
        total[0] += item.lab_a
        total[1] += item.ita_deg
        total[2] += 1
    for day, (a_sum, ita_sum, count) in sums.items():
        values = values_by_date.setdefault(day, {})
        values["lab_a"] = a_sum / count
        values["ita"] = ita_sum / count


def remeasure_photo(photo: Photo, region: imaging.Region | None, store: PhotoStore) -> Photo:
    """Measure the colour of `region` (None: the default central region) on the stored full
    rendition, and keep region and metrics with the photo. Raises ValueError for a bad region."""
    box = None if region is None else imaging.validate_region(region)
    colour = imaging.colour_metrics(store.read(photo.rendition_key("full")), box)
    photo.region = None if box is None else [round(value, 4) for value in box]
    photo.lab_l, photo.lab_a, photo.lab_b = colour.l_star, colour.a_star, colour.b_star
    photo.ita_deg = colour.ita_deg
    db.session.commit()
    return photo
