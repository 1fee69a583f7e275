"""The diary pages: sessions, the daily log, the entry list, photos — and who may see them."""

from __future__ import annotations

import html
import io
import json
import re
from datetime import date, timedelta

from PIL import Image

from tests.photo_factory import make_photo
from webapp.extensions import db
from webapp.models import Entry, Photo, TreatmentSession

TODAY = date.today()


def session_form(**overrides):
    form = {
        "date": (TODAY - timedelta(days=3)).isoformat(),
        "device": "pen",
        "needle_depth_mm": "1.0",
        "areas": ["left_cheek", "right_cheek"],
        "topicals": ["hyaluronic_acid"],
        "setting": "clinic",
        "provider": "Riverside Clinic",
        "notes": "",
    }
    form.update(overrides)
    return form


def entry_form(day: date = TODAY, **overrides):
    form = {
        "date": day.isoformat(),
        "redness": "6",
        "swelling": "3",
        "pain": "2",
        "itching": "",
        "dryness": "4",
        "bruising": "0",
        "pie_severity": "3",
        "pih_severity": "1",
        "aftercare": ["sunscreen", "no_makeup"],
        "notes": "Tight and warm.",
    }
    form.update(overrides)
    return form


def only(app, model):
    with app.app_context():
        return db.session.execute(db.select(model)).scalars().all()


# --- Sessions -------------------------------------------------------------------------------------


def test_record_a_session(logged_in, app):
    response = logged_in.post("/sessions/new", data=session_form())
    assert response.status_code == 302
    (session,) = only(app, TreatmentSession)
    assert session.device == "pen" and session.needle_depth_mm == 1.0
    assert session.areas == ["left_cheek", "right_cheek"]
    page = logged_in.get("/sessions").get_data(as_text=True)
    assert "Microneedling pen, 1 mm" in page and "Riverside Clinic" in page


