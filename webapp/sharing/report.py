"""The printable report a dermatologist downloads from a share link (PDF, made with fpdf2).

It holds what the shared page shows, within the link's scope. Page 1: who and what is tracked, the
warning signs, the summary, the charts side by side and, per area, the photo before treatment
against the latest. Then the sessions table, key photo pairs at matched days after the first and
the latest session, the notes, and last the daily ratings. This module imports neither Flask nor
the models: public.py reads the records and passes them as plain data (content.py), with the
photo store.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from pathlib import Path

from fpdf import FPDF, FontFace
from fpdf.enums import TableHeadingsDisplay
from fpdf.fonts import TTFFont

from ..photo_choice import PhotoItem
from ..progress import SessionCalendar
from ..storage import PhotoStore
from ..summary import NO_WARNING_SIGNS, BeforeAndNow, photo_measures
from ..vocabulary import AREAS, DEVICES, RATINGS, TRACKS
from .content import DayRow, PhotoPair, ReportContent

# DejaVu covers any name a patient types; without it the core font shows Latin-1 only.
UNICODE_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
UNICODE_FONT_BOLD = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")
# Each glyph DejaVu lacks is drawn from the first of these that has it: (family, file, face in a
# .ttc collection). Those missing from the machine are skipped; their scripts are then left out.
FALLBACK_FONTS = (
    # fonts-noto-core
    ("NotoDevanagari", Path("/usr/share/fonts/truetype/noto/NotoSansDevanagari-Regular.ttf"), 0),
    ("NotoArabic", Path("/usr/share/fonts/truetype/noto/NotoSansArabic-Regular.ttf"), 0),
    # fonts-noto-cjk: face 0 is Japanese; every face holds the Chinese, Japanese and Korean glyphs
    ("NotoCJK", Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"), 0),
    # fonts-noto-color-emoji (colour bitmaps, which fpdf2 embeds as images)
    ("NotoEmoji", Path("/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf"), 0),
)
# Text with a character beyond Latin, Greek, Cyrillic, Armenian and their punctuation is shaped.
_NEEDS_SHAPING = re.compile("[^\u0000-\u058f\u2000-\u20cf]")
HEADING_FILL = (243, 230, 235)
GAP = 6  # mm between side-by-side charts and photos
# The ratings table's column headings: the page's labels are too wide for ten columns on A4.
SHORT_RATINGS = {
    "redness": "Red",
    "swelling": "Swell",
    "pain": "Pain",
    "itching": "Itch",
    "dryness": "Dry",
    "bruising": "Bruise",
}


def build_report_pdf(content: ReportContent, store: PhotoStore) -> bytes:
    """The PDF as bytes; the photo pairs' images are read from `store`."""
    pdf = _Report()
    pdf.set_title(f"Skinlog report - {content.patient_name}")
    pdf.add_page()
    pdf.heading(f"Progress of {content.patient_name}", size=16)
    pdf.paragraph(_facts(content))
    _warning_signs_section(pdf, content)
    _headline_section(pdf, content.headline)
    if content.summary:
        pdf.ln(1)
        pdf.paragraph(content.summary)
    _charts_section(pdf, content.charts)
    _before_and_now_section(pdf, content.before_and_now, store)
    _sessions_section(pdf, content)
    _photo_pairs_section(pdf, content.photo_pairs, store)
    if content.include_notes:
        _notes_section(pdf, content.days)
    _ratings_section(pdf, content)
    return bytes(pdf.output())


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
        self._fallbacks_read = False

    def normalize_text(self, text: str) -> str:
        """Every text drawn passes here. It is shaped (HarfBuzz) where its script needs it, so that
        Arabic letters join, right to left, and Devanagari vowel signs take their places: shaping
        every table cell too made the report three times slower."""
        self.set_text_shaping(self.unicode and _NEEDS_SHAPING.search(text) is not None)
        return super().normalize_text(text)

    def get_fallback_font(self, char: str, style: str = "") -> str | None:
        """The font for a glyph DejaVu lacks. The fallback fonts on this machine are read when a
        glyph first needs one; bold text takes their regular face."""
        if not self._fallbacks_read:
            self._fallbacks_read = True
            families = []
            for family, path, face in FALLBACK_FONTS:
                if path.exists():
                    self.add_font(family, "", str(path), collection_font_number=face)
                    families.append(family)
            self.set_fallback_fonts(families, exact_match=False)
        return super().get_fallback_font(char, style)

    def output(self, *args, **kwargs) -> bytearray | None:
        try:
            return super().output(*args, **kwargs)
        finally:
            for font in self.fonts.values():  # fpdf2 2.8.9 leaves colour fonts' files open
                if isinstance(font, TTFFont):
                    font.close()

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
                f"Skinlog · page {self.page_no()} · measured marks are indicative "
                "(light and camera affect them); Skinlog does not diagnose."
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

    def paragraph(self, text: str) -> None:
        self.multi_cell(0, 5, self.text_safe(text), new_x="LMARGIN", new_y="NEXT")

    def data_table(
        self, headings: Sequence[str], rows: Sequence[Sequence[str]], widths: Sequence[float]
    ) -> None:
        """A table (widths in mm) whose long cells wrap, and whose heading row is drawn again
        at the top of each page the table continues on."""
        self.set_font(self.family, "", 8)
        with self.table(
            width=sum(widths),
            col_widths=widths,
            align="LEFT",
            text_align="LEFT",
            line_height=4,
            padding=1,  # with line_height 4: a one-line row is 6 mm high
            headings_style=FontFace(emphasis="BOLD", fill_color=HEADING_FILL),
            repeat_headings=TableHeadingsDisplay.ON_TOP_OF_EVERY_PAGE,
        ) as table:
            for row in (headings, *rows):
                table.row([self.text_safe(value) for value in row])
        self.set_font(self.family, "", 9)


