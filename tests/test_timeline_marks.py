"""The measured curves from the photos' marks: which photos count (quality, alignment), the
"Include poor-quality photos" toggle, the timeline JSON's photo measures, the quality badge on
the photo strips (patient and clinician), and the PDF's photo captions."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from tests.history_factory import add_history
from tests.photo_factory import make_photo
from tests.test_share import create_link, pdf_pages
from webapp.extensions import db
from webapp.models import Entry, Photo
from webapp.photo_choice import PhotoItem
from webapp.progress import SessionCalendar
from webapp.records import claim_changes
from webapp.serializers import photo_json
from webapp.sharing.content import PhotoPair, ReportContent
from webapp.sharing.report import build_report_pdf

TODAY = date.today()
POOR = {
    "verdict": "poor",
    "reasons": ["Too dark", "Blurred"],
    "mean_l": 21.0,
    "clipped": 0.0,
    "sharpness": 12.0,
    "cast": 1.0,
}
ODD_MARKS = {  # far from the history's, so a curve shows whether they went in
    "delta_a": 50.0,
    "red_area": 0.5,
    "red_count": 9,
    "delta_l": -40.0,
    "dark_area": 0.4,
    "dark_count": 9,
    "skin_fraction": 0.6,
}


def todays_photo(app, user, area: str = "left_cheek", **columns) -> str:
    """Today's photo of `area` given `columns` (quality, marks, alignment); returns its uuid."""
    with app.app_context():
        photo = db.session.execute(
            db.select(Photo)
            .join(Entry)
            .where(Photo.user_id == user.id, Photo.area == area, Entry.date == TODAY)
        ).scalar_one()
        for name, value in columns.items():
            setattr(photo, name, value)
        db.session.commit()
        return photo.uuid


@pytest.fixture
def history(app, user):
    """20 days, one session 7 days in, photos of both cheeks with good quality and marks."""
    with app.app_context():
        add_history(user.id, days=20, sessions=1)


def today_point(client, query: str = "") -> float | None:
    """The left cheek's Δa* curve's value today (day 12 after the session), from the JSON."""
    data = client.get(f"/timeline/data.json?metric=delta_a&area=left_cheek{query}").get_json()
    return dict(data["curves"][0]["points"]).get(12)


def test_a_poor_photos_marks_are_left_out_of_the_curve(logged_in, app, user, history):
    assert today_point(logged_in) == 4.0  # PIE 1 today: the history's Δa* is 3 + PIE
    todays_photo(app, user, quality=POOR, marks=ODD_MARKS)
    assert today_point(logged_in) is None, "the day's only photo of the area was poor"


def test_with_poor_1_a_poor_photos_marks_are_in_the_curve(logged_in, app, user, history):
    todays_photo(app, user, quality=POOR, marks=ODD_MARKS)
    assert today_point(logged_in, "&poor=1") == 50.0


def test_an_unaligned_photo_is_left_out_even_with_poor_photos(logged_in, app, user, history):
    unaligned = {"reference": None, "matrix": [1, 0, 0, 0, 1, 0], "score": 0.1, "aligned": False}
    todays_photo(app, user, marks=ODD_MARKS, alignment=unaligned)
    assert today_point(logged_in) is None
    assert today_point(logged_in, "&poor=1") is None


def test_the_line_under_the_chart_counts_the_unaligned_photos_left_out(
    logged_in, app, user, history
):
    unaligned = {"reference": None, "matrix": [1, 0, 0, 0, 1, 0], "score": 0.1, "aligned": False}
    todays_photo(app, user, alignment=unaligned)
    page = logged_in.get("/timeline?metric=delta_a&area=left_cheek").get_data(as_text=True)
    assert "1 photo that could not be lined up with the others is left out." in page
    assert "poor-quality photos are left out." in page, "no poor photo: no count"


def test_a_photo_without_marks_is_not_measured(logged_in, app, user, history):
    todays_photo(app, user, marks=None)
    assert today_point(logged_in) is None


