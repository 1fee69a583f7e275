"""Timeline maths: which session an entry belongs to, and how many days after it.

An entry belongs to the latest session on or before its date; an entry on a session's day is day 0;
entries before the first session are baseline (no session). Derived every time from the live
sessions, so deleting or moving a session re-aligns its entries. No Flask here.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Alignment:
    session_number: int | None  # 1-based, in date order; None before the first session
    days_since_session: int | None

    @property
    def label(self) -> str:
        if self.session_number is None:
            return "Before first session"
        return f"Day {self.days_since_session} after session {self.session_number}"


class SessionCalendar:
    """The dates of a patient's live sessions, for aligning many entries cheaply."""

    def __init__(self, session_dates: Sequence[date]) -> None:
        self.dates = sorted(session_dates)

    def align(self, entry_date: date) -> Alignment:
        index = bisect.bisect_right(self.dates, entry_date)
        if index == 0:
            return Alignment(None, None)
        session_date = self.dates[index - 1]
        return Alignment(index, (entry_date - session_date).days)

    def number_of(self, session_date: date) -> int:
        """1-based number of the session held on `session_date` (first of that day)."""
        return bisect.bisect_left(self.dates, session_date) + 1


# --- Metrics -------------------------------------------------------------------------------------

# A recovery curve runs from the session day to the day before the next session, at most this long.
CYCLE_MAX_DAYS = 42
# "How is it a few weeks after a session?": the matched point of every cycle in the series view.
MATCHED_DAY = 28


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    axis_label: str
    low: float | None  # fixed axis range; None: fitted to the data
    high: float | None
    decimals: int = 0
    measured: bool = False  # from the photos' marks (indicative: the light still affects them)
    short: str = ""  # a table column's heading


METRICS: dict[str, Metric] = {
    metric.key: metric
    for metric in (
        Metric("redness", "Redness", "Redness, 0 none – 10 worst", 0, 10),
        Metric("swelling", "Swelling", "Swelling, 0 none – 10 worst", 0, 10),
        Metric("pie_severity", "PIE severity", "PIE (red marks), 0 clear – 4 severe", 0, 4),
        Metric("pih_severity", "PIH severity", "PIH (dark marks), 0 clear – 4 severe", 0, 4),
        # Measured from the photos' marks against the skin around them (imaging.marks).
        *(
            Metric(key, label, axis, None, None, 1, measured=True, short=short)
            for key, label, axis, short in (
                (
                    "delta_a",
                    "Red marks: Δa* vs surrounding skin (indicative)",
                    "Δa*, red marks minus skin (higher is redder)",
                    "Red Δa*",
                ),
                ("red_area", "Red marks: % of skin (indicative)", "Red marks, % of skin", "Red %"),
                (
                    "delta_l",
                    "Dark marks: ΔL* vs surrounding skin (indicative)",
                    "ΔL*, dark marks minus skin (lower is darker)",
                    "Dark ΔL*",
                ),
                (
                    "dark_area",
                    "Dark marks: % of skin (indicative)",
                    "Dark marks, % of skin",
                    "Dark %",
                ),
            )
        ),
    )
}
# The measured metrics that go with each severity (red marks are PIE, dark marks PIH).
RED_MARKS = ("delta_a", "red_area")
DARK_MARKS = ("delta_l", "dark_area")
MARK_METRICS = RED_MARKS + DARK_MARKS


@dataclass(frozen=True)
class DayRecord:
    """One logged day: its date and the value of each metric that day (None: not rated)."""

    date: date
    values: Mapping[str, float | None]

    def get(self, metric: str) -> float | None:
        return self.values.get(metric)


# --- Recovery curves -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Cycle:
    """A session and the days that belong to it: day 0 up to `last_day` (inclusive)."""

    number: int  # 1-based, in date order
    date: date
    last_day: int  # the day before the next session, at most CYCLE_MAX_DAYS


@dataclass(frozen=True)
class Curve:
    number: int
    session_date: date
    last_day: int
    points: tuple[tuple[int, float], ...]  # (day since session, value), logged days only

    def value_on(self, day: int) -> float | None:
        for point_day, value in self.points:
            if point_day == day:
                return value
        return None


def runs(points: Sequence[tuple[float, float]]) -> list[list[tuple[float, float]]]:
    """`points` (by x) split where an x is missing: a gap is drawn as a gap, never as zero."""
    split: list[list[tuple[float, float]]] = []
    for point in points:
        if split and point[0] == split[-1][-1][0] + 1:
            split[-1].append(point)
        else:
            split.append([point])
    return split