def _facts(content: ReportContent) -> str:
    period = "all records"
    if content.date_from or content.date_to:
        start = content.date_from.strftime("%d %b %Y") if content.date_from else "the start"
        end = content.date_to.strftime("%d %b %Y") if content.date_to else "today"
        period = f"{start} to {end}"
    facts = f"Tracking: {TRACKS[content.track]}. Period: {period}."
    if content.fitzpatrick:
        facts += f" Fitzpatrick skin type {content.fitzpatrick}."
    return facts


def _warning_signs_section(pdf: _Report, content: ReportContent) -> None:
    pdf.heading("Warning signs")
    if not content.warning_signs:
        pdf.paragraph(f"{NO_WARNING_SIGNS}.")
        return
    for sign in content.warning_signs:
        pdf.set_font(pdf.family, "B", 9)
        pdf.set_text_color(160, 30, 40)
        pdf.paragraph(f"{sign.label} - {sign.count}:")
        pdf.set_font(pdf.family, "", 9)
        pdf.set_text_color(31, 26, 28)
        pdf.paragraph(sign.when)


def _headline_section(pdf: _Report, lines: Sequence[str]) -> None:
    if not lines:
        return
    pdf.heading("At a glance")
    for line in lines:
        pdf.paragraph(line)


def _sessions_section(pdf: _Report, content: ReportContent) -> None:
    pdf.heading("Treatment sessions")
    if not content.sessions:
        pdf.cell(0, 6, "No sessions in this period.", new_x="LMARGIN", new_y="NEXT")
        return
    rows = [
        [
            str(session.number),
            session.date.strftime("%d %b %Y"),
            DEVICES[session.device],
            f"{session.needle_depth_mm:g} mm",
            ", ".join(AREAS[area] for area in session.areas),
            session.setting,
        ]
        for session in content.sessions
    ]
    pdf.data_table(
        ["#", "Date", "Device", "Depth", "Areas", "Setting"], rows, [8, 25, 35, 18, 76, 18]
    )