def test_the_days_photos_that_count_are_averaged(logged_in, app, user, history):
    with app.app_context():
        entry = db.session.execute(
            db.select(Entry).where(Entry.user_id == user.id, Entry.date == TODAY)
        ).scalar_one()
        second = Photo(
            uuid="00000000-0000-4000-8000-000000000001",
            user_id=user.id,
            entry_id=entry.id,
            area="left_cheek",
            storage_key="second",
            width=1200,
            height=900,
            byte_size=1,
            sha256="0" * 64,
            marks={**ODD_MARKS, "delta_a": 7.0},
            client_updated_at=entry.client_updated_at,
            change_seq=claim_changes(user.id, 1),
        )
        db.session.add(second)
        db.session.commit()
    assert today_point(logged_in) == 5.5  # (4 + 7) / 2


def test_the_json_carries_each_photos_quality_marks_and_alignment_as_the_api_does(
    logged_in, app, user, history
):
    uuid = todays_photo(app, user, quality=POOR, marks=ODD_MARKS)
    columns = logged_in.get("/timeline/data.json?photos=all").get_json()["photos"]["left_cheek"]
    assert {"quality", "marks", "alignment", "counted"} <= set(columns)
    index = columns["id"].index(uuid)
    with app.test_request_context():
        api = photo_json(db.session.execute(db.select(Photo).filter_by(uuid=uuid)).scalar_one())
    shown = {name: columns[name][index] for name in ("quality", "marks", "alignment")}
    assert shown == {name: api[name] for name in ("quality", "marks", "alignment")}
    assert columns["counted"][index] is False and columns["counted"][0] is True


def test_the_toggle_is_a_labelled_checkbox_in_a_get_form(logged_in, history):
    page = logged_in.get("/timeline?metric=delta_a").get_data(as_text=True)
    form = re.search(r'<form method="get" class="poor-toggle">.*?</form>', page, re.S).group(0)
    assert '<label class="choice" for="include-poor">' in form
    assert re.search(r'<input id="include-poor" type="checkbox" name="poor" value="1"\s+aria', form)
    assert 'name="metric" value="delta_a"' in form and 'type="submit"' in form
    ticked = logged_in.get("/timeline?metric=delta_a&poor=1").get_data(as_text=True)
    assert re.search(r'id="include-poor"[^>]*\bchecked\b', ticked)


def test_choosing_another_metric_keeps_the_poor_photos_in(logged_in, history):
    page = logged_in.get("/timeline?metric=delta_a&poor=1").get_data(as_text=True)
    picker = re.search(r'<form method="get" class="metric-picker".*?</form>', page, re.S).group(0)
    assert '<input type="hidden" name="poor" value="1">' in picker
    without = logged_in.get("/timeline?metric=delta_a").get_data(as_text=True)
    assert 'name="poor" value="1">' not in without


def test_the_line_under_the_measured_chart_says_what_is_measured_and_what_is_left_out(
    logged_in, app, user, history
):
    todays_photo(app, user, quality=POOR)
    page = logged_in.get("/timeline?metric=delta_a&area=left_cheek").get_data(as_text=True)
    assert "Measured from the left cheek photos: how much redder (Δa*) or darker (ΔL*)" in page
    assert "Indicative only: light and camera still affect it" in page
    assert "poor-quality photos are left out (1)." in page
    included = logged_in.get("/timeline?metric=delta_a&area=left_cheek&poor=1")
    assert "poor-quality photos are included." in included.get_data(as_text=True)


def test_the_summary_states_the_marks_of_the_photos_that_count(logged_in, app, user, history):
    page = logged_in.get("/timeline?area=left_cheek").get_data(as_text=True)
    # PIE 2 the day before the session (Δa* 3 + 2, 3% of the skin), 1 today (4.0, 2.0%).
    assert "measured red marks Δa* 5.0 to 4.0 over 3.0% to 2.0% of the skin" in page
    todays_photo(app, user, quality=POOR, marks=ODD_MARKS)
    left_out = logged_in.get("/timeline?area=left_cheek").get_data(as_text=True)
    assert "Δa* 5.0 to 4.0 over 3.0% to 2.0%" in left_out  # yesterday's: also PIE 1
    with_poor = logged_in.get("/timeline?area=left_cheek&poor=1").get_data(as_text=True)
    assert "Δa* 5.0 to 50.0 over 3.0% to 50.0% of the skin" in with_poor


