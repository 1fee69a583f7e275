"""The sync contract's rules that one client can check (docs/api.md): tombstones keep no content,
the /changes cursor is a change number that pages across kinds and never skips, a write the
server stamps itself always applies, and the migration that brought the change numbers.

The same rules under real concurrency: tests/test_sync_races.py.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from tests.test_api import entry_body, put_photo, session_body
from webapp.extensions import db
from webapp.models import Entry, Photo, TreatmentSession, utcnow

TODAY = date.today()
CONTENT_KEYS = {"ratings", "notes", "red_flags", "aftercare", "pie_severity", "pih_severity",
                "device", "needle_depth_mm", "areas", "topicals", "provider", "setting",
                "photos", "lab", "area", "sha256", "url"}  # fmt: skip


def new_id() -> str:
    return str(uuid.uuid4())


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


# --- Tombstones ---------------------------------------------------------------------------------


@pytest.fixture
def deleted_rows(logged_in, sample_photo) -> dict[str, str]:
    """An entry with a note, red flags and a photo, and a session with notes, all deleted."""
    ids = {"entry": new_id(), "session": new_id(), "photo": new_id()}
    body = entry_body(notes="burning and pus", red_flags=["pus"])
    assert logged_in.put(f"/api/v1/entries/{ids['entry']}", json=body).status_code == 201
    body = session_body(notes="clinic said 1.5 mm", provider="Dr Who")
    assert logged_in.put(f"/api/v1/sessions/{ids['session']}", json=body).status_code == 201
    assert put_photo(logged_in, ids["entry"], ids["photo"], sample_photo).status_code == 201
    ids["entry_answer"] = logged_in.delete(f"/api/v1/entries/{ids['entry']}").get_json()
    ids["session_answer"] = logged_in.delete(f"/api/v1/sessions/{ids['session']}").get_json()
    return ids


def test_the_delete_answer_of_a_tombstone_holds_no_content(deleted_rows):
    for answer in (deleted_rows["entry_answer"], deleted_rows["session_answer"]):
        assert answer["deleted"] is True
        assert set(answer) == {"id", "date", "deleted", "client_updated_at", "created_at",
                               "updated_at"}  # fmt: skip


def test_changes_send_tombstones_without_content(logged_in, deleted_rows):
    changes = logged_in.get("/api/v1/changes").get_json()
    rows = changes["entries"] + changes["sessions"] + changes["photos"]
    assert {row["id"] for row in rows} == {deleted_rows[k] for k in ("entry", "session", "photo")}
    for row in rows:
        assert row["deleted"] is True
        assert CONTENT_KEYS & set(row) == set(), row


def test_a_tombstone_row_keeps_no_content_in_the_database(app, deleted_rows):
    with app.app_context():
        entry = db.session.execute(sa.select(Entry)).scalar_one()
        session = db.session.execute(sa.select(TreatmentSession)).scalar_one()
        photo = db.session.execute(sa.select(Photo)).scalar_one()
    assert set(entry.ratings.values()) == {None}
    assert (entry.notes, entry.red_flags, entry.aftercare, entry.pie_severity) == ("", [], [], None)
    assert (session.notes, session.provider, session.device, session.needle_depth_mm) == (
        "",
        "",
        None,
        None,
    )
    assert (session.areas, session.topicals) == ([], [])
    assert (photo.lab, photo.region, photo.deleted_at is not None) == (None, None, True)


def test_a_newer_put_brings_a_tombstone_back_with_its_content(logged_in, deleted_rows):
    later = iso(datetime.now(UTC))
    body = entry_body(notes="back again", client_updated_at=later)
    answer = logged_in.put(f"/api/v1/entries/{deleted_rows['entry']}", json=body)
    assert answer.status_code == 200
    assert (answer.get_json()["deleted"], answer.get_json()["notes"]) == (False, "back again")


# --- The /changes cursor ------------------------------------------------------------------------


def follow(client, cursor: str | None = None) -> tuple[list[dict], str, int]:
    """Every row /changes sends from `cursor` until `more` is false; the last cursor; pages."""
    rows: list[dict] = []
    pages = 0
    while True:
        url = "/api/v1/changes" + (f"?since={cursor}" if cursor else "")
        page = client.get(url).get_json()
        pages += 1
        rows += [
            dict(r, kind=kind) for kind in ("sessions", "entries", "photos") for r in page[kind]
        ]
        cursor = page["cursor"]
        if not page["more"]:
            return rows, cursor, pages
        assert pages < 50, "the cursor does not advance"


def test_pages_across_kinds_hold_every_row_once(logged_in, sample_photo, monkeypatch):
    from webapp.api import routes

    monkeypatch.setattr(routes, "CHANGES_PAGE_SIZE", 3)
    made = set()
    for days_ago in range(4):
        entry, session, photo = new_id(), new_id(), new_id()
        day = TODAY - timedelta(days=days_ago)
        logged_in.put(f"/api/v1/entries/{entry}", json=entry_body(day))
        logged_in.put(f"/api/v1/sessions/{session}", json=session_body(date=day.isoformat()))
        put_photo(logged_in, entry, photo, sample_photo)
        made |= {entry, session, photo}
    rows, _, pages = follow(logged_in)
    ids = [row["id"] for row in rows]
    assert sorted(ids) == sorted(made), "each row exactly once"
    assert pages == 4  # 12 rows, 3 a page


def test_one_kind_filling_a_page_on_its_own_is_not_the_end(logged_in, monkeypatch):
    from webapp.api import routes

    monkeypatch.setattr(routes, "CHANGES_PAGE_SIZE", 2)
    made = {new_id() for _ in range(2)}
    for n, entry in enumerate(made):
        logged_in.put(f"/api/v1/entries/{entry}", json=entry_body(TODAY - timedelta(days=n)))
    first = logged_in.get("/api/v1/changes").get_json()
    assert len(first["entries"]) == 2
    assert first["more"] is True


def test_a_rewritten_row_comes_again_after_the_cursor(logged_in):
    entry = new_id()
    logged_in.put(f"/api/v1/entries/{entry}", json=entry_body())
    _, cursor, _ = follow(logged_in)
    assert follow(logged_in, cursor)[0] == []
    body = entry_body(notes="edited", client_updated_at=iso(datetime.now(UTC)))
    logged_in.put(f"/api/v1/entries/{entry}", json=body)
    rows, _, _ = follow(logged_in, cursor)
    assert [(row["id"], row["notes"]) for row in rows] == [(entry, "edited")]


def test_a_replay_that_changes_nothing_is_sent_again_harmlessly(logged_in):
    # A replayed PUT is a write like any other; a second device applies it idempotently by UUID.
    entry = new_id()
    body = entry_body()
    logged_in.put(f"/api/v1/entries/{entry}", json=body)
    _, cursor, _ = follow(logged_in)
    logged_in.put(f"/api/v1/entries/{entry}", json=body)
    rows, _, _ = follow(logged_in, cursor)
    assert [row["id"] for row in rows] == [entry]


def test_another_patients_writes_do_not_show_in_my_changes(logged_in, other_client):
    other_client.put(f"/api/v1/entries/{new_id()}", json=entry_body())
    assert follow(logged_in)[0] == []


@pytest.mark.parametrize(
    "cursor", ["2026-11-30T10:00:00Z", "-1", "1.5", "9" * 19, "１２", "12 ", "0x10"]
)
def test_a_cursor_that_is_not_a_change_number_is_400(logged_in, cursor):
    answer = logged_in.get("/api/v1/changes", query_string={"since": cursor})
    assert answer.status_code == 400
    assert answer.get_json()["error"]["fields"] == {"since": "invalid"}


def test_a_cursor_from_beyond_the_last_change_heals_to_the_last(logged_in):
    entry = new_id()
    logged_in.put(f"/api/v1/entries/{entry}", json=entry_body())
    page = logged_in.get("/api/v1/changes?since=999999").get_json()
    assert page["cursor"] == "1"
    assert (page["entries"], page["more"]) == ([], False)


# --- Writes the server stamps itself (HTML forms) always apply ----------------------------------


def test_the_log_form_applies_over_a_stamp_a_little_ahead_of_the_server(app, logged_in):
    # A phone whose clock runs 3 minutes fast is within the allowed skew; a form sent to the
    # server right after must still win, and the page says "Saved." only because it did.
    ahead = iso(datetime.now(UTC) + timedelta(minutes=3))
    entry = new_id()
    logged_in.put(
        f"/api/v1/entries/{entry}", json=entry_body(notes="phone", client_updated_at=ahead)
    )
    form = {"date": TODAY.isoformat(), "redness": "8", "notes": "from the form"}
    answer = logged_in.post("/log", data=form, follow_redirects=True)
    assert b"Saved." in answer.data
    stored = logged_in.get(f"/api/v1/entries/{entry}").get_json()
    assert (stored["notes"], stored["ratings"]["redness"]) == ("from the form", 8)


def test_deleting_from_the_page_applies_over_a_stamp_a_little_ahead(app, logged_in):
    ahead = iso(datetime.now(UTC) + timedelta(minutes=3))
    session = new_id()
    logged_in.put(f"/api/v1/sessions/{session}", json=session_body(client_updated_at=ahead))
    answer = logged_in.post(f"/sessions/{session}/delete", follow_redirects=True)
    assert b"was deleted" in answer.data
    assert logged_in.get(f"/api/v1/sessions/{session}").status_code == 404


# --- The migration ------------------------------------------------------------------------------


def test_the_migration_numbers_rows_erases_tombstones_and_brings_future_stamps_back(app):
    old_now = datetime(2026, 11, 20, 12, 0)
    future = datetime(2099, 1, 1)
    with app.app_context():
        db.drop_all()
        upgrade(revision="77c95e11543a")
        run = db.session.execute
        run(sa.text("INSERT INTO users (id, email, password_hash, display_name, track, timezone, "
                    "keep_photo_times, created_at) VALUES (1, 'a@x.org', 'h', 'A', 'both', 'UTC', "
                    "false, :t)"), {"t": old_now})  # fmt: skip
        for n, (deleted, stamp) in enumerate([(None, old_now), (old_now, future)], start=1):
            run(sa.text("INSERT INTO entries (id, uuid, user_id, date, redness, red_flags, "
                        "aftercare, notes, client_updated_at, created_at, updated_at, deleted_at) "
                        "VALUES (:n, :u, 1, :d, 5, '[\"pus\"]', '[]', 'secret', :s, :t, :t, :del)"),
                {"n": n, "u": str(uuid.uuid4()), "d": date(2026, 11, n), "s": stamp,
                 "t": old_now + timedelta(minutes=n), "del": deleted})  # fmt: skip
        db.session.commit()
        upgrade()
        rows = run(sa.select(Entry).order_by(Entry.id)).scalars().all()
        last = run(sa.text("SELECT change_seq FROM users WHERE id = 1")).scalar_one()
        assert [row.change_seq for row in rows] == [1, 2] and last == 2
        live, tombstone = rows
        assert (live.notes, live.redness, live.red_flags) == ("secret", 5, ["pus"])
        assert (tombstone.notes, tombstone.redness, tombstone.red_flags) == ("", None, [])
        assert tombstone.client_updated_at <= utcnow()
