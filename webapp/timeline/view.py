"""What the timeline views show, as plain data: no ORM objects, so a template cannot trigger a lazy
load, and no markup (the templates under templates/timeline/ and charts.py draw it).

`Timeline.to_dict` is the JSON of /timeline/data.json.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, ClassVar

from .. import photo_choice, progress, summary
from ..photo_choice import PhotoItem
from ..progress import Curve, DayRecord, Metric, SeriesRow, SessionCalendar
from ..summary import WarningSign
from ..vocabulary import AREAS, tracks_pie, tracks_pih
from .align import SessionInfo

# The line under the measured charts: what is measured, and that it is indicative.
MEASURED_NOTE = (
    "how much redder (Δa*) or darker (ΔL*) the marks are than the skin around them, and how much "
    "of the skin they cover. Indicative only: light and camera still affect it"
)

# A photo picked in the compare view: by id (links), else the one nearest a date (the form).
PhotoPick = tuple[str | None, date | None]


@dataclass(frozen=True)
class Comparison:
    area: str | None
    candidates: list[PhotoItem]  # that area's photos, oldest first
    left: PhotoItem | None
    right: PhotoItem | None


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
    measured_metrics: list[str] = field(default_factory=list)  # those offered (marks measured)
    include_poor: bool = False  # poor-quality photos counted in the measured metrics too
    photos_by_area: dict[str, list[PhotoItem]] = field(default_factory=dict)
    calendar: SessionCalendar = field(default_factory=lambda: SessionCalendar([]))
    matched_day: int = progress.MATCHED_DAY  # the day of each cycle the series compares
    days: list[DayRecord] = field(default_factory=list)  # each logged day's values, measured too
    flagged: list[summary.FlaggedDay] = field(default_factory=list)  # days with warning signs
    _strips: dict[str, list[PhotoItem]] = field(default_factory=dict, repr=False)
    no_warning_signs: ClassVar[str] = summary.NO_WARNING_SIGNS

    @property
    def has_data(self) -> bool:
        return bool(self.sessions or self.entry_count)

    @property
    def warning_signs(self) -> list[WarningSign]:
        """Each warning sign reported in the range, with its dates (summary.warning_signs)."""
        return summary.warning_signs(self.flagged, self.calendar)

    @property
    def headline(self) -> list[str]:
        """'Is it working?' in numbers: the sentences the views open with (summary.headline)."""
        return summary.headline(
            self.days,
            self.calendar,
            severities=self.severity_metrics,
            measured_area=(
                AREAS[self.measure_area] if self.measure_area and self.measured_metrics else None
            ),
            sessions_shown=len(self.sessions),
            period=summary.Period(self.date_from, self.date_to, self.today),
        )

    @property
    def measured_columns(self) -> list[Metric]:
        """The measured metrics offered, in order: the series table's extra columns."""
        return [progress.METRICS[key] for key in self.measured_metrics]

    @property
    def measured_note(self) -> str:
        """What the measured metrics are, from which photos, and which photos are left out, in
        numbers that agree with left_out."""
        area = f"{AREAS[self.measure_area].lower()} " if self.measure_area else ""
        note = f"Measured from the {area}photos: {MEASURED_NOTE}"
        left_out = self.left_out
        if self.include_poor:
            note += "; poor-quality photos are included."
        else:
            poor = left_out["poor"]
            note += f"; poor-quality photos are left out{f' ({poor})' if poor else ''}."
        unaligned = left_out["unaligned"]
        if unaligned:
            photos = "photo that could not be lined up with the others is"
            if unaligned > 1:
                photos = "photos that could not be lined up with the others are"
            note += f" {unaligned} {photos} left out."
        return note

    @property
    def left_out(self) -> dict[str, int]:
        """How many measured photos of the measured area the curves leave out, and why:
        {"poor": n, "unaligned": n} (photo_choice.counts_for_measure)."""
        found = {"poor": 0, "unaligned": 0}
        for item in self.photos_by_area.get(self.measure_area or "", []):
            if item.marks is None or item.counts(include_poor=self.include_poor):
                continue
            if item.image_alignment and item.image_alignment.get("aligned") is False:
                found["unaligned"] += 1
            elif item.quality_label == "Poor":
                found["poor"] += 1
        return found

    @property
    def photo_count(self) -> int:
        return sum(len(items) for items in self.photos_by_area.values())

    @property
    def session_dates(self) -> dict[int, date]:
        """The date of each session shown, by number (the photo strips' markers)."""
        return {session.number: session.date for session in self.sessions}

    def strip(self, area: str) -> list[PhotoItem]:
        """The short photo strip of an area: baseline, then key days of every cycle."""
        if area not in self._strips:
            self._strips[area] = photo_choice.key_photos(self.photos_by_area.get(area, []))
        return self._strips[area]

    @property
    def before_and_now(self) -> list[summary.BeforeAndNow]:
        """Per area, its baseline photo against its latest (summary.before_and_now)."""
        return summary.before_and_now(self.photos_by_area)

    def default_pair(self, area: str | None = None) -> tuple[PhotoItem, PhotoItem] | None:
        """The photos the compare view opens with: `area`, else the most photographed area."""
        area = area or self.measure_area
        if area is None:
            return None
        return photo_choice.default_pair(self.photos_by_area.get(area, []))

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

    def compare(self, area: str | None, first: PhotoPick, second: PhotoPick) -> Comparison:
        """Two photos of `area` (else the measured area) side by side: the ones picked, else the
        default pair (photo_choice.default_pair)."""
        area = area or self.measure_area
        left, right = self.default_pair(area) or (None, None)
        return Comparison(
            area,
            self.photos_by_area.get(area or "", []),
            self.choose_photo(area, *first) or left,
            self.choose_photo(area, *second) or right,
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
        library such as uPlot takes):
        `id` (the photo's uuid: `photo_url` with {id} and {rendition} filled in is its image),
        `date_offset` (days after `photos_from`, the first photo's date), `session` and `day`
        (the session it follows and days since; null before the first session), `quality`,
        `marks` and `alignment` (each as the API's photo JSON has it, null when not measured) and
        `counted` (whether its marks are in the measured curves: not poor, unless
        `include_poor`, and not unaligned). Numbers are written as integers when whole (8, not 8.0).
        The measures are the API's objects, keys and all, so a client reads one shape: brotli,
        as the app sends JSON, takes the repetition out (two years: 550 kB, 35 kB sent).
        """
        chosen = {
            area: items if all_photos else self.strip(area)
            for area, items in self.photos_by_area.items()
        }
        first = min((items[0].date for items in chosen.values() if items), default=None)
        photos = {
            area: _photo_columns(items, first, self.include_poor)
            for area, items in chosen.items()
            if first
        }
        return {
            "metric": self.metric.key,
            "metrics": [metric.key for metric in self.metrics],
            "indicative": self.measured_note,
            "include_poor": self.include_poor,
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


def _photo_columns(items: list[PhotoItem], first: date, include_poor: bool) -> dict[str, list]:
    return {
        "id": [item.uuid for item in items],
        "date_offset": [(item.date - first).days for item in items],
        "session": [item.session_number for item in items],
        "day": [item.days_since_session for item in items],
        "quality": [item.quality for item in items],
        "marks": [item.marks for item in items],
        "alignment": [item.image_alignment for item in items],
        "counted": [item.counts(include_poor=include_poor) for item in items],
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
