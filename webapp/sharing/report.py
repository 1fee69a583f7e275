"""The printable report a dermatologist downloads from a share link (PDF, made with fpdf2).

It holds what the shared page shows, within the link's scope: who and what is tracked, the sessions
table, the recovery charts, key photo pairs at matched days after the first and the latest session,
and the daily ratings. No Flask here: the caller passes the records and the photo store.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from fpdf import FPDF

from ..models import Entry, Photo, ShareLink, TreatmentSession, User
from ..progress import SessionCalendar
from ..storage import PhotoStore
from ..vocabulary import AREAS, DEVICES, RATINGS, TRACKS

# DejaVu covers any name a patient types; without it the core font shows Latin-1 only.
UNICODE_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
UNICODE_FONT_BOLD = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")
# The photo pairs compare the healing point most patients care about: a few weeks after a session.
PREFERRED_PAIR_DAY = 28


@dataclass(frozen=True)
class PhotoPair:
    area: str
    first: tuple[Photo, date, int, int]  # photo, date, session number, days since session
    latest: tuple[Photo, date, int, int]


def photo_pairs(entries: Sequence[Entry], calendar: SessionCalendar) -> list[PhotoPair]:
    """Per area: a photo after the first and one after the latest session, at the same day offset
    when both cycles have one (closest to day 28), else the nearest days available."""
    by_area: dict[str, list[tuple[Photo, date, int, int]]] = {}
    for entry in entries:
        alignment = calendar.align(entry.date)
        if alignment.session_number is None:
            continue
        for photo in entry.photos:
            by_area.setdefault(photo.area, []).append(
                (photo, entry.date, alignment.session_number, alignment.days_since_session or 0)
            )
    pairs = []
    for area, items in by_area.items():
        first_session = min(item[2] for item in items)
        latest_session = max(item[2] for item in items)
        if first_session == latest_session:
            continue
        first_cycle = {item[3]: item for item in items if item[2] == first_session}
        latest_cycle = {item[3]: item for item in items if item[2] == latest_session}
        common = set(first_cycle) & set(latest_cycle)
        if common:
            day = min(common, key=lambda offset: abs(offset - PREFERRED_PAIR_DAY))
            pairs.append(PhotoPair(area, first_cycle[day], latest_cycle[day]))
        else:
            first_day = max(first_cycle)
            latest_day = min(latest_cycle, key=lambda offset: abs(offset - first_day))
            pairs.append(PhotoPair(area, first_cycle[first_day], latest_cycle[latest_day]))
    return sorted(pairs, key=lambda pair: list(AREAS).index(pair.area))


class _Report(FPDF):
    def __init__(self) -> None:
        super().__init__(format="A4")
        self.set_auto_page_break(auto=True, margin=15)
        self.set_margins(15, 15, 15)
        if UNICODE_FONT.exists() and UNICODE_FONT_BOLD.exists():
            self.add_font("Body", "", str(UNICODE_FONT))
            self.add_font("Body", "B", str(UNICODE_FONT_BOLD))
            self.family = "Body"
            self.unicode = True
        else:
            self.family = "Helvetica"
            self.unicode = False

    def text_safe(self, text: str) -> str:
        if self.unicode:
            return text
        return text.encode("latin-1", "replace").decode("latin-1")

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(self.family, "", 8)
        self.set_text_color(110, 100, 104)
        self.cell(
            0,
            5,
            self.text_safe(
                f"Skinlog · page {self.page_no()} · measured colours are indicative "
                "(they depend on the light); Skinlog does not diagnose."
            ),
            align="C",
        )

    def heading(self, text: str, size: int = 13) -> None:
        self.ln(3)
        self.set_font(self.family, "B", size)
        self.set_text_color(122, 59, 82)
        self.multi_cell(0, 7, self.text_safe(text), new_x="LMARGIN", new_y="NEXT")
        self.set_text_color(31, 26, 28)
        self.set_font(self.family, "", 9)

    def table(
        self, headers: Sequence[str], rows: Sequence[Sequence[str]], widths: Sequence[float]
    ) -> None:
        self.set_font(self.family, "B", 8)
        self.set_fill_color(243, 230, 235)
        for header, width in zip(headers, widths, strict=True):
            self.cell(width, 6, self.text_safe(header), border=1, fill=True)
        self.ln()
        self.set_font(self.family, "", 8)
        for row in rows:
            if self.will_page_break(6):
                self.add_page()
            for value, width in zip(row, widths, strict=True):
                self.cell(width, 6, self.text_safe(value)[:60], border=1)
            self.ln()


def build_report_pdf(
    *,
    link: ShareLink,
    patient: User,
    sessions: Sequence[TreatmentSession],
    entries: Sequence[Entry],
    calendar: SessionCalendar,
    store: PhotoStore,
    charts: Sequence[tuple[str, str]] = (),
    summary: str | None = None,
    **_: object,
) -> bytes:
    """The PDF as bytes. `charts` are (title, SVG markup) pairs drawn by the timeline."""
    pdf = _Report()
    pdf.set_title(f"Skinlog report - {patient.display_name}")
    pdf.add_page()
    pdf.heading(f"Progress of {patient.display_name}", size=16)
    period = "all records"
    if link.date_from or link.date_to:
        start = link.date_from.strftime("%d %b %Y") if link.date_from else "the start"
        end = link.date_to.strftime("%d %b %Y") if link.date_to else "today"
        period = f"{start} to {end}"
    facts = f"Tracking: {TRACKS[patient.track]}. Period: {period}."
    if patient.fitzpatrick:
        facts += f" Fitzpatrick skin type {patient.fitzpatrick}."
    pdf.multi_cell(0, 5, pdf.text_safe(facts), new_x="LMARGIN", new_y="NEXT")
    if summary:
        pdf.ln(1)
        pdf.multi_cell(0, 5, pdf.text_safe(summary), new_x="LMARGIN", new_y="NEXT")

    pdf.heading("Treatment sessions")
    if sessions:
        pdf.table(
            ["#", "Date", "Device", "Depth", "Areas", "Setting"],
            [
                [
                    str(calendar.number_of(session.date)),
                    session.date.strftime("%d %b %Y"),
                    DEVICES[session.device],
                    f"{session.needle_depth_mm:g} mm",
                    ", ".join(AREAS[area] for area in session.areas),
                    session.setting,
                ]
                for session in sessions
            ],
            [8, 25, 35, 18, 76, 18],
        )
    else:
        pdf.cell(0, 6, "No sessions in this period.", new_x="LMARGIN", new_y="NEXT")

    for title, svg in charts:
        size = re.search(r'viewBox="0 0 ([0-9.]+) ([0-9.]+)"', svg)
        height = pdf.epw * float(size.group(2)) / float(size.group(1)) if size else 100
        if pdf.will_page_break(height + 12):
            pdf.add_page()  # keep a chart with its heading
        pdf.heading(title)
        pdf.image(io.BytesIO(_svg_for_pdf(svg).encode()), w=pdf.epw)

    if link.include_photos:
        _photo_pairs_section(pdf, photo_pairs(entries, calendar), store)

    pdf.heading("Daily ratings (0-10; PIE/PIH severity 0-4)")
    short = {
        "redness": "Red",
        "swelling": "Swell",
        "pain": "Pain",
        "itching": "Itch",
        "dryness": "Dry",
        "bruising": "Bruise",
    }
    rows = []
    for entry in entries:
        alignment = calendar.align(entry.date)
        day = (
            f"S{alignment.session_number} D{alignment.days_since_session}"
            if alignment.session_number
            else "baseline"
        )
        rows.append(
            [entry.date.strftime("%d %b %Y"), day]
            + [_value(getattr(entry, name)) for name in RATINGS]
            + [_value(entry.pie_severity), _value(entry.pih_severity)]
        )
    pdf.table(
        ["Date", "Day"] + [short[name] for name in RATINGS] + ["PIE", "PIH"],
        rows,
        [26, 22] + [15] * len(RATINGS) + [16, 16],
    )
    if link.include_notes:
        noted = [entry for entry in entries if entry.notes]
        if noted:
            pdf.heading("Notes")
            for entry in noted:
                pdf.multi_cell(
                    0,
                    5,
                    pdf.text_safe(f"{entry.date:%d %b %Y}: {entry.notes}"),
                    new_x="LMARGIN",
                    new_y="NEXT",
                )
    return bytes(pdf.output())


def _photo_pairs_section(pdf: _Report, pairs: list[PhotoPair], store: PhotoStore) -> None:
    if not pairs:
        return
    pdf.heading("Photos at matched days: first and latest session")
    half = (pdf.epw - 6) / 2
    for pair in pairs:
        if pdf.will_page_break(half * 0.75 + 14):
            pdf.add_page()
        pdf.set_font(pdf.family, "B", 9)
        pdf.cell(0, 6, pdf.text_safe(AREAS[pair.area]), new_x="LMARGIN", new_y="NEXT")
        top = pdf.get_y()
        for column, (photo, day, session_number, days) in enumerate((pair.first, pair.latest)):
            left = pdf.l_margin + column * (half + 6)
            image = store.read(photo.rendition_key("display"))
            height = half * photo.height / photo.width
            pdf.image(io.BytesIO(image), x=left, y=top, w=half, h=height)
            pdf.set_xy(left, top + height + 1)
            pdf.set_font(pdf.family, "", 8)
            lab = (
                f" · a* {photo.lab_a:.1f}, ITA {photo.ita_deg:.0f}°"
                if photo.lab_a is not None
                else ""
            )
            pdf.cell(
                half,
                5,
                pdf.text_safe(f"{day:%d %b %Y} · session {session_number}, day {days}{lab}"),
            )
        pdf.set_y(
            top
            + half
            * max(
                pair.first[0].height / pair.first[0].width,
                pair.latest[0].height / pair.latest[0].width,
            )
            + 8
        )


# fpdf2 draws SVG text with its core fonts, which know Latin-1 only.
_TYPOGRAPHY = str.maketrans({"–": "-", "—": "-", "−": "-", "‘": "'", "’": "'", "“": '"', "”": '"'})


def _svg_for_pdf(svg: str) -> str:
    """The chart as fpdf2 can draw it: Latin-1 text, no <title>/<desc> (for screen readers)."""
    svg = re.sub(r"<(title|desc)\b[^>]*>.*?</\1>", "", svg, flags=re.DOTALL)
    return svg.translate(_TYPOGRAPHY).encode("latin-1", "replace").decode("latin-1")


def _value(value: int | None) -> str:
    return "-" if value is None else str(value)
