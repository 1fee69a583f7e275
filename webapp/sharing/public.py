"""What the dermatologist sees through a live link: the read-only page and the PDF report.

Both read the patient's records once, within the link's scope: `build_timeline` reads the
sessions, the charted ratings and the photos, and one more query reads the ratings table (every
rating, and the notes only when the link includes them); the report also reads where each
session was done, which the timeline does not hold. Page and PDF show, per area, the photo before
treatment against the latest (`Timeline.before_and_now`), then the same matched pair:
`Timeline.default_pair`, the compare view's rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

import sqlalchemy as sa

from .. import charts
from ..extensions import db
from ..models import Entry, ShareLink, TreatmentSession, utcnow
from ..photo_choice import PhotoItem
from ..storage import PhotoStore
from ..timeline import Timeline, build_timeline
from . import links
from .content import DayRow, PhotoPair, ReportContent, SessionRow


class Picks(NamedTuple):
    """What the dermatologist chose on the page: the chart's metric, an area, two photos (each
    by id from a link, or by the date typed in the form)."""

    metric: str = "redness"
    area: str | None = None
    a: str | None = None
    a_date: date | None = None
    b: str | None = None
    b_date: date | None = None


@dataclass(frozen=True)
class Shared:
    """Everything a link shows, read once."""

    link: ShareLink
    timeline: Timeline
    days: list[DayRow]  # oldest first


@dataclass(frozen=True)
class Page:
    shared: Shared
    area: str | None  # the area whose photos are compared
    left: PhotoItem | None
    right: PhotoItem | None

    @property
    def candidates(self) -> list[PhotoItem]:
        return self.shared.timeline.photos_by_area.get(self.area or "", [])


class Download(NamedTuple):
    filename: str
    data: bytes


def visit(link: ShareLink, client: str, picks: Picks) -> Page:
    """The page for one visit: logged for the patient, then read, with the chosen photos."""
    links.log_visit(link, client)
    shared = read(link, metric=picks.metric, area=picks.area)
    timeline = shared.timeline
    area = picks.area or timeline.measure_area
    left, right = timeline.default_pair(area) or (None, None)
    left = timeline.choose_photo(area, picks.a, picks.a_date) or left
    right = timeline.choose_photo(area, picks.b, picks.b_date) or right
    return Page(shared, area, left, right)


def report(link: ShareLink, store: PhotoStore) -> Download:
    """The PDF report of the link and the name to save it under."""
    # fpdf2 takes ~45 MB and 0.4 s to import: only workers that make a report pay for it.
    from .report import build_report_pdf

    shared = read(link)
    pdf = build_report_pdf(_report_content(shared), store)
    today = utcnow().date().isoformat()
    return Download(f"Skinlog report - {link.user.display_name} - {today}.pdf", pdf)


def read(link: ShareLink, *, metric: str = "redness", area: str | None = None) -> Shared:
    timeline = build_timeline(
        link.user,
        date_from=link.date_from,
        date_to=link.date_to,
        include_photos=link.include_photos,
        metric=metric,
        measure_area=area,
    )
    return Shared(link, timeline, _days(link))


def _days(link: ShareLink) -> list[DayRow]:
    notes = Entry.notes if link.include_notes else sa.literal("")
    query = sa.select(
        Entry.date,
        Entry.redness,
        Entry.swelling,
        Entry.pain,
        Entry.itching,
        Entry.dryness,
        Entry.bruising,
        Entry.pie_severity,
        Entry.pih_severity,
        notes,
    ).where(Entry.user_id == link.user_id, Entry.deleted_at.is_(None))
    query = _within(link, query, Entry.date).order_by(Entry.date)
    return [DayRow(*row) for row in db.session.execute(query)]


def _within(link: ShareLink, query: sa.Select, column: sa.ColumnElement[date]) -> sa.Select:
    if link.date_from is not None:
        query = query.where(column >= link.date_from)
    if link.date_to is not None:
        query = query.where(column <= link.date_to)
    return query


def _report_content(shared: Shared) -> ReportContent:
    link, timeline = shared.link, shared.timeline
    charts = []
    if timeline.sessions:
        charts.append(("Recovery after each session", str(_recovery_chart(timeline))))
    if len(timeline.series) >= 2:  # one session is nothing to compare across
        charts.append(("Across the series", str(_series_chart(timeline))))
    return ReportContent(
        patient_name=link.user.display_name,
        track=link.user.track,
        fitzpatrick=link.user.fitzpatrick,
        date_from=link.date_from,
        date_to=link.date_to,
        summary=" ".join(timeline.summary),
        sessions=_session_rows(link, timeline),
        charts=charts,
        photo_pairs=_photo_pairs(timeline),
        days=shared.days,
        calendar=timeline.calendar,
        include_notes=link.include_notes,
        warning_signs=timeline.warning_signs,
        headline=timeline.headline,
        before_and_now=timeline.before_and_now,
    )


def _session_rows(link: ShareLink, timeline: Timeline) -> list[SessionRow]:
    """The timeline's sessions with where each was done, which only the report shows."""
    query = sa.select(TreatmentSession.uuid, TreatmentSession.setting).where(
        TreatmentSession.user_id == link.user_id, TreatmentSession.deleted_at.is_(None)
    )
    rows = db.session.execute(_within(link, query, TreatmentSession.date)).tuples().all()
    settings = dict(rows)
    return [
        SessionRow(
            number=timeline.calendar.number_of(session.date),
            date=session.date,
            device=session.device,
            needle_depth_mm=session.needle_depth_mm,
            areas=session.areas,
            setting=settings.get(session.uuid, ""),
        )
        for session in timeline.sessions
    ]


def _photo_pairs(timeline: Timeline) -> list[PhotoPair]:
    """Per area, the pair the page opens with, when it shows how two sessions healed."""
    pairs = []
    for area in timeline.photos_by_area:
        pair = timeline.default_pair(area)
        if pair is None:
            continue
        first, latest = pair
        if first.session_number and latest.session_number != first.session_number:
            pairs.append(PhotoPair(area, first, latest))
    return pairs


def _recovery_chart(timeline: Timeline) -> str:
    return charts.recovery_chart_svg(timeline.curves, timeline.metric, chart_id="pdf-recovery")


def _series_chart(timeline: Timeline) -> str:
    return charts.severity_chart_svg(
        timeline.series, timeline.severity_metrics, chart_id="pdf-series"
    )
