"""The sync API (/api/v1, docs/api.md): every error class, cross-user access, idempotency, last
writer wins, tombstones and the /changes cursor."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from PIL import Image

from tests.photo_factory import make_truncated_jpeg
from tests.synthetic_faces import make_face
from webapp import records
from webapp.extensions import db
from webapp.models import Entry, Photo

TODAY = date.today()


def new_id() -> str:
    return str(uuid.uuid4())


def stamp(minutes: int = 0) -> str:
    moment = datetime(2026, 1, 1, 8, 0, tzinfo=UTC) + timedelta(minutes=minutes)
    return moment.isoformat().replace("+00:00", "Z")


def entry_body(day: date = TODAY, **overrides) -> dict:
    body = {
        "date": day.isoformat(),
        "ratings": {
            "redness": 6,
            "swelling": 3,
            "pain": 2,
            "itching": 1,
            "dryness": 4,
            "bruising": 0,
        },
        "pie_severity": 3,
        "pih_severity": None,
        "red_flags": [],
        "aftercare": ["sunscreen"],
        "notes": "",
        "client_updated_at": stamp(),
    }
    body.update(overrides)
    return body


def session_body(**overrides) -> dict:
    body = {
        "date": TODAY.isoformat(),
        "device": "pen",
        "needle_depth_mm": 1.0,
        "areas": ["left_cheek"],
        "topicals": [],
        "setting": "clinic",
        "notes": "",
        "client_updated_at": stamp(),
    }
    body.update(overrides)
    return body


def put_photo(
    client, entry_id: str, photo_id: str, data: bytes, area: str = "left_cheek", **kwargs
):
    return client.put(
        f"/api/v1/entries/{entry_id}/photos/{photo_id}",
        data={"file": (io.BytesIO(data), "face.jpg"), "area": area},
        content_type="multipart/form-data",
        **kwargs,
    )


def assert_error(response, status: int, *, code: str | None = None, field: str | None = None):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.is_json, response.get_data(as_text=True)[:200]
    error = response.get_json()["error"]
    assert set(error) >= {"code", "message", "fields"}
    if code:
        assert error["code"] == code
    if field:
        assert field in error["fields"], error
    return error


@pytest.fixture
def entry_id(logged_in) -> str:
    entry = new_id()
    assert logged_in.put(f"/api/v1/entries/{entry}", json=entry_body()).status_code == 201
    return entry


# --- Requests that are malformed --------------------------------------------------------------


def test_malformed_json_is_400(logged_in):
    response = logged_in.put(
        f"/api/v1/entries/{new_id()}", data="{not json", content_type="application/json"
    )
    assert_error(response, 400, code="malformed_json")


def test_wrong_content_type_is_415(logged_in):
    response = logged_in.put(
        f"/api/v1/entries/{new_id()}", data="date=2026-01-01", content_type="text/plain"
    )
    assert_error(response, 415)


def test_a_json_array_is_422(logged_in):
    assert_error(logged_in.put(f"/api/v1/entries/{new_id()}", json=[1, 2]), 422)


def test_a_bad_uuid_in_the_url_is_404(logged_in):
    assert_error(logged_in.put("/api/v1/entries/not-a-uuid", json=entry_body()), 404)


def test_unknown_route_and_method_answer_json(logged_in):
    assert_error(logged_in.get("/api/v1/nothing-here"), 404)
    assert_error(logged_in.post(f"/api/v1/entries/{new_id()}", json=entry_body()), 405)


# --- Validation: 422 naming the fields ----------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"ratings": {"redness": "6"}}, "ratings.redness"),
        ({"ratings": {"redness": 11}}, "ratings.redness"),
        ({"ratings": {"redness": -1}}, "ratings.redness"),
        ({"ratings": {"redness": 2.5}}, "ratings.redness"),
        ({"ratings": {"redness": True}}, "ratings.redness"),
        ({"ratings": {"glow": 3}}, "ratings"),
        ({"pie_severity": 5}, "pie_severity"),
        ({"date": (TODAY + timedelta(days=3)).isoformat()}, "date"),
        ({"date": "20-11-2026"}, "date"),
        ({"date": 20261120}, "date"),
        ({"red_flags": ["itchy_soul"]}, "red_flags"),
        ({"aftercare": "sunscreen"}, "aftercare"),
        ({"notes": 42}, "notes"),
        ({"notes": "x" * 5000}, "notes"),
        ({"client_updated_at": "yesterday"}, "client_updated_at"),
        ({"client_updated_at": "2026-01-01T08:00:00"}, "client_updated_at"),
    ],
)
def test_bad_entry_fields_are_422_with_fields(logged_in, overrides, field):
    response = logged_in.put(f"/api/v1/entries/{new_id()}", json=entry_body(**overrides))
    assert_error(response, 422, field=field)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"areas": ["elbow"]}, "areas"),
        ({"areas": []}, "areas"),
        ({"device": "laser"}, "device"),
        ({"needle_depth_mm": 9}, "needle_depth_mm"),
        ({"needle_depth_mm": "1.0"}, "needle_depth_mm"),
        ({"date": (TODAY + timedelta(days=3)).isoformat()}, "date"),
        ({"setting": "spa"}, "setting"),
    ],
)
def test_bad_session_fields_are_422_with_fields(logged_in, overrides, field):
    response = logged_in.put(f"/api/v1/sessions/{new_id()}", json=session_body(**overrides))
    assert_error(response, 422, field=field)


def test_unknown_photo_area_is_422(logged_in, entry_id, sample_photo):
    response = put_photo(logged_in, entry_id, new_id(), sample_photo, area="elbow")
    assert_error(response, 422, field="area")


def test_photo_without_file_is_422(logged_in, entry_id):
    response = logged_in.put(
        f"/api/v1/entries/{entry_id}/photos/{new_id()}",
        data={"area": "front"},
        content_type="multipart/form-data",
    )
    assert_error(response, 422, field="file")


# --- Photos that are not photos, or too big -----------------------------------------------------


def test_fake_image_is_rejected(logged_in, entry_id):
    response = put_photo(logged_in, entry_id, new_id(), b"<?php echo 'hi'; ?>" * 50)
    assert response.status_code in (415, 422)
    assert_error(response, response.status_code, field="file")


def test_truncated_jpeg_is_rejected(logged_in, entry_id):
    response = put_photo(logged_in, entry_id, new_id(), make_truncated_jpeg())
    assert response.status_code in (415, 422)
    assert_error(response, response.status_code, field="file")


def test_oversized_upload_is_413(app, logged_in, entry_id):
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    response = put_photo(logged_in, entry_id, new_id(), b"\xff\xd8" + b"0" * 200 * 1024)
    assert_error(response, 413)


def test_photo_over_the_per_file_limit_is_413(logged_in, entry_id):
    from webapp import imaging

    # A hand-made multipart body: werkzeug's test builder would spool it to an unclosed file.
    boundary = "skinlogboundary"
    part = f"--{boundary}\r\nContent-Disposition: form-data; "
    body = b"".join(
        [
            f'{part}name="area"\r\n\r\nfront\r\n'.encode(),
            f'{part}name="file"; filename="a.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'.encode(),
            b"\xff\xd8\xff\xe0" + bytes(imaging.MAX_UPLOAD_BYTES),
            f"\r\n--{boundary}--\r\n".encode(),
        ]
    )
    response = logged_in.put(
        f"/api/v1/entries/{entry_id}/photos/{new_id()}",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
    )
    assert_error(response, 413, field="file")


# --- Authentication and CSRF --------------------------------------------------------------------


def test_not_logged_in_is_401_json(client):
    assert_error(client.put(f"/api/v1/entries/{new_id()}", json=entry_body()), 401)
    assert_error(client.get("/api/v1/changes"), 401)


def test_csrf_endpoint_works_logged_out_and_tags_the_account(client, logged_in):
    body = logged_in.get("/api/v1/csrf").get_json()
    assert body["csrf_token"] and body["account"]
    assert logged_in.get("/api/v1/csrf").headers["Cache-Control"] == "no-store"


def test_csrf_account_is_null_when_logged_out(client):
    assert client.get("/api/v1/csrf").get_json()["account"] is None


def test_missing_csrf_token_is_403_json(logged_in):
    response = logged_in.put(f"/api/v1/entries/{new_id()}", json=entry_body(), csrf=False)
    assert_error(response, 403, code="csrf")


def test_wrong_csrf_token_is_403_json(logged_in):
    response = logged_in.put(
        f"/api/v1/entries/{new_id()}",
        json=entry_body(),
        csrf=False,
        headers={"X-CSRFToken": "forged"},
    )
    assert_error(response, 403, code="csrf")


# --- Another user's rows ------------------------------------------------------------------------


def test_another_users_uuids_are_404(logged_in, other_client, sample_photo):
    entry, session, photo = new_id(), new_id(), new_id()
    assert logged_in.put(f"/api/v1/entries/{entry}", json=entry_body()).status_code == 201
    assert logged_in.put(f"/api/v1/sessions/{session}", json=session_body()).status_code == 201
    assert put_photo(logged_in, entry, photo, sample_photo).status_code == 201

    assert_error(other_client.get(f"/api/v1/entries/{entry}"), 404)
    assert_error(other_client.put(f"/api/v1/entries/{entry}", json=entry_body()), 404)
    assert_error(other_client.delete(f"/api/v1/entries/{entry}"), 404)
    assert_error(other_client.get(f"/api/v1/sessions/{session}"), 404)
    assert_error(other_client.put(f"/api/v1/sessions/{session}", json=session_body()), 404)
    assert_error(other_client.delete(f"/api/v1/sessions/{session}"), 404)
    assert_error(put_photo(other_client, entry, new_id(), sample_photo), 404)
    assert_error(other_client.delete(f"/api/v1/entries/{entry}/photos/{photo}"), 404)
    assert_error(other_client.get(f"/api/v1/photos/{photo}/thumb.jpg"), 404)
    # The other user's own entry cannot take the photo's uuid either.
    own = new_id()
    assert other_client.put(f"/api/v1/entries/{own}", json=entry_body()).status_code == 201
    assert_error(put_photo(other_client, own, photo, sample_photo), 404)
    assert other_client.get("/api/v1/changes").get_json()["entries"][0]["id"] == own
    # Nothing of the owner's changed.
    assert logged_in.get(f"/api/v1/entries/{entry}").get_json()["ratings"]["redness"] == 6


# --- Idempotency, conflicts ---------------------------------------------------------------------


def test_replayed_entry_put_is_idempotent(app, logged_in):
    entry = new_id()
    first = logged_in.put(f"/api/v1/entries/{entry}", json=entry_body())
    again = logged_in.put(f"/api/v1/entries/{entry}", json=entry_body())
    assert (first.status_code, again.status_code) == (201, 200)
    with app.app_context():
        assert db.session.query(Entry).count() == 1


def test_replayed_photo_put_stores_one_photo(app, logged_in, entry_id, sample_photo):
    photo = new_id()
    first = put_photo(logged_in, entry_id, photo, sample_photo)
    again = put_photo(logged_in, entry_id, photo, sample_photo)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.get_json()["id"] == again.get_json()["id"] == photo
    assert first.get_json()["sha256"] == again.get_json()["sha256"]
    with app.app_context():
        assert db.session.query(Photo).count() == 1
    entry = logged_in.get(f"/api/v1/entries/{entry_id}").get_json()
    assert [p["id"] for p in entry["photos"]] == [photo]


def test_second_entry_for_a_date_is_409_with_existing_id(logged_in, entry_id):
    response = logged_in.put(f"/api/v1/entries/{new_id()}", json=entry_body())
    error = assert_error(response, 409, code="date_taken", field="date")
    assert error["existing_id"] == entry_id
    assert response.get_json()["existing"]["id"] == entry_id


def test_last_writer_wins_newer_then_older(logged_in):
    entry = new_id()
    logged_in.put(f"/api/v1/entries/{entry}", json=entry_body(client_updated_at=stamp(0)))
    newer = entry_body(client_updated_at=stamp(10), notes="newer")
    assert logged_in.put(f"/api/v1/entries/{entry}", json=newer).get_json()["notes"] == "newer"
    # A late upload of an older edit does not clobber it, and gets the stored version back.
    older = entry_body(client_updated_at=stamp(5), notes="older")
    answer = logged_in.put(f"/api/v1/entries/{entry}", json=older)
    assert answer.status_code == 200
    assert answer.get_json()["notes"] == "newer"
    assert answer.get_json()["client_updated_at"] == stamp(10)


def test_last_writer_wins_older_then_newer(logged_in):
    entry = new_id()
    logged_in.put(
        f"/api/v1/entries/{entry}", json=entry_body(client_updated_at=stamp(5), notes="first")
    )
    later = entry_body(client_updated_at=stamp(6), notes="later")
    assert logged_in.put(f"/api/v1/entries/{entry}", json=later).get_json()["notes"] == "later"
    assert logged_in.get(f"/api/v1/entries/{entry}").get_json()["notes"] == "later"


def test_last_writer_wins_for_sessions(logged_in):
    session = new_id()
    logged_in.put(
        f"/api/v1/sessions/{session}",
        json=session_body(client_updated_at=stamp(9), needle_depth_mm=1.5),
    )
    stale = session_body(client_updated_at=stamp(1), needle_depth_mm=0.5)
    answer = logged_in.put(f"/api/v1/sessions/{session}", json=stale).get_json()
    assert answer["needle_depth_mm"] == 1.5


def test_delete_older_than_the_stored_edit_does_not_win(logged_in):
    entry = new_id()
    logged_in.put(f"/api/v1/entries/{entry}", json=entry_body(client_updated_at=stamp(10)))
    answer = logged_in.delete(f"/api/v1/entries/{entry}?client_updated_at={stamp(1)}")
    assert answer.status_code == 200
    assert answer.get_json()["deleted"] is False


# --- Tombstones and /changes --------------------------------------------------------------------


def test_deletes_are_tombstones_in_changes(logged_in, sample_photo):
    entry, session, photo = new_id(), new_id(), new_id()
    logged_in.put(f"/api/v1/entries/{entry}", json=entry_body())
    logged_in.put(f"/api/v1/sessions/{session}", json=session_body())
    put_photo(logged_in, entry, photo, sample_photo)
    cursor = logged_in.get("/api/v1/changes").get_json()["cursor"]

    assert logged_in.delete(f"/api/v1/entries/{entry}/photos/{photo}").get_json()["deleted"]
    assert logged_in.delete(f"/api/v1/sessions/{session}").get_json()["deleted"]
    assert logged_in.delete(f"/api/v1/entries/{entry}").get_json()["deleted"]
    # Deleting again is a no-op that still answers 2xx: a replayed DELETE is safe.
    assert logged_in.delete(f"/api/v1/entries/{entry}").status_code == 200

    changes = logged_in.get(f"/api/v1/changes?since={cursor}").get_json()
    assert {e["id"]: e["deleted"] for e in changes["entries"]} == {entry: True}
    assert {s["id"]: s["deleted"] for s in changes["sessions"]} == {session: True}
    assert {p["id"]: p["deleted"] for p in changes["photos"]} == {photo: True}
    assert_error(logged_in.get(f"/api/v1/entries/{entry}"), 404)
    assert_error(logged_in.get(f"/api/v1/photos/{photo}/thumb.jpg"), 404)


def test_changes_bad_cursor_is_400(logged_in):
    assert_error(logged_in.get("/api/v1/changes?since=last-tuesday"), 400, field="since")


def test_changes_pages_with_the_cursor(app, logged_in, monkeypatch):
    from webapp.api import routes

    monkeypatch.setattr(routes, "CHANGES_PAGE_SIZE", 3)
    made = []
    for days_ago in range(7):
        entry = new_id()
        made.append(entry)
        day = TODAY - timedelta(days=days_ago)
        assert logged_in.put(f"/api/v1/entries/{entry}", json=entry_body(day)).status_code == 201
    seen: set[str] = set()
    cursor, pages = None, 0
    while True:
        url = "/api/v1/changes" + (f"?since={cursor}" if cursor else "")
        page = logged_in.get(url).get_json()
        pages += 1
        seen.update(e["id"] for e in page["entries"])
        cursor = page["cursor"]
        if not page["more"]:
            break
        assert pages < 10, "the cursor does not advance"
    assert seen == set(made)
    assert pages >= 3
    # Nothing new since the last cursor: nothing is sent again.
    tail = logged_in.get(f"/api/v1/changes?since={cursor}").get_json()
    assert (tail["entries"], tail["more"]) == ([], False)


def test_never_a_500_for_hostile_bodies(logged_in):
    hostile = [
        None,
        "text",
        3,
        {"date": None},
        {"date": "2026-02-30"},
        {"ratings": []},
        {"notes": "a\x00b"},
        {"date": "2026-01-01", "ratings": {"redness": 10**40}},
    ]
    for body in hostile:
        response = logged_in.put(f"/api/v1/entries/{new_id()}", json=body)
        assert 400 <= response.status_code < 500, (body, response.status_code)
        assert response.is_json


def test_records_module_is_used_for_idempotency(app, user):
    # A direct check on the rule the API relies on: the same uuid saved twice is one row.
    from webapp.validation import parse_entry

    with app.app_context():
        owner = db.session.get(type(user), user.id)
        data = parse_entry(entry_body(), latest_date=records.latest_allowed_date())
        first = records.save_entry(owner, "6f1c0c1e-4b5e-4a0e-9d35-0b7a0d7b1a11", data)
        second = records.save_entry(owner, "6f1c0c1e-4b5e-4a0e-9d35-0b7a0d7b1a11", data)
        assert first.created and not second.created
        assert db.session.query(Entry).count() == 1


def test_a_session_whose_setting_is_a_list_is_a_422_not_a_500(logged_in):
    body = {
        "date": "2026-11-01",
        "device": "pen",
        "needle_depth_mm": 1.0,
        "areas": ["chin"],
        "setting": [],
        "client_updated_at": "2026-11-01T10:00:00Z",
    }
    response = logged_in.put(f"/api/v1/sessions/{uuid.uuid4()}", json=body)
    assert response.status_code == 422
    assert "setting" in response.get_json()["error"]["fields"]


# --- Never a 500 for bad input (issue 9): the outbox retries a 5xx forever ------------------------


BEYOND_THE_CALENDAR = ["9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00"]


@pytest.mark.parametrize("moment", BEYOND_THE_CALENDAR)
@pytest.mark.parametrize("kind", ["entries", "sessions"])
def test_a_put_stamped_beyond_the_calendar_is_422(logged_in, kind, moment):
    body = (entry_body if kind == "entries" else session_body)(client_updated_at=moment)
    response = logged_in.put(f"/api/v1/{kind}/{new_id()}", json=body)
    assert_error(response, 422, field="client_updated_at")


@pytest.mark.parametrize("moment", BEYOND_THE_CALENDAR)
def test_a_delete_stamped_beyond_the_calendar_is_422(logged_in, entry_id, moment):
    response = logged_in.delete(
        f"/api/v1/entries/{entry_id}", query_string={"client_updated_at": moment}
    )
    assert_error(response, 422, field="client_updated_at")
    assert logged_in.get(f"/api/v1/entries/{entry_id}").status_code == 200


@pytest.mark.parametrize("moment", BEYOND_THE_CALENDAR)
def test_a_changes_cursor_beyond_the_calendar_is_400(logged_in, moment):
    # A cursor the server never made keeps the 400 of any bad cursor.
    response = logged_in.get("/api/v1/changes", query_string={"since": moment})
    assert_error(response, 400, field="since")


def test_a_needle_depth_too_big_for_a_float_is_422(logged_in):
    response = logged_in.put(
        f"/api/v1/sessions/{new_id()}", json=session_body(needle_depth_mm=10**400)
    )
    assert_error(response, 422, field="needle_depth_mm")


def test_json_nested_too_deep_to_parse_is_400_malformed_json(logged_in):
    response = logged_in.put(
        f"/api/v1/entries/{new_id()}", data="[" * 100_000, content_type="application/json"
    )
    assert_error(response, 400, code="malformed_json")


@pytest.mark.parametrize(
    ("path", "field"),
    [("entries", "notes"), ("sessions", "notes"), ("sessions", "provider")],
)
def test_a_lone_surrogate_in_text_is_422(logged_in, path, field):
    body = entry_body() if path == "entries" else session_body()
    # Sent as the JSON escape "\ud83d", valid JSON that decodes to an unpaired surrogate.
    body[field] = "half an emoji \ud83d"
    response = logged_in.put(f"/api/v1/{path}/{new_id()}", json=body)
    assert_error(response, 422, field=field)


def test_a_delete_stamp_follows_the_rules_of_body_stamps(logged_in, entry_id):
    # One parser for both: a stamp without a timezone is refused, not read as the server's
    # local time.
    naive = "2026-01-01T09:00:00"
    response = logged_in.delete(f"/api/v1/entries/{entry_id}?client_updated_at={naive}")
    assert_error(response, 422, field="client_updated_at")


# --- Unknown fields are refused, not dropped (issue 9) -------------------------------------------


def test_a_rating_outside_ratings_is_422_naming_it(logged_in):
    entry = new_id()
    response = logged_in.put(f"/api/v1/entries/{entry}", json=entry_body(redness=9))
    error = assert_error(response, 422, field="redness")
    assert "ratings" in error["fields"]["redness"]
    assert_error(logged_in.get(f"/api/v1/entries/{entry}"), 404)


def test_unknown_session_fields_are_422_naming_each(logged_in):
    body = session_body(depth_mm=1.0, ratings={"redness": 2})
    error = assert_error(logged_in.put(f"/api/v1/sessions/{new_id()}", json=body), 422)
    assert set(error["fields"]) == {"depth_mm", "ratings"}


@pytest.mark.parametrize("kind", ["entries", "sessions"])
def test_a_stored_version_sent_back_as_it_came_is_accepted(logged_in, kind):
    # A client may edit the server's answer and send it back whole: the keys the server adds
    # (id, created_at, photos, ...) are ignored, not refused.
    row = new_id()
    body = entry_body() if kind == "entries" else session_body()
    assert logged_in.put(f"/api/v1/{kind}/{row}", json=body).status_code == 201
    stored = logged_in.get(f"/api/v1/{kind}/{row}").get_json()
    stored.update(notes="edited", client_updated_at=stamp(1))
    answer = logged_in.put(f"/api/v1/{kind}/{row}", json=stored)
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["notes"] == "edited"


# --- A broken clock cannot freeze data (issue 9) -------------------------------------------------


def server_now_plus(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).isoformat().replace("+00:00", "Z")


@pytest.mark.parametrize("stamp_", ["2099-01-01T00:00:00Z", "9999-12-31T23:59:59Z"])
@pytest.mark.parametrize("kind", ["entries", "sessions"])
def test_a_put_stamped_far_ahead_of_the_server_is_422(logged_in, kind, stamp_):
    row = new_id()
    body = (entry_body if kind == "entries" else session_body)(client_updated_at=stamp_)
    assert_error(logged_in.put(f"/api/v1/{kind}/{row}", json=body), 422, field="client_updated_at")
    assert_error(logged_in.get(f"/api/v1/{kind}/{row}"), 404)


def test_an_entry_from_a_fast_clock_does_not_beat_later_edits(logged_in):
    # The issue: a stamp of 2099 once won against every later edit, forever.
    entry = new_id()
    fast = entry_body(notes="from 2099", client_updated_at="2099-01-01T00:00:00Z")
    assert_error(logged_in.put(f"/api/v1/entries/{entry}", json=fast), 422)
    later = entry_body(notes="later", client_updated_at=server_now_plus(timedelta(0)))
    assert logged_in.put(f"/api/v1/entries/{entry}", json=later).status_code == 201
    assert logged_in.get(f"/api/v1/entries/{entry}").get_json()["notes"] == "later"


def test_a_stamp_a_few_minutes_ahead_is_accepted(logged_in):
    body = session_body(client_updated_at=server_now_plus(timedelta(minutes=4)))
    assert logged_in.put(f"/api/v1/sessions/{new_id()}", json=body).status_code == 201


@pytest.mark.parametrize("stamp_", ["1999-12-31T23:59:59Z", "1970-01-01T00:00:00Z"])
def test_a_put_stamped_before_2000_is_422(logged_in, stamp_):
    body = entry_body(client_updated_at=stamp_)
    assert_error(
        logged_in.put(f"/api/v1/entries/{new_id()}", json=body), 422, field="client_updated_at"
    )


@pytest.mark.parametrize("stamp_", ["2099-01-01T00:00:00Z", "1999-12-31T23:59:59Z"])
@pytest.mark.parametrize("kind", ["entries", "sessions"])
def test_a_delete_stamped_ahead_or_before_2000_is_422_and_deletes_nothing(logged_in, kind, stamp_):
    row = new_id()
    body = entry_body() if kind == "entries" else session_body()
    assert logged_in.put(f"/api/v1/{kind}/{row}", json=body).status_code == 201
    response = logged_in.delete(f"/api/v1/{kind}/{row}", query_string={"client_updated_at": stamp_})
    assert_error(response, 422, field="client_updated_at")
    assert logged_in.get(f"/api/v1/{kind}/{row}").status_code == 200


def test_an_uploaded_photo_comes_back_with_its_quality_and_marks(logged_in, entry_id):
    face = make_face(3, width=768, height=1024, red_count=6, dark_count=0)
    buffer = io.BytesIO()
    Image.fromarray(face.rgb).save(buffer, "JPEG", quality=92)
    answer = put_photo(logged_in, entry_id, new_id(), buffer.getvalue()).get_json()
    assert answer["quality"]["verdict"] in {"good", "fair", "poor"}
    assert answer["marks"]["red_count"] >= 1
    assert answer["marks"]["delta_a"] > 0
    assert answer["alignment"] == {
        "reference": None, "matrix": [1.0, 0.0, 0.0, 0.0, 1.0, 0.0], "score": 1.0, "aligned": True
    }  # fmt: skip