def cycles(session_dates: Sequence[date], today: date | None = None) -> list[Cycle]:
    """Each session's span: to the day before the next session, or CYCLE_MAX_DAYS (and not past
    `today` for the latest session, when given)."""
    ordered = sorted(session_dates)
    result = []
    for index, session_date in enumerate(ordered):
        last_day = CYCLE_MAX_DAYS
        if index + 1 < len(ordered):
            last_day = min(last_day, (ordered[index + 1] - session_date).days - 1)
        if today is not None:
            last_day = min(last_day, max(0, (today - session_date).days))
        result.append(Cycle(index + 1, session_date, max(0, last_day)))
    return result


def _by_cycle(
    session_cycles: Sequence[Cycle], days: Sequence[DayRecord]
) -> dict[int, list[tuple[int, DayRecord]]]:
    """The logged days of each cycle as (day since session, record), in date order."""
    ordered = sorted(session_cycles, key=lambda cycle: cycle.date)
    dates = [cycle.date for cycle in ordered]
    grouped: dict[int, list[tuple[int, DayRecord]]] = {cycle.number: [] for cycle in ordered}
    for record in sorted(days, key=lambda item: item.date):
        index = bisect.bisect_right(dates, record.date)
        if index == 0:
            continue  # before the first session: baseline
        cycle = ordered[index - 1]
        days_since = (record.date - cycle.date).days
        if days_since <= cycle.last_day:
            grouped[cycle.number].append((days_since, record))
    return grouped


def recovery_curves(
    session_cycles: Sequence[Cycle], days: Sequence[DayRecord], metric: str
) -> list[Curve]:
    """One curve per session: the metric against days since that session. Days without an entry,
    or without a value for this metric, are simply absent (gaps)."""
    grouped = _by_cycle(session_cycles, days)
    curves = []
    for cycle in session_cycles:
        points = tuple(
            (day, float(value))
            for day, record in grouped[cycle.number]
            if (value := record.get(metric)) is not None
        )
        curves.append(Curve(cycle.number, cycle.date, cycle.last_day, points))
    return curves


# --- Across the series ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DayValue:
    day: int
    value: float


@dataclass(frozen=True)
class SeriesRow:
    """How one session went: what the series view's table and trend chart show."""

    number: int
    session_date: date
    last_day: int
    baseline_redness: float | None  # the last rating before the session
    baseline_date: date | None
    peak_redness: DayValue | None
    days_to_baseline: int | None  # None: not back to baseline within the cycle (or unknown)
    matched: Mapping[str, DayValue | None]  # metric -> value on MATCHED_DAY or the nearest day


def matched_day(session_cycles: Sequence[Cycle]) -> int:
    """The day the series compares: MATCHED_DAY, or sooner when a completed cycle (any but the
    latest) is shorter, so that every completed cycle has that day."""
    completed = sorted(session_cycles, key=lambda cycle: cycle.date)[:-1]
    return min([MATCHED_DAY, *(cycle.last_day for cycle in completed)])


def nearest_day(points: Sequence[tuple[int, float]], target: int) -> DayValue | None:
    """The logged point closest to `target`; on a tie, the later day (further into healing)."""
    if not points:
        return None
    day, value = min(points, key=lambda point: (abs(point[0] - target), -point[0]))
    return DayValue(day, value)


def series_rows(
    session_cycles: Sequence[Cycle],
    days: Sequence[DayRecord],
    matched_metrics: Sequence[str] = ("pie_severity", "pih_severity", *MARK_METRICS),
    matched_day: int = MATCHED_DAY,
) -> list[SeriesRow]:
    ordered_days = sorted(days, key=lambda item: item.date)
    grouped = _by_cycle(session_cycles, ordered_days)
    rated = [record for record in ordered_days if record.get("redness") is not None]
    rated_dates = [record.date for record in rated]
    rows = []
    for cycle in session_cycles:
        index = bisect.bisect_left(rated_dates, cycle.date)
        baseline = rated[index - 1] if index else None
        baseline_value = baseline.get("redness") if baseline else None
        redness = [
            (day, float(value))
            for day, record in grouped[cycle.number]
            if (value := record.get("redness")) is not None
        ]
        peak = None
        if redness:
            day, value = max(redness, key=lambda point: (point[1], -point[0]))
            peak = DayValue(day, value)
        matched = _nearest_values(grouped[cycle.number], matched_metrics, matched_day)
        rows.append(
            SeriesRow(
                number=cycle.number,
                session_date=cycle.date,
                last_day=cycle.last_day,
                baseline_redness=baseline_value,
                baseline_date=baseline.date if baseline else None,
                peak_redness=peak,
                days_to_baseline=days_to_baseline(redness, baseline_value, peak),
                matched=matched,
            )
        )
    return rows