def badges(page: str) -> list[str]:
    return re.findall(r'<span class="quality-badge quality-(\w+)" title="([^"]*)">', page)


def test_the_strip_shows_each_photos_quality_in_words_with_its_reasons(
    logged_in, app, user, history
):
    todays_photo(app, user, quality=POOR)
    page = logged_in.get("/timeline").get_data(as_text=True)
    shown = badges(page)
    assert ("poor", "Poor quality: Too dark, Blurred") in shown
    assert ("good", "Good quality") in shown
    assert '<span class="visually-hidden">Poor quality: Too dark, Blurred</span>' in page
    assert '<span aria-hidden="true">Poor</span>' in page


def test_the_every_photo_grid_has_the_badge_too(logged_in, app, user, history):
    todays_photo(app, user, quality=POOR)
    grid = logged_in.get("/timeline/photos/left_cheek").get_data(as_text=True)
    assert badges(grid).count(("poor", "Poor quality: Too dark, Blurred")) == 1
    assert len(badges(grid)) == 20


def test_a_photo_stored_before_quality_was_measured_has_no_badge(logged_in, app, user, history):
    with app.app_context():
        db.session.execute(db.update(Photo).values(quality=None))
        db.session.commit()
    assert badges(logged_in.get("/timeline").get_data(as_text=True)) == []


def test_the_clinicians_strips_have_the_badge(logged_in, app, user, history):
    todays_photo(app, user, quality=POOR)
    path = create_link(logged_in)
    page = app.test_client().get(path).get_data(as_text=True)
    assert ("poor", "Poor quality: Too dark, Blurred") in badges(page)
    assert "Include poor-quality photos" not in page, "the patient's choice, not the link's"


class Store:
    """A photo store holding one JPEG under every key."""

    def __init__(self) -> None:
        self.image = make_photo(400, 300)

    def read(self, key: str) -> bytes:
        return self.image


def item(day: int, *, quality=None, marks=None, lab=(None, None)) -> PhotoItem:
    start = date(2026, 1, 1)
    return PhotoItem(
        f"photo-{day}",
        "left_cheek",
        start + timedelta(days=day),
        1 if day < 30 else 2,
        day % 30,
        400,
        300,
        f"key-{day}",
        *lab,
        quality=quality,
        marks=marks,
    )


def report_text(pair: PhotoPair, tmp_path) -> str:
    content = ReportContent(
        patient_name="Sam",
        track="both",
        fitzpatrick=None,
        date_from=None,
        date_to=None,
        summary="",
        sessions=[],
        charts=[],
        photo_pairs=[pair],
        days=[],
        calendar=SessionCalendar([date(2026, 1, 1), date(2026, 1, 31)]),
        include_notes=False,
    )
    pages = pdf_pages(build_report_pdf(content, Store()), tmp_path, layout=False)
    return " ".join(" ".join(pages).split())


def test_the_pdf_captions_give_the_marks_and_the_quality(tmp_path):
    fair = {**POOR, "verdict": "fair", "reasons": ["Colour cast"]}
    no_red = {**ODD_MARKS, "delta_a": None, "red_area": 0.0, "delta_l": -4.25, "dark_area": 0.012}
    pair = PhotoPair("left_cheek", item(10, quality=fair, marks=ODD_MARKS), item(40, marks=no_red))
    text = report_text(pair, tmp_path)
    assert "Fair quality: Colour cast" in text
    assert "red marks Δa* 50.0 over 50.0% of the skin; dark marks ΔL* -40.0 over 40.0%" in text
    assert "no red marks found; dark marks ΔL* -4.2 over 1.2% of the skin (indicative)" in text
    assert "a*" not in text.replace("Δa*", ""), "the central mean is not shown beside the marks"


def test_the_pdf_caption_of_an_older_photo_keeps_its_central_colour(tmp_path):
    pair = PhotoPair("left_cheek", item(10, lab=(14.46, 52.6)), item(40, lab=(12.0, 55.0)))
    text = report_text(pair, tmp_path)
    assert "a* 14.5, ITA° 53 (indicative)" in text
    assert "quality" not in text