def _charts_section(pdf: _Report, charts: Sequence[tuple[str, str]]) -> None:
    """The charts two a row, each under its title: page 1 keeps room for the photos."""
    width = (pdf.epw - GAP) / 2
    for start in range(0, len(charts), 2):
        row = charts[start : start + 2]
        height = max(width * _aspect(svg) for _, svg in row)
        if pdf.will_page_break(height + 12):
            pdf.add_page()  # keep the charts with their titles
        pdf.ln(3)
        top = pdf.get_y()
        for column, (title, svg) in enumerate(row):
            left = pdf.l_margin + column * (width + GAP)
            pdf.set_xy(left, top)
            pdf.set_font(pdf.family, "B", 11)
            pdf.set_text_color(122, 59, 82)
            pdf.cell(width, 7, pdf.text_safe(title))
            pdf.image(io.BytesIO(_svg_for_pdf(svg).encode()), x=left, y=top + 8, w=width)
        pdf.set_text_color(31, 26, 28)
        pdf.set_font(pdf.family, "", 9)
        pdf.set_y(top + 8 + height + 2)


def _aspect(svg: str) -> float:
    """A chart's height over its width, from its viewBox."""
    size = re.search(r'viewBox="0 0 ([0-9.]+) ([0-9.]+)"', svg)
    return float(size.group(2)) / float(size.group(1)) if size else 0.6


def _before_and_now_section(pdf: _Report, pairs: Sequence[BeforeAndNow], store: PhotoStore) -> None:
    """Per area, the photo before treatment and the latest, each fitted into a box keeping its
    aspect ratio (nothing of the face is cut off); two areas a row."""
    if not pairs:
        return
    per_row = min(2, len(pairs))
    box_w = (pdf.epw - GAP * (2 * per_row - 1)) / (2 * per_row)
    box_h = min(box_w * 1.2, 60)
    for start in range(0, len(pairs), per_row):
        row = pairs[start : start + per_row]
        height = max(_fit(photo, box_w, box_h)[1] for p in row for photo in (p.before, p.now))
        if pdf.will_page_break(height + 24 + (12 if start == 0 else 0)):
            pdf.add_page()
        if start == 0:
            pdf.heading("Before treatment and now")
        top, bottom = pdf.get_y(), pdf.get_y()
        for index, pair in enumerate(row):
            area_left = pdf.l_margin + index * 2 * (box_w + GAP)
            pdf.set_xy(area_left, top)
            pdf.set_font(pdf.family, "B", 9)
            pdf.cell(2 * box_w + GAP, 6, pdf.text_safe(AREAS[pair.area]))
            shown = (
                (pair.before, pair.before_label, pair.before_when),
                (pair.now, "Now", pair.now_when),
            )
            for column, (photo, label, when) in enumerate(shown):
                left = area_left + column * (box_w + GAP)
                width, photo_h = _fit(photo, box_w, box_h)
                image = store.read(photo.rendition_key("display"))
                pdf.image(io.BytesIO(image), x=left, y=top + 6, w=width, h=photo_h)
                pdf.set_xy(left, top + 7 + height)
                pdf.set_font(pdf.family, "B", 8)
                pdf.cell(box_w, 4, pdf.text_safe(label), new_x="LEFT", new_y="NEXT")
                pdf.set_font(pdf.family, "", 8)
                pdf.multi_cell(box_w, 4, pdf.text_safe(when), align="L", new_x="LEFT", new_y="NEXT")
                bottom = max(bottom, pdf.get_y())
        pdf.set_xy(pdf.l_margin, bottom + 3)
    pdf.set_font(pdf.family, "", 9)


def _fit(photo: PhotoItem, box_w: float, box_h: float) -> tuple[float, float]:
    """The photo's size (mm) fitted into a box, keeping its aspect ratio."""
    scale = min(box_w / photo.width, box_h / photo.height)
    return photo.width * scale, photo.height * scale


