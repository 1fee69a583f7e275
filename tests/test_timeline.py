"""The timeline and compare pages, their JSON, region measurement — and who may see what."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta

import pytest

from tests.history_factory import add_history
from tests.photo_factory import make_photo
from webapp.extensions import db
from webapp.models import Entry, Photo, User
from webapp.timeline import build_timeline

TODAY = date.today()
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def history(app, user, **options):
    with app.app_context():
        add_history(user.id, **options)


def photo_uuids(app, user_id: int) -> set[str]:
    with app.app_context():
        query = db.select(Photo.uuid).where(Photo.user_id == user_id)
        return set(db.session.execute(query).scalars())


def test_pages_need_a_login(client):
    for url in ("/timeline", "/timeline/data.json", "/compare", "/timeline/photos/left_cheek"):
        assert client.get(url).status_code == 302


def test_no_data_yet(logged_in):
    page = logged_in.get("/timeline").get_data(as_text=True)
    assert "Nothing to show yet" in page
    assert "Two photos of the same area are needed" in logged_in.get("/compare").get_data(
        as_text=True
    )
    data = logged_in.get("/timeline/data.json").get_json()
    assert data["sessions"] == [] and data["curves"] == [] and data["photos"] == {}
    assert data["summary"] == []


def test_one_session_shows_one_curve_and_no_comparison_yet(logged_in, app, user):
    history(app, user, days=20, sessions=1)
    page = logged_in.get("/timeline").get_data(as_text=True)
    assert page.count('class="curve"') == 1
    assert "After a second session" in page
    assert "Redness as a table" in page  # the screen-reader table beside the chart
    data = logged_in.get("/timeline/data.json").get_json()
    assert [session["number"] for session in data["sessions"]] == [1]
    assert data["curves"][0]["points"][0] == [0, 8.0]  # day 0: 1 + 7


def test_many_sessions_curves_series_and_summary(logged_in, app, user):
    history(app, user, days=200, sessions=5, session_every=35)
    page = logged_in.get("/timeline").get_data(as_text=True)
    assert page.count('class="curve"') == 5
    assert "PIE severity at 4 weeks fell from 3 after session 1 to" in page
    assert 'class="chart series-chart"' in page
    data = logged_in.get("/timeline/data.json").get_json()
    assert len(data["series"]) == 5 and data["series"][0]["matched"]["pie_severity"][0] == 28
    # The strip shows key days, the JSON names every photo on request.
    assert data["photo_count"] == 400
    assert len(data["photos"]["left_cheek"]["id"]) < 60
    everything = logged_in.get("/timeline/data.json?photos=all").get_json()
    assert len(everything["photos"]["left_cheek"]["id"]) == 200
    assert everything["photo_url"] == "/photos/{id}/{rendition}.jpg"


def test_data_photo_columns_give_each_photos_date_session_and_day(logged_in, app, user):
    history(app, user, days=60, sessions=2, session_every=30)
    data = logged_in.get("/timeline/data.json?photos=all").get_json()
    columns = data["photos"]["right_cheek"]
    assert set(columns) == {
        *("id", "date_offset", "session", "day"),
        *("quality", "marks", "alignment", "counted"),
    }
    assert len({len(values) for values in columns.values()}) == 1, "one entry per photo in each"
    first = date.fromisoformat(data["photos_from"])
    assert first == TODAY - timedelta(days=59)
    session_dates = {s["number"]: date.fromisoformat(s["date"]) for s in data["sessions"]}
    for offset, number, day in zip(
        columns["date_offset"], columns["session"], columns["day"], strict=True
    ):
        taken = first + timedelta(days=offset)
        if number is None:
            assert taken < session_dates[1] and day is None
        else:
            assert taken == session_dates[number] + timedelta(days=day)


def test_every_photo_of_two_years_with_its_measures_is_under_100_kb_sent(logged_in, app, user):
    """Each photo carries its quality, marks and alignment as the API gives them (keys repeated
    per photo: ~550 kB as JSON), which brotli, as the app sends JSON, makes ~35 kB."""
    history(app, user, days=730, sessions=12, session_every=56)
    response = logged_in.get("/timeline/data.json?photos=all", headers={"Accept-Encoding": "br"})
    assert response.headers["Content-Encoding"] == "br"
    assert len(response.get_data()) < 100_000
    everything = logged_in.get("/timeline/data.json?photos=all").get_json()
    assert everything["photo_count"] == 1460


def test_switching_the_metric(logged_in, app, user):
    history(app, user, days=40, sessions=1)
    page = logged_in.get("/timeline?metric=pih_severity").get_data(as_text=True)
    assert "PIH severity: recovery after each session" in page
    measured = logged_in.get("/timeline?metric=delta_a").get_data(as_text=True)
    assert "Red marks: Δa* vs surrounding skin (indicative): recovery" in measured
    assert "Indicative only: light and camera still affect it" in measured
    unknown = logged_in.get("/timeline?metric=%3Cscript%3E").get_data(as_text=True)
    assert "Redness: recovery after each session" in unknown and "<script>" not in unknown


def test_other_users_photos_never_appear(logged_in, other_client, app, user):
    history(app, user, days=30, sessions=1)
    with app.app_context():
        other_id = db.session.execute(
            db.select(User.id).where(User.email == "other@example.com")
        ).scalar_one()
        add_history(other_id, days=30, sessions=2, session_every=10)
    theirs = photo_uuids(app, other_id)
    mine = photo_uuids(app, user.id)
    for url in (
        "/timeline",
        "/timeline/data.json?photos=all",
        "/compare",
        "/timeline/photos/left_cheek",
    ):
        shown = set(UUID.findall(logged_in.get(url).get_data(as_text=True)))
        assert shown & mine and not shown & theirs
    # Asking to compare their photo by id shows one of mine instead.
    stolen = sorted(theirs)[0]
    page = logged_in.get(f"/compare?area=left_cheek&a={stolen}").get_data(as_text=True)
    assert stolen not in page
    assert logged_in.get(f"/photos/{stolen}/region").status_code == 404
    assert other_client.get("/timeline").status_code == 200


def test_compare_any_two_photos_by_date(logged_in, app, user):
    history(app, user, days=60, sessions=2, session_every=30)
    start = TODAY - timedelta(days=59)
    page = logged_in.get(
        f"/compare?area=right_cheek&a_date={start.isoformat()}&b_date={TODAY.isoformat()}"
    ).get_data(as_text=True)
    assert f"Showing {start:%d %b %Y}: before first session" in page
    assert f"Showing {TODAY:%d %b %Y}: day 22 after session 2" in page
    default = logged_in.get("/compare").get_data(as_text=True)
    assert re.search(
        r"Showing .*: day (\d+) after session 1.*Showing .*: day \1 after session 2", default, re.S
    )


def test_constant_number_of_queries_however_long_the_history(logged_in, app, user, count_queries):
    history(app, user, days=30, sessions=1)
    with count_queries() as short:
        assert logged_in.get("/timeline").status_code == 200
    history(app, user, days=400, sessions=10, session_every=30, end=TODAY - timedelta(days=31))
    with count_queries() as long:
        assert logged_in.get("/timeline").status_code == 200
    assert len(long) == len(short) <= 6
    with count_queries() as data:
        assert logged_in.get("/timeline/data.json").status_code == 200
    assert len(data) == len(short)


def test_photos_are_oldest_first_even_when_older_days_were_uploaded_later(app, user):
    with app.app_context():
        add_history(user.id, days=10)
        add_history(user.id, days=10, end=TODAY - timedelta(days=20))  # older days, newer ids
        timeline = build_timeline(user)
    for items in timeline.photos_by_area.values():
        dates = [item.date for item in items]
        assert len(dates) == 20 and dates == sorted(dates)


def test_a_shared_range_keeps_the_session_numbers(app, user):
    with app.app_context():
        add_history(user.id, days=120, sessions=3, session_every=35)
        start = TODAY - timedelta(days=119)
        timeline = build_timeline(user, date_from=start + timedelta(days=40), include_photos=False)
        assert [session.number for session in timeline.sessions] == [2, 3]
        assert timeline.photos_by_area == {} and timeline.measure_area is None
        assert [metric.key for metric in timeline.metrics] == [
            "redness",
            "swelling",
            "pie_severity",
            "pih_severity",
        ]
        assert build_timeline(user, metric="delta_a", include_photos=False).metric.key == "redness"


def test_deleting_a_session_realigns_the_timeline(logged_in, app, user):
    history(app, user, days=60, sessions=2, session_every=20)
    sessions = logged_in.get("/timeline/data.json").get_json()["sessions"]
    assert len(sessions) == 2
    logged_in.post(f"/sessions/{sessions[1]['id']}/delete", data={})
    data = logged_in.get("/timeline/data.json").get_json()
    assert [session["number"] for session in data["sessions"]] == [1]
    assert data["curves"][0]["points"][-1][0] == 42  # day 20 onwards now belongs to session 1


def upload_photo(client, app, user) -> Photo:
    form = {
        "date": TODAY.isoformat(),
        "redness": "3",
        "photo_1": (io.BytesIO(make_photo(800, 600)), "cheek.jpg"),
        "photo_1_area": "left_cheek",
    }
    assert client.post("/log", data=form, content_type="multipart/form-data").status_code == 302
    with app.app_context():
        return db.session.execute(db.select(Photo).where(Photo.user_id == user.id)).scalar_one()


def test_choose_the_measured_region(logged_in, app, user):
    photo = upload_photo(logged_in, app, user)
    page = logged_in.get(f"/photos/{photo.uuid}/region").get_data(as_text=True)
    assert "the centre (default)" in page and "indicative" in page.lower()
    response = logged_in.post(
        f"/photos/{photo.uuid}/region",
        data={"left": "0", "top": "0", "right": "10", "bottom": "10"},
    )
    assert response.status_code == 302
    with app.app_context():
        stored = db.session.get(Photo, photo.id)
        assert stored.region == [0.0, 0.0, 0.1, 0.1]
        assert (stored.lab_a, stored.lab_l) != (photo.lab_a, photo.lab_l)
    bad = logged_in.post(
        f"/photos/{photo.uuid}/region",
        data={"left": "50", "top": "0", "right": "40", "bottom": "9"},
    )
    assert bad.status_code == 422 and "left edge must be left of" in bad.get_data(as_text=True)
    assert (
        logged_in.post(
            f"/photos/{photo.uuid}/region",
            data={"left": "x", "top": "0", "right": "1", "bottom": "1"},
        ).status_code
        == 422
    )
    assert logged_in.post(f"/photos/{photo.uuid}/region", data={"reset": "1"}).status_code == 302
    with app.app_context():
        reset = db.session.get(Photo, photo.id)
        # Measured again on the stored full rendition, where the upload measured its thumb.
        assert reset.region is None and reset.lab_a == pytest.approx(photo.lab_a, abs=0.15)


def test_region_change_needs_csrf(logged_in, app, user):
    photo = upload_photo(logged_in, app, user)
    response = logged_in.post(f"/photos/{photo.uuid}/region", data={"reset": "1"}, csrf=False)
    assert response.status_code == 400


def test_measured_metrics_offer_a_choice_of_photographed_area(logged_in, app, user):
    from tests.history_factory import add_history

    with app.app_context():
        add_history(user.id, days=30, session_every=14, sessions=2)
    measured = logged_in.get("/timeline?metric=delta_a&area=right_cheek").get_data(as_text=True)
    assert 'id="measure-area"' in measured
    assert '<option value="right_cheek" selected>' in measured
    assert "from the right cheek photos" in measured
    rated = logged_in.get("/timeline?metric=redness").get_data(as_text=True)
    assert 'id="measure-area"' not in rated


def test_timeline_opens_with_warning_signs_and_summary_before_any_table(logged_in, app, user):
    history(app, user, days=60, sessions=2, session_every=30)
    with app.app_context():
        entry = db.session.execute(
            db.select(Entry).where(Entry.user_id == user.id, Entry.date == TODAY)
        ).scalar_one()
        entry.red_flags = ["worsening_pain"]
        db.session.commit()
    page = logged_in.get("/timeline").get_data(as_text=True)
    warnings, summary = page.index('id="warnings-heading"'), page.index('id="glance-heading"')
    assert warnings < summary < page.index("<table")
    assert "Pain getting worse after day 3" in page
    assert "(day 22 after session 2)" in page
    assert "2 sessions so far; 60 of the 60 days from" in page


def test_series_compares_the_day_every_finished_cycle_reached(logged_in, app, user):
    history(app, user, days=60, sessions=3, session_every=21)
    page = logged_in.get("/timeline").get_data(as_text=True)
    assert "PIE ~day 20" in page and "~day 28" not in page
    assert "nearest day 28" not in page
