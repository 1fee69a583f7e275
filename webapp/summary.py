"""What the timeline and the shared view say first: the warning signs reported, then "is it
working?" in numbers (severity first → latest, measured marks, sessions, days logged), and per
area the photo before treatment against the latest one.

Every sentence is made here from the numbers it states, and states where each number comes from
(its date and its place in the series). Nothing here names a cause: the app never diagnoses
(docs/domain.md). Pure: no Flask, no database.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from .photo_choice import PhotoItem
from .progress import Alignment, DayRecord, SessionCalendar
from .vocabulary import RED_FLAGS, SEVERITY_WORDS

NO_WARNING_SIGNS = "No warning signs reported in this period"

# A day and the warning signs (vocabulary.RED_FLAGS keys) the patient reported on it.
FlaggedDay = tuple[date, Sequence[str]]


# --- Warning signs --------------------------------------------------------------------------------


@dataclass(frozen=True)
class WarningSign:
    flag: str
    label: str
    dates: tuple[date, ...]  # oldest first, each once
    when: str  # the dates with their place in the series, e.g. "3 Mar 2026 (day 2 after session 2)"

    @property
    def count(self) -> str:
        return "1 day" if len(self.dates) == 1 else f"{len(self.dates)} days"


def warning_signs(flagged: Iterable[FlaggedDay], calendar: SessionCalendar) -> list[WarningSign]:
    """Each sign reported, in RED_FLAGS order (unknown keys last, by name), with its dates."""
    by_flag: dict[str, set[date]] = {}
    for day, flags in flagged:
        for flag in flags:
            by_flag.setdefault(flag, set()).add(day)
    order = list(RED_FLAGS)
    ranked = sorted(
        by_flag, key=lambda flag: (order.index(flag) if flag in order else len(order), flag)
    )
    return [
        WarningSign(
            flag,
            RED_FLAGS.get(flag, flag.replace("_", " ").capitalize()),
            tuple(sorted(by_flag[flag])),
            dates_in_series(sorted(by_flag[flag]), calendar),
        )
        for flag in ranked
    ]


def dates_in_series(dates: Sequence[date], calendar: SessionCalendar) -> str:
    """Oldest first, compactly: the first date after each session says which day after which
    session it is, the next dates of that session only their day, e.g. "3 Mar 2026 (day 2 after
    session 2), 4 Mar (day 3)". The year is written when it is not the previous date's."""
    parts, session, year = [], -1, 0
    for day in dates:
        alignment = calendar.align(day)
        number = alignment.session_number or 0
        text = f"{day.day} {day:%b}" + (f" {day.year}" if day.year != year else "")
        if number == 0:
            text += " (before the first session)" if number != session else ""
        elif number != session:
            text += f" (day {alignment.days_since_session} after session {number})"
        else:
            text += f" (day {alignment.days_since_session})"
        parts.append(text)
        session, year = number, day.year
    return ", ".join(parts)


# --- Is it working? -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reading:
    date: date
    value: float
    alignment: Alignment

    @property
    def where(self) -> str:
        """'3 Jan 2026 (before the first session)' or '1 Mar 2026 (day 20 after session 3)'."""
        return where(self.date, self.alignment)


def where(day: date, alignment: Alignment) -> str:
    """A date with its place in the series: '1 Mar 2026 (day 20 after session 3)'."""
    place = "before the first session"
    if alignment.session_number is not None:
        place = f"day {alignment.days_since_session} after session {alignment.session_number}"
    return f"{day.day} {day:%b %Y} ({place})"


@dataclass(frozen=True)
class Change:
    """A metric's first reading (the last one before the first session, its baseline, when there is
    one; else the first one logged) and its latest one. The same reading when rated once."""

    metric: str
    first: Reading
    latest: Reading

    @property
    def from_baseline(self) -> bool:
        return self.first.alignment.session_number is None


def change(days: Sequence[DayRecord], calendar: SessionCalendar, metric: str) -> Change | None:
    """The metric's Change over `days`; None when it has no value on any of them."""
    rated = sorted((day.date, value) for day in days if (value := day.get(metric)) is not None)
    if not rated:
        return None
    first_session = calendar.dates[0] if calendar.dates else None
    before = [item for item in rated if first_session is None or item[0] < first_session]
    first = before[-1] if before else rated[0]
    latest = rated[-1]

    def reading(item: tuple[date, float]) -> Reading:
        return Reading(item[0], float(item[1]), calendar.align(item[0]))

    return Change(metric, reading(first), reading(latest))


SEVERITY_NAMES = {"pie_severity": "PIE", "pih_severity": "PIH"}
# The marks measured with each severity (indicative: docs/domain.md): their name, then the
# metrics (progress.MARK_METRICS) of their contrast with the skin around them and of their area.
MEASURED = {
    "pie_severity": ("red marks", "delta_a", "Δa*", "red_area"),
    "pih_severity": ("dark marks", "delta_l", "ΔL*", "dark_area"),
}


