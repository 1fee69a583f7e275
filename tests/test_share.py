"""Share links: creating, scoping, revoking, and what a dermatologist without an account sees."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from datetime import date, timedelta
from urllib.parse import unquote

import pytest

from tests.conftest import Auth
from tests.test_diary import entry_form, session_form
from webapp.extensions import db
from webapp.models import Photo, ShareLink, ShareView, utcnow
from webapp.progress import SessionCalendar
from webapp.sharing.content import DayRow, ReportContent
from webapp.sharing.report import build_report_pdf
from webapp.vocabulary import AREAS

TODAY = date.today()


def create_link(client, **fields) -> str:
    """Create a link through the form; returns the path /s/<token> shown once."""
    form = {"label": "Riverside Dermatology", "expires_in_days": "30", "include_photos": "y"}
    form.update(fields)
    response = client.post("/share", data=form)
    assert response.status_code == 200, response.get_data(as_text=True)
    match = re.search(
        r'value="http://localhost(/s/[A-Za-z0-9_-]+)"', response.get_data(as_text=True)
    )
    assert match, "the page shows the link"
    return match.group(1)


def log_with_photo(client, photo: bytes, day: date = TODAY, **fields) -> None:
    form = entry_form(day=day, photo_1=(io.BytesIO(photo), "a.jpg"), photo_1_area="left_cheek")
    form.update(fields)
    response = client.post("/log", data=form, content_type="multipart/form-data")
    assert response.status_code == 302


def photos(app) -> list[Photo]:
    with app.app_context():
        return list(db.session.execute(db.select(Photo).order_by(Photo.id)).scalars())


def pdf_pages(pdf: bytes, tmp_path, *, layout: bool = True) -> list[str]:
    """The text of each page of `pdf`, one string per page: laid out as printed, or (layout
    False) in the order it was drawn, which keeps a wrapped cell's lines together."""
    assert shutil.which("pdftotext"), "pdftotext missing: apt-get install poppler-utils"
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(
        ["pdftotext", "-layout" if layout else "-raw", path, "-"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return text.split("\f")[:-1]  # pdftotext ends every page with a form feed


def words(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture
def dermatologist(app):
    """A browser with no account."""
    return app.test_client()


def test_token_has_at_least_128_bits_and_only_its_hash_is_stored(logged_in, app):
    path = create_link(logged_in)
    token = path.rsplit("/", 1)[1]
    assert len(token) >= 43  # 32 random bytes in URL-safe base64
    with app.app_context():
        link = db.session.execute(db.select(ShareLink)).scalar_one()
        assert token not in link.token_hash and len(link.token_hash) == 64
    assert token not in logged_in.get("/share").get_data(as_text=True), "shown once only"


def test_created_page_shows_qr_code_and_is_not_cached(logged_in):
    response = logged_in.post("/share", data={"label": "Clinic", "expires_in_days": "7"})
    page = response.get_data(as_text=True)
    assert "<svg" in page and 'class="segno"' in page
    assert response.headers["Cache-Control"] == "no-store"


def test_link_form_validation(logged_in, app):
    response = logged_in.post(
        "/share",
        data={
            "label": "",
            "expires_in_days": "365",
            "date_from": "2026-12-01",
            "date_to": "2026-11-01",
        },
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Give the link a name" in page
    assert "Choose 1, 7, 30 or 90 days." in page
    assert "The end date is before the start date." in page
    with app.app_context():
        assert db.session.execute(db.select(ShareLink)).first() is None


def test_dermatologist_sees_sessions_ratings_and_photos(logged_in, dermatologist, sample_photo):
    logged_in.post("/sessions/new", data=session_form())
    log_with_photo(logged_in, sample_photo, notes="private thoughts")
    path = create_link(logged_in)
    response = dermatologist.get(path)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Progress of Sam" in page
    assert "Microneedling pen" in page
    assert f"{path}/photos/" in page
    assert "private thoughts" not in page, "notes are off by default"
    photo_url = re.search(rf'({path}/photos/[^"]+\.jpg)', page).group(1)
    photo = dermatologist.get(photo_url)
    assert photo.status_code == 200 and photo.mimetype == "image/jpeg"


def test_shared_view_has_privacy_headers(logged_in, dermatologist):
    path = create_link(logged_in)
    response = dermatologist.get(path)
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Robots-Tag"] == "noindex, nofollow"
    assert response.headers["Cache-Control"] == "private, no-store"
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]


def test_shared_view_has_no_way_into_the_account_or_to_change_data(logged_in, dermatologist):
    path = create_link(logged_in)
    page = dermatologist.get(path).get_data(as_text=True)
    for account_path in ('href="/account"', 'href="/log"', 'href="/share"', 'href="/entries"'):
        assert account_path not in page
    assert 'method="post"' not in page.lower()
    assert "http://" not in page.replace("http://www.w3.org", ""), "no third-party resource"


def test_notes_shown_only_when_included(logged_in, dermatologist, sample_photo):
    logged_in.post("/log", data=entry_form(notes="itchy on day 3"))
    path = create_link(logged_in, include_notes="y")
    assert "itchy on day 3" in dermatologist.get(path).get_data(as_text=True)


def test_photos_off_hides_photos_and_their_urls_are_404(
    logged_in, dermatologist, sample_photo, app
):
    log_with_photo(logged_in, sample_photo)
    path = create_link(logged_in, include_photos="")
    page = dermatologist.get(path).get_data(as_text=True)
    assert "/photos/" not in page
    (photo,) = photos(app)
    assert dermatologist.get(f"{path}/photos/{photo.uuid}/thumb.jpg").status_code == 404


def test_date_scope_filters_entries_and_photos(logged_in, dermatologist, sample_photo, app):
    old_day, new_day = TODAY - timedelta(days=20), TODAY - timedelta(days=2)
    log_with_photo(logged_in, sample_photo, day=old_day)
    log_with_photo(logged_in, sample_photo, day=new_day)
    old_photo, new_photo = photos(app)
    path = create_link(logged_in, date_from=(TODAY - timedelta(days=7)).isoformat())
    page = dermatologist.get(path).get_data(as_text=True)
    assert new_day.strftime("%d %b") in page and old_day.strftime("%d %b") not in page
    assert dermatologist.get(f"{path}/photos/{new_photo.uuid}/display.jpg").status_code == 200
    assert dermatologist.get(f"{path}/photos/{old_photo.uuid}/display.jpg").status_code == 404


def test_another_patients_photo_through_a_valid_link_is_404(
    logged_in, other_client, dermatologist, sample_photo, app
):
    log_with_photo(other_client, sample_photo)
    (others_photo,) = photos(app)
    path = create_link(logged_in)
    assert dermatologist.get(f"{path}/photos/{others_photo.uuid}/full.jpg").status_code == 404


def test_revoked_link_answers_410_for_page_photos_and_pdf(
    logged_in, dermatologist, sample_photo, app
):
    log_with_photo(logged_in, sample_photo)
    (photo,) = photos(app)
    path = create_link(logged_in)
    with app.app_context():
        link_id = db.session.execute(db.select(ShareLink.id)).scalar_one()
    assert logged_in.post(f"/share/{link_id}/revoke").status_code == 302
    for url in (path, f"{path}/photos/{photo.uuid}/thumb.jpg", f"{path}/report.pdf"):
        response = dermatologist.get(url)
        assert response.status_code == 410, url
    page = dermatologist.get(path).get_data(as_text=True)
    assert "revoked by the patient" in page
    assert dermatologist.get(path).headers["X-Robots-Tag"] == "noindex, nofollow"


def test_expired_link_answers_410(logged_in, dermatologist, app):
    path = create_link(logged_in, expires_in_days="1")
    with app.app_context():
        link = db.session.execute(db.select(ShareLink)).scalar_one()
        link.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    response = dermatologist.get(path)
    assert response.status_code == 410
    assert "has expired" in response.get_data(as_text=True)


def test_unknown_token_is_404(dermatologist):
    assert dermatologist.get("/s/" + "A" * 43).status_code == 404
    assert dermatologist.get("/s/" + "A" * 43 + "/report.pdf").status_code == 404


def test_guessing_tokens_is_rate_limited(dermatologist, logged_in):
    create_link(logged_in)
    statuses = [dermatologist.get(f"/s/guess{number:040d}").status_code for number in range(25)]
    assert statuses[:20] == [404] * 20
    assert statuses[-1] == 429


def test_a_valid_links_missing_photos_do_not_count_as_guesses(logged_in, dermatologist):
    path = create_link(logged_in)
    for number in range(25):
        assert dermatologist.get(f"{path}/photos/{number:032x}/thumb.jpg").status_code == 404
    assert dermatologist.get(f"{path}/photos/{0:032x}/poster.jpg").status_code == 404
    assert dermatologist.get(path).status_code == 200
    assert dermatologist.get(f"{path}/report.pdf").status_code == 200


def test_overlong_tokens_count_as_guesses(dermatologist):
    statuses = [dermatologist.get("/s/" + "A" * 101).status_code for _ in range(21)]
    assert statuses[-1] == 429


def test_valid_link_is_not_rate_limited_by_photo_requests(
    logged_in, dermatologist, sample_photo, app
):
    log_with_photo(logged_in, sample_photo)
    (photo,) = photos(app)
    path = create_link(logged_in)
    for _ in range(30):
        assert dermatologist.get(f"{path}/photos/{photo.uuid}/thumb.jpg").status_code == 200


def test_each_visit_is_logged_once_not_per_photo(logged_in, dermatologist, sample_photo, app):
    log_with_photo(logged_in, sample_photo)
    (photo,) = photos(app)
    path = create_link(logged_in)
    dermatologist.get(path, headers={"User-Agent": "Mozilla/5.0 (Macintosh) Safari/605"})
    dermatologist.get(path, headers={"User-Agent": "Mozilla/5.0 (Macintosh) Safari/605"})
    for rendition in ("thumb", "display", "full"):
        dermatologist.get(f"{path}/photos/{photo.uuid}/{rendition}.jpg")
    with app.app_context():
        views = db.session.execute(db.select(ShareView)).scalars().all()
    assert len(views) == 1
    assert views[0].client == "Safari on Mac"


def test_patient_sees_views_and_status_in_their_list(logged_in, dermatologist, app):
    path = create_link(logged_in)
    dermatologist.get(path, headers={"User-Agent": "Mozilla/5.0 (iPhone) Safari/605"})
    page = logged_in.get("/share").get_data(as_text=True)
    assert "Riverside Dermatology" in page and "Active" in page and "1 view" in page
    with app.app_context():
        link_id = db.session.execute(db.select(ShareLink.id)).scalar_one()
    detail = logged_in.get(f"/share/{link_id}").get_data(as_text=True)
    assert "Safari on iPhone" in detail


def test_another_patients_link_management_is_404(logged_in, other_client, app):
    create_link(logged_in)
    with app.app_context():
        link_id = db.session.execute(db.select(ShareLink.id)).scalar_one()
    assert other_client.get(f"/share/{link_id}").status_code == 404
    assert other_client.post(f"/share/{link_id}/revoke").status_code == 404
    assert "Riverside" not in other_client.get("/share").get_data(as_text=True)


def test_share_management_needs_login(client):
    assert client.get("/share").status_code == 302
    assert client.post("/share", data={"label": "x"}).status_code == 302


def test_robots_txt_disallows_shared_views(client):
    response = client.get("/robots.txt")
    assert "Disallow: /s/" in response.get_data(as_text=True)


def test_pdf_report_holds_sessions_and_photos(logged_in, dermatologist, sample_photo):
    logged_in.post("/sessions/new", data=session_form())
    log_with_photo(logged_in, sample_photo)
    path = create_link(logged_in)
    response = dermatologist.get(f"{path}/report.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.get_data().startswith(b"%PDF")
    disposition = response.headers["Content-Disposition"]
    assert "Skinlog report - Sam - " in disposition and disposition.startswith("attachment")


def test_pdf_download_name_is_a_safe_header_whatever_the_name_holds(app, make_user, dermatologist):
    """Names saved before names were checked may hold line breaks, quotes or accents."""
    patient = make_user(name='Zoë\r\nSet-Cookie: x=1\t"Z"\\')
    browser = app.test_client()
    Auth(browser).login(patient.email)
    response = dermatologist.get(f"{create_link(browser)}/report.pdf")
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    disposition = response.headers["Content-Disposition"]
    assert disposition.isprintable() and disposition.isascii()
    fallback = re.search(r'filename="([^"]*)"', disposition).group(1)
    assert fallback.startswith("Skinlog report - Zoe Set-Cookie: x=1 'Z'")
    encoded = re.search(r"filename\*=UTF-8''(\S+)", disposition).group(1)
    assert unquote(encoded).startswith('Skinlog report - Zoë Set-Cookie: x=1 "Z"\\ - ')


def test_pdf_renders_and_holds_the_sessions_table_and_a_photo_pair(
    logged_in, dermatologist, sample_photo, tmp_path
):
    import shutil
    import subprocess

    for tool in ("pdftoppm", "pdftotext"):
        assert shutil.which(tool), f"{tool} missing: apt-get install poppler-utils"
    logged_in.post(
        "/sessions/new", data=session_form(date=(TODAY - timedelta(days=30)).isoformat())
    )
    log_with_photo(logged_in, sample_photo, day=TODAY - timedelta(days=20))
    logged_in.post(
        "/sessions/new", data=session_form(date=(TODAY - timedelta(days=10)).isoformat())
    )
    log_with_photo(logged_in, sample_photo, day=TODAY)
    path = create_link(logged_in)
    report = tmp_path / "report.pdf"
    report.write_bytes(dermatologist.get(f"{path}/report.pdf").get_data())

    subprocess.run(
        ["pdftoppm", "-r", "40", "-png", "-f", "1", "-l", "1", report, tmp_path / "page"],
        check=True,
    )
    assert (tmp_path / "page-1.png").stat().st_size > 1000
    text = subprocess.run(
        ["pdftotext", "-layout", report, "-"], check=True, capture_output=True, text=True
    ).stdout
    assert "Progress of Sam" in text
    assert "Treatment sessions" in text and "Microneedling pen" in text
    assert "Photos at matched days" in text
    assert "session 1, day 10" in text and "session 2, day 10" in text


def test_pdf_wraps_long_cells_and_notes_instead_of_cutting_them(logged_in, dermatologist, tmp_path):
    logged_in.post("/sessions/new", data=session_form(areas=list(AREAS)))
    note = "Stinging for an hour after the serum, then tight and warm; " * 3 + "the end."
    logged_in.post("/log", data=entry_form(notes=note))
    path = create_link(logged_in, include_notes="y")
    pdf = dermatologist.get(f"{path}/report.pdf").get_data()
    text = words(" ".join(pdf_pages(pdf, tmp_path, layout=False)))
    assert len(note) > 60 and words(note) in text
    assert len(", ".join(AREAS.values())) > 60
    assert all(label in text for label in AREAS.values()), "the last areas are not cut off"


def test_pdf_table_repeats_its_heading_on_every_page_it_spans(tmp_path):
    days = [
        DayRow(date(2026, 1, 1) + timedelta(days=n), 3, 1, 0, 0, 2, 0, 1, 1, "") for n in range(120)
    ]
    content = ReportContent(
        patient_name="Sam",
        track="both",
        fitzpatrick=None,
        date_from=None,
        date_to=None,
        summary="",
        sessions=[],
        charts=[],
        photo_pairs=[],
        days=days,
        calendar=SessionCalendar([]),
        include_notes=False,
    )
    pages = pdf_pages(build_report_pdf(content, store=None), tmp_path)
    heading = "Date Day Red Swell Pain Itch Dry Bruise PIE PIH"
    assert len(pages) >= 3, "120 days fill more than two pages"
    for number, page in enumerate(pages, start=1):
        lines = [words(line) for line in page.splitlines() if line.strip()]
        first_row = next(i for i, line in enumerate(lines) if re.match(r"\d\d \w\w\w 2026", line))
        assert heading in lines[:first_row], f"page {number} starts the table without its heading"
    assert all(f"{day.date:%d %b %Y}" in " ".join(pages) for day in days), "no day is lost"


def test_pdf_notes_in_any_script_read_back_as_written(logged_in, dermatologist, tmp_path, caplog):
    """Japanese, Arabic, Hindi and emoji are drawn from fallback fonts: no glyph is left out."""
    notes = {
        "Japanese": "赤みが少し引いた",
        "Arabic": "الاحمرار أقل اليوم",
        "Hindi": "लालिमा कम है",
        "emoji": "😊👍",
    }
    # The page shows each as typed. pdftotext reads the letters back in order but spaces them its
    # own way (it adds a space where the font changes, or where a vowel sign is drawn before its
    # consonant), and, like other extractors, turns each right-to-left word round letter by
    # letter, the two letters of the lam-alef ligature (one glyph, for lam then alef) included.
    pdftotext_reading = {"الاحمرار أقل اليوم": "االحمرار أقل اليوم"}
    for days_ago, note in enumerate(notes.values()):
        logged_in.post("/log", data=entry_form(day=TODAY - timedelta(days=days_ago), notes=note))
    path = create_link(logged_in, include_notes="y")
    pdf = dermatologist.get(f"{path}/report.pdf").get_data()
    assert "missing the following glyphs" not in caplog.text  # fpdf2's warning for dropped ones
    letters = unspaced(" ".join(pdf_pages(pdf, tmp_path)))  # laid out: Arabic words in order
    for script, note in notes.items():
        readings = {unspaced(note), unspaced(pdftotext_reading.get(note, note))}
        assert any(reading in letters for reading in readings), f"no {script} note in {letters}"


def unspaced(text: str) -> str:
    return "".join(text.split())


def test_pdf_still_renders_where_the_fallback_fonts_are_missing(monkeypatch, tmp_path):
    """Without the fallback fonts (no fonts-noto-*), DejaVu alone draws the report and leaves
    out the glyphs it lacks."""
    absent = tmp_path / "NotoSansCJK-Regular.ttc"
    monkeypatch.setattr("webapp.sharing.report.FALLBACK_FONTS", (("NotoCJK", absent, 0),))
    content = ReportContent(
        patient_name="Sam",
        track="both",
        fitzpatrick=None,
        date_from=None,
        date_to=None,
        summary="",
        sessions=[],
        charts=[],
        photo_pairs=[],
        days=[DayRow(date(2026, 1, 1), 3, 1, 0, 0, 2, 0, 1, 1, "Less red 赤み")],
        calendar=SessionCalendar([]),
        include_notes=True,
    )
    text = words(" ".join(pdf_pages(build_report_pdf(content, store=None), tmp_path)))
    assert "01 Jan 2026: Less red" in text and "赤" not in text


# --- What the dermatologist reads first: warning signs, then "is it working?" ---------------------


def log_flags(client, day: date, *flags: str) -> None:
    response = client.post("/log", data=entry_form(day=day, red_flags=list(flags)))
    assert response.status_code == 302


def test_shared_view_opens_with_warning_signs_and_summary_before_any_table(
    logged_in, dermatologist
):
    session_day = TODAY - timedelta(days=6)
    logged_in.post("/sessions/new", data=session_form(date=session_day.isoformat()))
    log_flags(logged_in, TODAY - timedelta(days=8))
    for offset in (2, 3, 4):
        log_flags(logged_in, session_day + timedelta(days=offset), "spreading_redness")
    log_flags(logged_in, session_day + timedelta(days=3), "pus", "spreading_redness")
    page = dermatologist.get(create_link(logged_in)).get_data(as_text=True)
    first_table = page.index("<table")
    warnings, summary = page.index('id="warnings-heading"'), page.index('id="glance-heading"')
    assert warnings < summary < first_table
    block = words(re.sub(r"<[^>]+>", " ", page[warnings:first_table]))
    day_3 = session_day + timedelta(days=3)
    assert (
        f"Pus or yellow crusting – 1 day: {day_3.day} {day_3:%b %Y} (day 3 after session 1)"
        in block
    )
    assert "Warmth or redness that is spreading – 3 days:" in block
    assert "(day 2 after session 1)" in block and "(day 4)" in block
    assert "PIE unchanged at moderate (3), PIH unchanged at almost clear (1), from" in block
    assert "(before the first session) to" in block
    assert "1 session so far;" in block


def test_warning_signs_respect_the_links_dates_and_ignore_the_notes_setting(
    logged_in, dermatologist
):
    log_flags(logged_in, TODAY - timedelta(days=20), "fever")
    log_flags(logged_in, TODAY - timedelta(days=2), "new_dark_patches")
    since = (TODAY - timedelta(days=7)).isoformat()
    page = dermatologist.get(create_link(logged_in, date_from=since)).get_data(as_text=True)
    assert "New dark patches appearing" in page and "Fever or chills" not in page
    old_only = create_link(logged_in, date_to=(TODAY - timedelta(days=10)).isoformat())
    assert "Fever or chills" in dermatologist.get(old_only).get_data(as_text=True)
    quiet = create_link(logged_in, date_from=(TODAY - timedelta(days=1)).isoformat())
    assert "No warning signs reported in this period" in dermatologist.get(quiet).get_data(
        as_text=True
    )


def test_pdf_first_page_holds_the_warning_signs_and_the_summary(logged_in, dermatologist, tmp_path):
    session_day = TODAY - timedelta(days=6)
    logged_in.post("/sessions/new", data=session_form(date=session_day.isoformat()))
    log_flags(logged_in, session_day - timedelta(days=1))
    for offset in (1, 2):
        log_flags(logged_in, session_day + timedelta(days=offset), "pus")
    pdf = dermatologist.get(f"{create_link(logged_in)}/report.pdf").get_data()
    (tmp_path / "report.pdf").write_bytes(pdf)
    first_page = words(
        subprocess.run(
            ["pdftotext", "-f", "1", "-l", "1", tmp_path / "report.pdf", "-"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    assert first_page.index("Warning signs") < first_page.index("At a glance")
    assert first_page.index("At a glance") < first_page.index("Treatment sessions")
    assert "Pus or yellow crusting - 2 days:" in first_page
    assert "(day 1 after session 1)" in first_page and "(day 2)" in first_page
    assert "PIE unchanged at moderate (3), PIH unchanged at almost clear" in first_page
    assert "1 session so far; 3 of the 8 days from" in first_page
    assert "Across the series" not in words(" ".join(pdf_pages(pdf, tmp_path))), (
        "one session: nothing to compare across sessions"
    )


# --- Before treatment and now; the daily table out of the way ------------------------------------


def photographed_series(client) -> None:
    """Portrait chin photos 40 days ago (before session 1) and today; landscape left cheek photos
    after each of two sessions (30 and 10 days ago), at day 5 and at day 10."""
    from tests.photo_factory import make_photo

    portrait, landscape = make_photo(600, 800), make_photo(800, 600)
    for days_ago in (30, 10):
        when = (TODAY - timedelta(days=days_ago)).isoformat()
        client.post("/sessions/new", data=session_form(date=when))
    for days_ago, area, image in (
        (40, "chin", portrait),
        (25, "left_cheek", landscape),
        (20, "left_cheek", landscape),
        (5, "left_cheek", landscape),
        (0, "left_cheek", landscape),
        (0, "chin", portrait),
    ):
        day = TODAY - timedelta(days=days_ago)
        form = entry_form(day=day, photo_1=(io.BytesIO(image), "a.jpg"), photo_1_area=area)
        assert client.post("/log", data=form, content_type="multipart/form-data").status_code == 302


def test_shared_view_shows_before_treatment_and_now_per_area_before_the_matched_pairs(
    logged_in, dermatologist
):
    photographed_series(logged_in)
    page = dermatologist.get(create_link(logged_in)).get_data(as_text=True)
    before_now, compare = page.index('id="before-now-heading"'), page.index('id="compare-heading"')
    assert before_now < compare
    pairs = {
        match.group(1): match.group(2)
        for match in re.finditer(r'data-before-now="(\w+)">(.*?)</div>', page, re.S)
    }
    assert set(pairs) == {"chin", "left_cheek"}
    chin, cheek = words(re.sub(r"<[^>]+>", " ", pairs["chin"])), pairs["left_cheek"]
    first_day = TODAY - timedelta(days=40)
    assert f"Before treatment {first_day.day} {first_day:%b %Y}" in chin
    assert f"Now {TODAY.day} {TODAY:%b %Y}, day 10 after session 2" in chin
    cheek_first = TODAY - timedelta(days=25)
    assert "First photo" in cheek and f"{cheek_first.day} {cheek_first:%b %Y}, day 5 after" in cheek
    sizes = re.findall(r'<img [^>]*width="(\d+)" height="(\d+)"', pairs["chin"])
    assert len(sizes) == 2 and all(int(w) * 4 == int(h) * 3 for w, h in sizes), "portrait, whole"
    assert re.findall(r'<img [^>]*width="(\d+)" height="(\d+)"', cheek)[0] == ("800", "600")


def test_shared_view_keeps_the_daily_table_in_a_closed_details_named_by_its_summary(
    logged_in, dermatologist
):
    for days_ago in range(3):
        logged_in.post("/log", data=entry_form(day=TODAY - timedelta(days=days_ago)))
    page = dermatologist.get(create_link(logged_in)).get_data(as_text=True)
    details = re.search(r"<details class=\"daily-ratings\">(.*?)</details>", page, re.S)
    assert details and "<table" in details.group(1)
    assert re.search(r'<summary id="entries-heading">Daily ratings \(3 days\)</summary>', page)
    assert page.count("<table") == page[: details.start()].count("<table") + 1


def test_pdf_first_page_has_before_treatment_and_the_summary_and_the_daily_table_comes_last(
    logged_in, dermatologist, tmp_path
):
    photographed_series(logged_in)
    for days_ago in range(1, 40):
        logged_in.post("/log", data=entry_form(day=TODAY - timedelta(days=days_ago)))
    pdf = dermatologist.get(f"{create_link(logged_in)}/report.pdf").get_data()
    pages = [words(page) for page in pdf_pages(pdf, tmp_path)]
    first = pages[0]
    for text in ("Warning signs", "At a glance", "Recovery after each session"):
        assert text in first
    assert "Across the series" in first and "Before treatment and now" in first
    assert "Before treatment" in first and "day 10 after session 2" in first
    assert "2 sessions so far" in first
    assert "Daily ratings" not in first
    assert any("Daily ratings" in page for page in pages[1:])
    text = " ".join(pages)
    assert text.index("Treatment sessions") < text.index("Photos at matched days")
    assert text.index("Photos at matched days") < text.index("Daily ratings"), "the table is last"