def test_session_validation_errors_are_shown_per_field(logged_in, app):
    response = logged_in.post(
        "/sessions/new",
        data=session_form(
            date=(TODAY + timedelta(days=1)).isoformat(),
            device="laser",
            needle_depth_mm="4",
            areas=[],
        ),
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "cannot be in the future" in page
    assert "choose one of" in page
    assert "between 0.1 and 3.0 mm" in page
    assert "choose at least one treated area" in page
    assert only(app, TreatmentSession) == []


def test_session_depth_must_be_a_number(logged_in):
    response = logged_in.post("/sessions/new", data=session_form(needle_depth_mm="deep"))
    assert response.status_code == 422
    assert "must be a number of millimetres" in response.get_data(as_text=True)


def test_edit_and_delete_a_session(logged_in, app):
    logged_in.post("/sessions/new", data=session_form())
    (session,) = only(app, TreatmentSession)
    assert logged_in.get(f"/sessions/{session.uuid}/edit").status_code == 200
    logged_in.post(f"/sessions/{session.uuid}/edit", data=session_form(needle_depth_mm="1.5"))
    (edited,) = only(app, TreatmentSession)
    assert edited.needle_depth_mm == 1.5
    assert logged_in.post(f"/sessions/{session.uuid}/delete").status_code == 302
    (deleted,) = only(app, TreatmentSession)
    assert deleted.deleted_at is not None
    assert "No sessions yet" in logged_in.get("/sessions").get_data(as_text=True)


def test_another_users_session_is_404(logged_in, other_client, app):
    logged_in.post("/sessions/new", data=session_form())
    (session,) = only(app, TreatmentSession)
    assert other_client.get(f"/sessions/{session.uuid}/edit").status_code == 404
    assert (
        other_client.post(f"/sessions/{session.uuid}/edit", data=session_form()).status_code == 404
    )
    assert other_client.post(f"/sessions/{session.uuid}/delete").status_code == 404
    assert "Riverside" not in other_client.get("/sessions").get_data(as_text=True)


# --- Daily entries --------------------------------------------------------------------------------


def test_log_form_defaults_to_today_and_asks_only_tracked_severities(client, auth, make_user):
    patient = make_user("pie-only@example.com", track="pie")
    auth.login(patient.email)
    page = client.get("/log").get_data(as_text=True)
    assert f'value="{TODAY.isoformat()}"' in page
    assert 'name="pie_severity"' in page
    assert 'name="pih_severity"' not in page
    assert 'accept="image/*" capture="environment"' in page


def test_log_an_entry_with_a_photo(logged_in, app, sample_photo):
    form = entry_form(photo_1=(io.BytesIO(sample_photo), "IMG_0001.JPG"), photo_1_area="left_cheek")
    response = logged_in.post("/log", data=form, content_type="multipart/form-data")
    assert response.status_code == 302
    (entry,) = only(app, Entry)
    assert (entry.redness, entry.itching, entry.pie_severity) == (6, None, 3)
    assert entry.aftercare == ["sunscreen", "no_makeup"]
    (photo,) = only(app, Photo)
    assert photo.area == "left_cheek" and photo.entry_id == entry.id
    assert "IMG_0001" not in photo.storage_key


def test_logging_the_same_day_again_edits_that_entry(logged_in, app):
    logged_in.post("/log", data=entry_form(redness="6"))
    logged_in.post("/log", data=entry_form(redness="2"))
    (entry,) = only(app, Entry)
    assert entry.redness == 2


def test_entry_shows_day_after_session(logged_in):
    logged_in.post("/sessions/new", data=session_form(date=(TODAY - timedelta(days=3)).isoformat()))
    response = logged_in.post("/log", data=entry_form())
    page = logged_in.get(response.headers["Location"]).get_data(as_text=True)
    assert "Day 3 after session 1" in page


def test_entry_before_any_session_is_baseline(logged_in):
    response = logged_in.post("/log", data=entry_form())
    page = logged_in.get(response.headers["Location"]).get_data(as_text=True)
    assert "Before first session" in page


def test_future_entry_is_refused(logged_in, app):
    response = logged_in.post("/log", data=entry_form(day=TODAY + timedelta(days=2)))
    assert response.status_code == 422
    assert "cannot be in the future" in response.get_data(as_text=True)
    assert only(app, Entry) == []


def test_out_of_range_and_non_numeric_ratings_are_refused(logged_in, app):
    response = logged_in.post(
        "/log", data=entry_form(redness="11", swelling="lots", pie_severity="5")
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Redness must be from 0 to 10" in page
    assert "Swelling must be a whole number" in page
    assert "value must be from 0 to 4" in page
    assert only(app, Entry) == []


def test_unknown_red_flag_is_refused(logged_in):
    response = logged_in.post("/log", data=entry_form(red_flags=["headache"]))
    assert response.status_code == 422
    assert "unknown: headache" in response.get_data(as_text=True)


def test_red_flag_shows_contact_your_clinician(logged_in):
    response = logged_in.post(
        "/log", data=entry_form(red_flags=["pus", "fever"]), follow_redirects=True
    )
    page = response.get_data(as_text=True)
    assert "Contact your clinician" in page
    assert "pus or yellow crusting" in page
    assert "infection" not in page.lower(), "the app never names a diagnosis"


def test_bad_photo_is_rejected_with_a_clear_message_and_the_entry_is_kept(logged_in, app):
    form = entry_form(
        photo_1=(io.BytesIO(b"%PDF-1.4 not an image"), "scan.jpg"), photo_1_area="front"
    )
    response = logged_in.post("/log", data=form, content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    assert response.status_code == 415
    assert "Photo 1 (scan.jpg)" in page
    assert len(only(app, Entry)) == 1, "the ratings were saved"
    assert only(app, Photo) == []


def test_truncated_photo_is_rejected_not_a_500(logged_in, app):
    truncated = make_photo(1200, 900)[:4000]
    form = entry_form(photo_1=(io.BytesIO(truncated), "cut.jpg"), photo_1_area="front")
    response = logged_in.post("/log", data=form, content_type="multipart/form-data")
    assert response.status_code == 422
    assert only(app, Photo) == []


def test_oversized_request_gets_413_page(logged_in, app):
    app.config["MAX_CONTENT_LENGTH"] = 50_000
    form = entry_form(photo_1=(io.BytesIO(b"\xff" * 60_000), "big.jpg"), photo_1_area="front")
    response = logged_in.post("/log", data=form, content_type="multipart/form-data")
    assert response.status_code == 413
    assert "too large" in response.get_data(as_text=True)


def test_photo_area_must_be_known(logged_in, app, sample_photo):
    form = entry_form(photo_1=(io.BytesIO(sample_photo), "a.jpg"), photo_1_area="elbow")
    response = logged_in.post("/log", data=form, content_type="multipart/form-data")
    assert response.status_code == 422
    assert "choose which area" in response.get_data(as_text=True)


def test_at_most_six_photos_per_entry(logged_in, app):
    photos = {
        f"photo_{slot}": (io.BytesIO(make_photo(200, 150)), f"{slot}.jpg") for slot in range(1, 7)
    }
    areas = {f"photo_{slot}_area": "front" for slot in range(1, 7)}
    logged_in.post("/log", data=entry_form(**photos, **areas), content_type="multipart/form-data")
    assert len(only(app, Photo)) == 6
    extra = {"photo_1": (io.BytesIO(make_photo(200, 150)), "7.jpg"), "photo_1_area": "front"}
    response = logged_in.post("/log", data=entry_form(**extra), content_type="multipart/form-data")
    assert response.status_code == 422
    assert len(only(app, Photo)) == 6


def test_remove_a_photo_from_an_entry(logged_in, app, sample_photo):
    form = entry_form(photo_1=(io.BytesIO(sample_photo), "a.jpg"), photo_1_area="front")
    logged_in.post("/log", data=form, content_type="multipart/form-data")
    (photo,) = only(app, Photo)
    logged_in.post("/log", data=entry_form(remove_photo=[photo.uuid]))
    (removed,) = only(app, Photo)
    assert removed.deleted_at is not None
    assert logged_in.get(f"/photos/{photo.uuid}/thumb.jpg").status_code == 404
    with app.app_context():
        assert not app.extensions["photo_store"].exists(photo.rendition_key("full"))


def test_entry_list_newest_first_with_thumbnails(logged_in, sample_photo):
    logged_in.post("/log", data=entry_form(day=TODAY - timedelta(days=2)))
    form = entry_form(photo_1=(io.BytesIO(sample_photo), "a.jpg"), photo_1_area="front")
    logged_in.post("/log", data=form, content_type="multipart/form-data")
    page = logged_in.get("/entries").get_data(as_text=True)
    assert page.index(TODAY.strftime("%d %b %Y")) < page.index(
        (TODAY - timedelta(days=2)).strftime("%d %b %Y")
    )
    assert "/thumb.jpg" in page


def test_entry_list_runs_a_constant_number_of_queries(logged_in, app, count_queries, sample_photo):
    def add_entries(count: int, start: int) -> None:
        for offset in range(start, start + count):
            form = entry_form(
                day=TODAY - timedelta(days=offset),
                photo_1=(io.BytesIO(sample_photo), "a.jpg"),
                photo_1_area="front",
            )
            logged_in.post("/log", data=form, content_type="multipart/form-data")

    add_entries(2, 0)
    with count_queries() as few:
        logged_in.get("/entries")
    add_entries(8, 2)
    with count_queries() as many:
        logged_in.get("/entries")
    assert len(many) == len(few)


def test_delete_an_entry(logged_in, app):
    logged_in.post("/log", data=entry_form())
    (entry,) = only(app, Entry)
    assert logged_in.post(f"/entries/{entry.uuid}/delete").status_code == 302
    assert logged_in.get(f"/entries/{entry.uuid}").status_code == 404
    # The day is free again: logging it creates a fresh entry.
    logged_in.post("/log", data=entry_form())
    assert len([e for e in only(app, Entry) if e.deleted_at is None]) == 1


def test_another_users_entry_and_photos_are_404(logged_in, other_client, app, sample_photo):
    form = entry_form(photo_1=(io.BytesIO(sample_photo), "a.jpg"), photo_1_area="front")
    logged_in.post("/log", data=form, content_type="multipart/form-data")
    (entry,) = only(app, Entry)
    (photo,) = only(app, Photo)
    assert other_client.get(f"/entries/{entry.uuid}").status_code == 404
    assert other_client.post(f"/entries/{entry.uuid}/delete").status_code == 404
    for rendition in ("full", "display", "thumb"):
        assert other_client.get(f"/photos/{photo.uuid}/{rendition}.jpg").status_code == 404
    assert "thumb.jpg" not in other_client.get("/entries").get_data(as_text=True)


def test_owner_gets_photo_privately_without_metadata(logged_in, app, sample_photo):
    form = entry_form(photo_1=(io.BytesIO(sample_photo), "a.jpg"), photo_1_area="front")
    logged_in.post("/log", data=form, content_type="multipart/form-data")
    (photo,) = only(app, Photo)
    response = logged_in.get(f"/photos/{photo.uuid}/full.jpg")
    assert response.status_code == 200
    assert response.mimetype == "image/jpeg"
    assert response.headers["Cache-Control"].startswith("private")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    body = response.get_data()
    assert b"secret comment" not in body and b"Exif" not in body
    assert Image.open(io.BytesIO(body)).size == (800, 600)
    assert logged_in.get(f"/photos/{photo.uuid}/original.jpg").status_code == 404


def test_forms_without_csrf_token_are_refused(logged_in, app):
    response = logged_in.post("/log", data=entry_form(), csrf=False)
    assert response.status_code == 400
    assert only(app, Entry) == []


def test_security_headers_on_every_page(logged_in):
    response = logged_in.get("/")
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    for directive in ("object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"):
        assert directive in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_pages_have_no_inline_script(logged_in):
    for path in ("/", "/log", "/entries", "/sessions", "/sessions/new", "/account"):
        page = logged_in.get(path).get_data(as_text=True)
        assert "<script>" not in page and "onclick=" not in page and " style=" not in page, path


def test_capture_time_is_kept_only_when_the_patient_asks(logged_in, app, user):
    from datetime import datetime

    taken = datetime(2026, 11, 20, 8, 30)
    photo = make_photo(400, 300, taken_at=taken)
    form = entry_form(photo_1=(io.BytesIO(photo), "a.jpg"), photo_1_area="front")
    logged_in.post("/log", data=form, content_type="multipart/form-data")
    logged_in.post(
        "/account/profile",
        data={
            "display_name": "Sam",
            "track": "both",
            "fitzpatrick": "",
            "timezone": "UTC",
            "keep_photo_times": "y",
        },
    )
    form = entry_form(photo_1=(io.BytesIO(photo), "b.jpg"), photo_1_area="front")
    logged_in.post("/log", data=form, content_type="multipart/form-data")
    first, second = only(app, Photo)
    assert first.taken_at is None
    assert second.taken_at == taken


# --- A log form never writes over another day's entry (issue 9, item 4) ---------------------------


def _loaded_entry(page: str) -> str:
    return re.search(r'name="loaded_entry" value="([^"]*)"', page).group(1)


def test_the_log_form_names_the_entry_it_was_opened_with(logged_in, app):
    day = TODAY - timedelta(days=2)
    logged_in.post("/log", data=entry_form(day))
    (entry,) = only(app, Entry)
    assert _loaded_entry(logged_in.get(f"/log?date={day}").get_data(as_text=True)) == entry.uuid
    assert _loaded_entry(logged_in.get("/log").get_data(as_text=True)) == "new"


def test_a_form_opened_for_another_day_shows_that_days_entry_instead_of_replacing_it(
    logged_in, app, sample_photo
):
    day = TODAY - timedelta(days=2)
    logged_in.post("/log", data=entry_form(day, redness="4", notes="Tight and warm."))
    (entry,) = only(app, Entry)

    # Opened for today (a new entry), the date then changed to that day: nothing is saved.
    photo = {"photo_1": (io.BytesIO(sample_photo), "a.jpg"), "photo_1_area": "front"}
    form = entry_form(day, redness="8", notes="", loaded_entry="new", **photo)
    response = logged_in.post("/log", data=form, content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "Nothing was saved: you already have an entry for" in page
    assert ">Tight and warm.</textarea>" in page
    assert _loaded_entry(page) == entry.uuid
    (unchanged,) = only(app, Entry)
    assert (unchanged.redness, unchanged.notes) == (4, "Tight and warm.")
    assert only(app, Photo) == []

    # Saved again from that page (now naming the day's entry), it edits it.
    form = entry_form(day, redness="8", notes="Tight and warm.", loaded_entry=entry.uuid)
    assert logged_in.post("/log", data=form).status_code == 302
    (edited,) = only(app, Entry)
    assert (edited.uuid, edited.redness, edited.notes) == (entry.uuid, 8, "Tight and warm.")


def test_the_offline_log_form_carries_a_copy_of_the_last_month(logged_in, app, sample_photo):
    recent, old = TODAY - timedelta(days=2), TODAY - timedelta(days=40)
    photo = {"photo_1": (io.BytesIO(sample_photo), "a.jpg"), "photo_1_area": "left_cheek"}
    form = entry_form(recent, notes="Flaky <nose> & 'chin'", **photo)
    logged_in.post("/log", data=form, content_type="multipart/form-data")
    logged_in.post("/log", data=entry_form(old))

    page = logged_in.get("/log?shell=1").get_data(as_text=True)
    copy = json.loads(html.unescape(re.search(r"data-phone-copy='([^']*)'", page).group(1)))
    assert copy["since"] == (TODAY - timedelta(days=30)).isoformat()
    assert list(copy["entries"]) == [recent.isoformat()]  # of older days it knows nothing
    values = copy["entries"][recent.isoformat()]["values"]
    assert values["notes"] == "Flaky <nose> & 'chin'"
    assert (values["redness"], values["aftercare"]) == (6, ["sunscreen", "no_makeup"])
    kept = copy["entries"][recent.isoformat()]
    assert [p["area"] for p in kept["photos"]] == ["left_cheek"]
    assert "data-phone-copy" not in logged_in.get("/log").get_data(as_text=True)


# --- The Log form in few taps (issue 12) ---------------------------------------------------------


def test_without_javascript_each_rating_is_a_row_of_radios_posting_its_score_or_not_rated(
    logged_in, app
):
    page = logged_in.get("/log").get_data(as_text=True)
    assert 'role="radiogroup" data-rating="redness"' in page
    assert page.count('type="radio" name="redness"') == 12  # not rated, then 0 to 10
    assert re.search(r'name="redness" value="" checked', page)  # not rated until tapped
    assert '<select id="redness"' not in page

    response = logged_in.post("/log", data=entry_form(redness="0", itching=""))
    assert response.status_code == 302
    (entry,) = only(app, Entry)
    assert (entry.redness, entry.itching, entry.swelling) == (0, None, 3)  # 0 is not "not rated"


def test_same_as_yesterday_without_javascript_fills_ratings_marks_and_aftercare_only(
    logged_in, app
):
    yesterday = TODAY - timedelta(days=1)
    logged_in.post(
        "/log",
        data=entry_form(yesterday, red_flags=["fever"], notes="Hot.", aftercare=["sunscreen"]),
    )
    page = logged_in.get("/log").get_data(as_text=True)
    assert ">Same as yesterday</a>" in page
    assert f"/log?date={TODAY.isoformat()}&amp;same=last" in page

    filled = logged_in.get(f"/log?date={TODAY.isoformat()}&same=last").get_data(as_text=True)
    assert re.search(r'name="redness" value="6" checked', filled)
    assert re.search(r'name="itching" value="" checked', filled)  # not rated yesterday either
    assert re.search(r'name="pie_severity" value="3" checked', filled)
    assert re.search(r'name="aftercare" value="sunscreen" checked', filled)
    assert not re.search(r'name="red_flags" value="fever" checked', filled)  # about one day only
    assert "Hot.</textarea>" not in filled
    assert len(only(app, Entry)) == 1  # a filled form, nothing saved


def test_same_as_last_names_the_day_when_it_was_not_yesterday_and_is_absent_for_a_first_entry(
    logged_in,
):
    assert "data-same-as-last" in logged_in.get("/log").get_data(as_text=True)
    assert "data-last-entry" not in logged_in.get("/log").get_data(as_text=True)
    logged_in.post("/log", data=entry_form(date(2026, 11, 3)))
    page = logged_in.get("/log?date=2026-11-10").get_data(as_text=True)
    last = json.loads(html.unescape(re.search(r"data-last-entry='([^']*)'", page)[1]))
    assert (last["date"], last["label"]) == ("2026-11-03", "Same as 3 Nov")


def test_the_photo_area_starts_on_the_area_the_patient_usually_photographs(logged_in):
    for days_ago in (1, 2):
        logged_in.post(
            "/log",
            data=dict(
                entry_form(TODAY - timedelta(days=days_ago)),
                photo_1=(io.BytesIO(make_photo(400, 300)), "a.jpg"),
                photo_1_area="chin",
            ),
            content_type="multipart/form-data",
        )
    page = logged_in.get("/log").get_data(as_text=True)
    assert re.search(r'id="photo_1_area".*?<option value="chin" selected', page, re.S)


def test_the_day_badge_carries_the_session_dates_for_the_date_field_to_follow(logged_in):
    logged_in.post("/sessions/new", data=session_form())
    page = logged_in.get("/log").get_data(as_text=True)
    session_day = (TODAY - timedelta(days=3)).isoformat()
    assert f"data-session-dates='[\"{session_day}\"]'" in page
    assert "Day 3 after session 1" in page