def _photo_pairs_section(pdf: _Report, pairs: Sequence[PhotoPair], store: PhotoStore) -> None:
    if not pairs:
        return
    half = (pdf.epw - 6) / 2
    if pdf.will_page_break(half * 0.75 + 24):
        pdf.add_page()  # the heading with its first pair
    pdf.heading("Photos at matched days: first and latest session")
    for pair in pairs:
        if pdf.will_page_break(half * 0.75 + 24):
            pdf.add_page()
        pdf.set_font(pdf.family, "B", 9)
        pdf.cell(0, 6, pdf.text_safe(AREAS[pair.area]), new_x="LMARGIN", new_y="NEXT")
        top = bottom = pdf.get_y()
        for column, photo in enumerate((pair.first, pair.latest)):
            left = pdf.l_margin + column * (half + 6)
            height = half * photo.height / photo.width
            image = store.read(photo.rendition_key("display"))
            pdf.image(io.BytesIO(image), x=left, y=top, w=half, h=height)
            pdf.set_xy(left, top + height + 1)
            pdf.set_font(pdf.family, "", 8)
            caption = pdf.text_safe(_photo_caption(photo))
            pdf.multi_cell(half, 4, caption, align="L", new_x="LEFT", new_y="NEXT")
            bottom = max(bottom, pdf.get_y())
        pdf.set_y(bottom + 3)


def _photo_caption(photo: PhotoItem) -> str:
    """'01 Dec 2026 · session 3, day 13 · Fair quality: Too dark', then its measured marks,
    'red marks Δa* 6.2 over 3.2% of the skin; no dark marks found (indicative)'; a photo stored
    before marks were measured gives its central mean colour (summary.photo_measures)."""
    caption = (
        f"{photo.date:%d %b %Y} · session {photo.session_number}, day {photo.days_since_session}"
    )
    if photo.quality_note:
        caption += f" · {photo.quality_note}"
    measures = photo_measures(photo)
    return caption + (f"\n{measures}" if measures else "")


def _ratings_section(pdf: _Report, content: ReportContent) -> None:
    if pdf.will_page_break(30):
        pdf.add_page()  # not a heading alone at the foot of a page
    pdf.heading("Daily ratings (0-10; PIE/PIH severity 0-4)")
    pdf.data_table(
        ["Date", "Day"] + [SHORT_RATINGS[name] for name in RATINGS] + ["PIE", "PIH"],
        [_rating_cells(day, content.calendar) for day in content.days],
        [26, 22] + [15] * len(RATINGS) + [16, 16],
    )


def _rating_cells(day: DayRow, calendar: SessionCalendar) -> list[str]:
    alignment = calendar.align(day.date)
    when = "baseline"
    if alignment.session_number:
        when = f"S{alignment.session_number} D{alignment.days_since_session}"
    ratings = [_value(getattr(day, name)) for name in RATINGS]
    return [
        day.date.strftime("%d %b %Y"),
        when,
        *ratings,
        _value(day.pie_severity),
        _value(day.pih_severity),
    ]


def _notes_section(pdf: _Report, days: Sequence[DayRow]) -> None:
    noted = [day for day in days if day.notes]
    if not noted:
        return
    pdf.heading("Notes")
    for day in noted:
        pdf.paragraph(f"{day.date:%d %b %Y}: {day.notes}")


# fpdf2 draws SVG text with its core fonts, which know Latin-1 only.
_TYPOGRAPHY = str.maketrans(
    {"–": "-", "—": "-", "−": "-", "‘": "'", "’": "'", "“": '"', "”": '"', "Δ": "delta "}
)


def _svg_for_pdf(svg: str) -> str:
    """The chart as fpdf2 can draw it: Latin-1 text, no <title>/<desc> (for screen readers)."""
    svg = re.sub(r"<(title|desc)\b[^>]*>.*?</\1>", "", svg, flags=re.DOTALL)
    return svg.translate(_TYPOGRAPHY).encode("latin-1", "replace").decode("latin-1")


def _value(value: int | None) -> str:
    return "-" if value is None else str(value)