def severity_word(value: float) -> str:
    """'moderate (3)': the patient's own word for a 0-4 severity, with its number."""
    number = round(value)
    word = SEVERITY_WORDS.get(number, str(number)).lower()
    return f"{word} ({number})"


def _from_to(found: Change, unit: str = "") -> str:
    """'6.2 to 4.1' (one decimal, as the curves' table), or '6.2' when read on one day only."""
    text = f"{found.first.value:.1f}{unit}"
    if found.first.date != found.latest.date:
        text += f" to {found.latest.value:.1f}{unit}"
    return text


def marks_phrase(name: str, symbol: str, contrast: str | None, area: str | None) -> str:
    """'red marks Δa* 6.2 to 4.1 over 3.2% to 1.5% of the skin': how much redder (or darker)
    than the skin around them the marks were, and how much of the skin they covered, from the
    numbers as written (`contrast` '6.2 to 4.1', `area` '3.2% to 1.5%'; None: not measured)."""
    text = name + (f" {symbol} {contrast}" if contrast is not None else "")
    return text + (f" over {area} of the skin" if area is not None else "")


def photo_measures(photo: PhotoItem) -> str | None:
    """What was measured on one photo, for its caption: 'red marks Δa* 6.2 over 3.2% of the
    skin; no dark marks found (indicative)'; a photo stored before marks were measured gives its
    central mean colour, 'a* 14.5, ITA° 53 (indicative)'; None when nothing was measured."""
    if photo.marks is not None:
        kinds = "; ".join(_marks_text(photo.marks, *kind) for kind in MEASURED.values())
        return f"{kinds} (indicative)"
    if photo.lab_a is not None and photo.ita_deg is not None:
        return f"a* {photo.lab_a:.1f}, ITA° {photo.ita_deg:.0f} (indicative)"
    return None


def _marks_text(marks: Mapping[str, Any], name: str, contrast: str, symbol: str, area: str) -> str:
    """'red marks Δa* 6.2 over 3.2% of the skin' (marks_phrase), or 'no red marks found'."""
    difference, share = marks.get(contrast), marks.get(area)
    if difference is None and not share:
        return f"no {name} found"
    difference_text = f"{difference:.1f}" if difference is not None else None
    return marks_phrase(name, symbol, difference_text, f"{share * 100:.1f}%" if share else None)


def changes_sentences(
    severities: Sequence[tuple[str, Change | None]],
    measured: Sequence[tuple[str, Change]],
    measured_area: str | None,
) -> list[str]:
    """One sentence per span of days: the values that share a first and a latest reading go
    together, e.g. "PIE moderate (3) to mild (2), measured red marks Δa* 6.2 to 4.1 over 3.2% to
    1.5% of the skin (left cheek photos, indicative), from 9 Jan 2026 (before the first session)
    to 17 Mar 2026 (day 10 after session 3)." `measured` holds (metric, Change) of the
    MARK_METRICS. A severity never rated: "PIH not rated in this period."
    """
    groups: dict[tuple[date, date], tuple[list[str], dict[str, dict[str, Change]]]] = {}
    spans: dict[tuple[date, date], Change] = {}  # a change of each span: its days' places
    for metric, found in severities:
        if found is not None:
            first, latest = severity_word(found.first.value), severity_word(found.latest.value)
            name = SEVERITY_NAMES[metric]
            if found.first.date == found.latest.date:
                text = f"{name} {first}"
            elif found.first.value == found.latest.value:
                text = f"{name} unchanged at {first}"
            else:
                text = f"{name} {first} to {latest}"
            span = (found.first.date, found.latest.date)
            spans.setdefault(span, found)
            groups.setdefault(span, ([], {}))[0].append(text)
    for metric, found in measured:
        span = (found.first.date, found.latest.date)
        spans.setdefault(span, found)
        kind = next(marks for marks in MEASURED.values() if metric in marks)
        groups.setdefault(span, ([], {}))[1].setdefault(kind[0], {})[metric] = found
    sentences = []
    for span, (rated, photo) in groups.items():
        first, latest = spans[span].first, spans[span].latest
        parts = list(rated)
        phrases = []
        for name, contrast_key, symbol, area_key in MEASURED.values():
            found_marks = photo.get(name)
            if found_marks:
                contrast, area = found_marks.get(contrast_key), found_marks.get(area_key)
                phrases.append(
                    marks_phrase(
                        name,
                        symbol,
                        _from_to(contrast) if contrast is not None else None,
                        _from_to(area, "%") if area is not None else None,
                    )
                )
        if phrases:
            parts.append(f"measured {' and '.join(phrases)} ({measured_area} photos, indicative)")
        body = ", ".join(parts)
        if first.date == latest.date:
            sentences.append(f"{body} on {first.where}, the only value logged.")
            continue
        since = (
            first.where
            if first.alignment.session_number is None
            else (f"the first value logged, {first.where}")
        )
        sentences.append(f"{body}, from {since} to {latest.where}.")
    unrated = [SEVERITY_NAMES[metric] for metric, found in severities if found is None]
    if unrated:
        sentences.append(f"{' and '.join(unrated)} not rated in this period.")
    return sentences