def _nearest_values(
    logged: Sequence[tuple[int, DayRecord]], metrics: Sequence[str], target: int
) -> dict[str, DayValue | None]:
    """nearest_day() of each metric at once: the days are visited from `target` outwards, so the
    search usually stops at the first one (a timeline asks this for every cycle and metric)."""
    found: dict[str, DayValue | None] = dict.fromkeys(metrics)
    missing = set(metrics)
    for day, record in _outwards(logged, target):
        for metric in list(missing):
            value = record.get(metric)
            if value is not None:
                found[metric] = DayValue(day, float(value))
                missing.discard(metric)
        if not missing:
            break
    return found


def _outwards(
    logged: Sequence[tuple[int, DayRecord]], target: int
) -> Iterator[tuple[int, DayRecord]]:
    """`logged` (in day order) nearest `target` first; on a tie the later day, as nearest_day."""
    after = bisect.bisect_left(logged, target, key=lambda item: item[0])
    before = after - 1
    while before >= 0 or after < len(logged):
        if after < len(logged) and (
            before < 0 or logged[after][0] - target <= target - logged[before][0]
        ):
            yield logged[after]
            after += 1
        else:
            yield logged[before]
            before -= 1


def days_to_baseline(
    points: Sequence[tuple[int, float]], baseline: float | None, peak: DayValue | None
) -> int | None:
    """The first logged day, from the peak on, with redness back at or below the baseline."""
    if baseline is None or peak is None:
        return None
    for day, value in points:
        if day >= peak.day and value <= baseline:
            return day
    return None


def _format_value(value: float, decimals: int) -> str:
    return f"{value:.{decimals}f}"


def summary_lines(
    rows: Sequence[SeriesRow],
    metrics: Sequence[str] = ("pie_severity", "pih_severity"),
    matched_day: int = MATCHED_DAY,
) -> list[str]:
    """Plain-language findings computed from the series rows, e.g. "PIE severity at 4 weeks fell
    from 3 after session 1 to 1 after session 3." Empty when there is nothing to compare."""
    lines = []
    reached = [row for row in rows if row.last_day >= matched_day]  # not a cycle still short of it
    for key in metrics:
        metric = METRICS[key]
        measured = [(row.number, row.matched.get(key)) for row in reached]
        measured = [(number, value) for number, value in measured if value is not None]
        if len(measured) < 2:
            continue
        (first_number, first), (last_number, last) = measured[0], measured[-1]
        a = _format_value(first.value, metric.decimals)
        b = _format_value(last.value, metric.decimals)
        name = metric.label
        if first.day == last.day == matched_day:
            weeks, rest = divmod(matched_day, 7)
            when = f"at {weeks} weeks" if rest == 0 else f"on day {matched_day}"
            first_part, last_part = f"after session {first_number}", f"after session {last_number}"
            note = ""
        else:
            when = ""
            first_part = f"on day {first.day} after session {first_number}"
            last_part = f"on day {last.day} after session {last_number}"
            note = f" (the logged days nearest day {matched_day})"
        subject = f"{name} {when}".strip()
        if a == b:
            since = first_part.removeprefix("on ").removeprefix("after ")
            until = last_part.removeprefix("on ").removeprefix("after ")
            lines.append(f"{subject} stayed at {a} from {since} to {until}{note}.")
        else:
            verb = "fell" if last.value < first.value else "rose"
            lines.append(f"{subject} {verb} from {a} {first_part} to {b} {last_part}{note}.")
    with_recovery = [row for row in rows if row.days_to_baseline is not None]
    if len(with_recovery) >= 2:
        first_row, last_row = with_recovery[0], with_recovery[-1]
        lines.append(
            f"Redness was back to its pre-session level by day {first_row.days_to_baseline} "
            f"after session {first_row.number} and by day {last_row.days_to_baseline} "
            f"after session {last_row.number}."
        )
    return [line[0].upper() + line[1:] for line in lines]