@dataclass(frozen=True)
class Period:
    """The days a view covers: the link's range (or everything) up to today."""

    date_from: date | None
    date_to: date | None
    today: date

    def span(self, first_record: date | None) -> tuple[date, date] | None:
        """From the later of the range's start and the first record, to the earlier of the
        range's end and today. None before any record."""
        if first_record is None:
            return None
        start = max(self.date_from or first_record, first_record)
        end = min(self.date_to or self.today, self.today)
        return start, max(start, end)


def logging_sentence(
    calendar: SessionCalendar, sessions_shown: int, logged: Sequence[date], period: Period
) -> str:
    """'3 sessions so far; 48 of the 60 days from 3 Jan to 1 Mar 2026 logged.'"""
    end = min(period.date_to or period.today, period.today)
    so_far = sum(1 for day in calendar.dates if day <= end)
    sessions = "No sessions yet" if so_far == 0 else f"{so_far} session{'s' * (so_far != 1)} so far"
    if so_far and sessions_shown != so_far:
        sessions += f" ({sessions_shown} in this period)"
    shown = [day for day in calendar.dates if period.date_from is None or day >= period.date_from]
    first_record = min([*logged, *(day for day in shown if day <= end)], default=None)
    span = period.span(first_record)
    if not logged or span is None:
        return f"{sessions}; no days logged in this period."
    start, end = span
    total = (end - start).days + 1
    count = len({day for day in logged if start <= day <= end})
    return (
        f"{sessions}; {count} of the {total} day{'s' * (total != 1)} from "
        f"{_short(start, end)} to {end.day} {end:%b %Y} logged."
    )


def _short(start: date, end: date) -> str:
    return f"{start.day} {start:%b}" + (f" {start.year}" if start.year != end.year else "")


def headline(
    days: Sequence[DayRecord],
    calendar: SessionCalendar,
    *,
    severities: Sequence[str],
    measured_area: str | None,
    sessions_shown: int,
    period: Period,
) -> list[str]:
    """'Is it working?' in two sentences or so: each tracked severity first → latest, with its
    measured marks (red with PIE, dark with PIH: their contrast with the skin around them and
    their area) when photos were measured, then sessions and days logged. `days` hold the marks
    of the photos that count only (photo_choice.counts_for_measure). `measured_area` names the
    measured photos' area (None: nothing measured)."""
    rated = [(metric, change(days, calendar, metric)) for metric in severities]
    measured = []
    if measured_area is not None:
        for metric in severities:
            _, contrast_key, _, area_key = MEASURED[metric]
            for key in (contrast_key, area_key):
                found = change(days, calendar, key)
                if found is not None:
                    measured.append((key, found))
    area = measured_area.lower() if measured_area else None
    lines = changes_sentences(rated, measured, area)
    logged = [day.date for day in days]  # a day with an entry, rated or not
    lines.append(logging_sentence(calendar, sessions_shown, logged, period))
    return [line[0].upper() + line[1:] for line in lines]


# --- Before treatment and now ---------------------------------------------------------------------


@dataclass(frozen=True)
class BeforeAndNow:
    """One area's photos a clinician looks at first: its baseline and its latest photo."""

    area: str
    before: PhotoItem
    now: PhotoItem

    @property
    def before_label(self) -> str:
        """'Before treatment', unless no photo of the area was taken before the first session."""
        return "Before treatment" if self.before.session_number is None else "First photo"

    @property
    def before_when(self) -> str:
        return _taken(self.before)

    @property
    def now_when(self) -> str:
        return _taken(self.now)


def before_and_now(photos_by_area: Mapping[str, Sequence[PhotoItem]]) -> list[BeforeAndNow]:
    """Per area (in the mapping's order), its baseline against its latest photo. The baseline is
    the last photo before the first session, else the earliest. `photos_by_area` holds each area's
    photos oldest first; an area with fewer than two photos has no pair."""
    pairs = []
    for area, items in photos_by_area.items():
        if len(items) < 2:
            continue
        before = [item for item in items[:-1] if item.session_number is None]
        pairs.append(BeforeAndNow(area, before[-1] if before else items[0], items[-1]))
    return pairs


def _taken(photo: PhotoItem) -> str:
    """'6 Oct 2026' before the first session, '1 Dec 2026, day 13 after session 3' after one."""
    taken = f"{photo.date.day} {photo.date:%b %Y}"
    if photo.session_number is None:
        return taken
    return f"{taken}, day {photo.days_since_session} after session {photo.session_number}"
