"""The complete export (GET /account/export.zip, docs/export.md): a streamed ZIP with data.json,
the spreadsheets, every photo at full size, a FHIR Bundle and a README; only the patient's live
rows; memory that does not grow with the photos."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import tracemalloc
import uuid
import zipfile
from datetime import UTC, date, datetime, time, timedelta

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import PASSWORD
from tests.history_factory import add_history
from tests.test_api import entry_body, put_photo, session_body
from webapp.extensions import db
from webapp.models import (
    CalendarFeed,
    Entry,
    Photo,
    PushSubscription,
    ReminderSettings,
    User,
    token_digest,
)
from webapp.portability import export, tables
from webapp.vocabulary import RATINGS

TODAY = date.today()
URL = "/account/export.zip"
FILES = {"README.txt", "data.json", "sessions.csv", "entries.csv", "fhir.json"}
TOP_KEYS = {
    "format", "version", "exported_at", "account", "reminders", "sessions", "entries", "photos",
    "share_links", "devices",
}  # fmt: skip
SESSION_KEYS = {
    "id", "date", "device", "needle_depth_mm", "areas", "topicals", "setting", "provider",
    "notes", "client_updated_at", "created_at", "updated_at", "deleted",
}  # fmt: skip
ENTRY_KEYS = {
    "id", "date", "ratings", "pie_severity", "pih_severity", "red_flags", "aftercare", "notes",
    "client_updated_at", "created_at", "updated_at", "deleted",
}  # fmt: skip
PHOTO_KEYS = {
    "id", "entry_id", "area", "file", "width", "height", "sha256", "byte_size", "taken_at",
    "region", "lab", "quality", "marks", "alignment", "created_at", "updated_at",
    "client_updated_at",
}  # fmt: skip
LINK_KEYS = {
    "id", "label", "status", "created_at", "expires_at", "revoked_at", "date_from", "date_to",
    "include_photos", "include_notes", "views",
}  # fmt: skip
FORMULA = '=HYPERLINK("https://evil.example","click")'


def new_id() -> str:
    return str(uuid.uuid4())


def download(client) -> zipfile.ZipFile:
    response = client.get(URL)
    assert response.status_code == 200, response.status_code
    archive = zipfile.ZipFile(io.BytesIO(response.get_data()))
    assert archive.testzip() is None
    return archive


def data_of(archive: zipfile.ZipFile) -> dict:
    return json.loads(archive.read("data.json"))


def csv_rows(archive: zipfile.ZipFile, name: str) -> list[dict[str, str]]:
    text = archive.read(name).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture
def history(app, logged_in, user, sample_photo) -> dict[str, str]:
    """Through the API: a session, two entries (one with a formula in its notes and two photos),
    a deleted entry and a deleted photo; a share link opened once; reminder settings, a push
    device and a calendar feed. Returns the ids."""
    ids = {name: new_id() for name in ("session", "entry", "plain", "gone", "photo", "photo2")}
    ids["gone_photo"] = new_id()
    day = TODAY - timedelta(days=3)
    session = session_body(date=(day - timedelta(days=2)).isoformat(), topicals=["vitamin_c"])
    assert logged_in.put(f"/api/v1/sessions/{ids['session']}", json=session).status_code == 201
    entry = entry_body(
        day, notes=FORMULA, red_flags=["fever"], aftercare=["sunscreen", "no_makeup"]
    )
    assert logged_in.put(f"/api/v1/entries/{ids['entry']}", json=entry).status_code == 201
    plain = entry_body(day - timedelta(days=1))
    assert logged_in.put(f"/api/v1/entries/{ids['plain']}", json=plain).status_code == 201
    for name, area in (("photo", "left_cheek"), ("photo2", "forehead"), ("gone_photo", "chin")):
        response = put_photo(logged_in, ids["entry"], ids[name], sample_photo, area=area)
        assert response.status_code == 201, response.get_data(as_text=True)
    logged_in.delete(f"/api/v1/entries/{ids['entry']}/photos/{ids['gone_photo']}")
    gone = entry_body(day - timedelta(days=2), notes="deleted note")
    assert logged_in.put(f"/api/v1/entries/{ids['gone']}", json=gone).status_code == 201
    assert logged_in.delete(f"/api/v1/entries/{ids['gone']}").status_code in (200, 204)
    response = logged_in.post("/share", data={"label": "Riverside", "expires_in_days": "30"})
    token_path = re.search(r'value="http://localhost(/s/[A-Za-z0-9_-]+)"', response.text)
    ids["link_path"] = token_path.group(1)
    logged_in.get(
        ids["link_path"], headers={"User-Agent": "Mozilla/5.0 (Windows NT 10.0) Firefox/120.0"}
    )
    with app.app_context():
        db.session.add(ReminderSettings(user_id=user.id, daily_enabled=True, remind_at=time(7, 30)))
        db.session.add(
            PushSubscription(
                user_id=user.id,
                endpoint="https://push.example.net/send/secret-capability",
                p256dh="key",
                auth="auth-secret",
                device="Chrome on Android",
            )
        )
        db.session.add(CalendarFeed(user_id=user.id, token_hash=token_digest("feed")))
        db.session.commit()
    return ids


# --- The route ------------------------------------------------------------------------------------


def test_export_needs_login(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_export_is_a_zip_download_named_by_date_and_never_cached(logged_in):
    # Closed even when an assertion fails: an open stream keeps its request context pushed.
    with logged_in.get(URL) as response:
        assert response.status_code == 200
        assert response.mimetype == "application/zip"
        disposition = response.headers["Content-Disposition"]
        assert disposition == f'attachment; filename="skinlog-export-{TODAY.isoformat()}.zip"'
        assert "no-store" in response.headers["Cache-Control"]
        assert response.is_streamed


def test_export_is_not_compressed_again_by_the_middleware(logged_in):
    response = logged_in.get(URL, headers={"Accept-Encoding": "br, gzip"})
    assert "Content-Encoding" not in response.headers
    assert zipfile.ZipFile(io.BytesIO(response.get_data())).testzip() is None


def test_exports_are_rate_limited(logged_in):
    for _ in range(6):
        assert logged_in.get(URL).status_code == 200
    assert logged_in.get(URL).status_code == 429


def test_the_old_json_export_is_gone(logged_in):
    assert logged_in.get("/account/export.json").status_code == 404


def test_an_empty_account_exports_every_file(logged_in, user):
    archive = download(logged_in)
    assert set(archive.namelist()) == FILES
    data = data_of(archive)
    assert set(data) == TOP_KEYS
    assert (data["format"], data["version"]) == ("skinlog-export", 1)
    assert data["sessions"] == data["entries"] == data["photos"] == data["share_links"] == []
    bundle = json.loads(archive.read("fhir.json"))
    assert [item["resource"]["resourceType"] for item in bundle["entry"]] == ["Patient"]


def test_the_account_page_offers_the_download_also_before_deletion(logged_in):
    page = logged_in.get("/account").get_data(as_text=True)
    assert page.count(f'href="{URL}"') == 2
    assert "Download all my data (ZIP)" in page
    delete_zone = page[page.index("Delete my account") :]
    assert "Download your data first" in delete_zone


# --- data.json ------------------------------------------------------------------------------------


def test_data_json_holds_every_field_of_the_account_and_settings(logged_in, user, history):
    data = data_of(download(logged_in))
    assert data["account"] == {
        "email": "sam@example.com",
        "display_name": "Sam",
        "track": "both",
        "fitzpatrick": None,
        "timezone": "UTC",
        "keep_photo_times": False,
        "created_at": data["account"]["created_at"],
    }
    assert data["account"]["created_at"].endswith("Z")
    assert data["reminders"] == {
        "daily_enabled": True,
        "remind_at": "07:30",
        "photo_days_enabled": True,
        "session_due_enabled": True,
        "devices": [
            {
                "device": "Chrome on Android",
                "push_service": "push.example.net",
                "created_at": data["reminders"]["devices"][0]["created_at"],
                "last_sent_at": None,
            }
        ],
        "calendar_feed": True,
    }
    assert "secret-capability" not in json.dumps(data), "never the endpoint: it is a capability"


def test_reminders_without_a_settings_row_are_the_defaults_and_nothing_is_written(
    app, logged_in, user
):
    reminders = data_of(download(logged_in))["reminders"]
    assert reminders == {
        "daily_enabled": False,
        "remind_at": "20:00",
        "photo_days_enabled": True,
        "session_due_enabled": True,
        "devices": [],
        "calendar_feed": False,
    }
    with app.app_context():
        assert db.session.execute(db.select(ReminderSettings)).first() is None


def test_data_json_holds_every_field_of_sessions_and_entries(logged_in, history):
    data = data_of(download(logged_in))
    (session,) = data["sessions"]
    assert set(session) == SESSION_KEYS
    assert (session["id"], session["topicals"], session["deleted"]) == (
        history["session"],
        ["vitamin_c"],
        False,
    )
    assert [entry["id"] for entry in data["entries"]] == [history["plain"], history["entry"]]
    entry = data["entries"][1]
    assert set(entry) == ENTRY_KEYS
    assert entry["notes"] == FORMULA, "data.json keeps the text as written"
    assert entry["ratings"] == dict.fromkeys(RATINGS, 0) | {
        "redness": 6, "swelling": 3, "pain": 2, "itching": 1, "dryness": 4,
    }  # fmt: skip
    assert (entry["red_flags"], entry["aftercare"]) == (["fever"], ["sunscreen", "no_makeup"])


def test_data_json_holds_every_field_of_photos_naming_their_file(app, logged_in, history):
    photos = data_of(download(logged_in))["photos"]
    assert {photo["id"] for photo in photos} == {history["photo"], history["photo2"]}
    with app.app_context():
        stored = {p.uuid: p for p in db.session.execute(db.select(Photo)).scalars()}
    for photo in photos:
        assert set(photo) == PHOTO_KEYS
        row = stored[photo["id"]]
        day = (TODAY - timedelta(days=3)).isoformat()
        assert photo["file"] == f"photos/{day}_{row.area}_{row.uuid}.jpg"
        assert photo["entry_id"] == history["entry"]
        assert (photo["width"], photo["height"], photo["sha256"], photo["byte_size"]) == (
            row.width, row.height, row.sha256, row.byte_size,
        )  # fmt: skip
        assert (photo["quality"], photo["marks"], photo["alignment"]) == (
            row.quality, row.marks, row.alignment,
        )  # fmt: skip
        assert photo["lab"] == row.lab and photo["region"] is None and photo["taken_at"] is None


def test_share_links_come_with_their_view_log_and_never_a_token(logged_in, history):
    data = data_of(download(logged_in))
    (link,) = data["share_links"]
    assert set(link) == LINK_KEYS
    assert (link["label"], link["status"]) == ("Riverside", "active")
    assert [view["client"] for view in link["views"]] == ["Firefox on Windows"]
    token = history["link_path"].rsplit("/", 1)[1]
    assert token not in json.dumps(data)


def test_signed_in_devices_are_listed_coarsely(client, user):
    iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Version/17.0 Safari/604.1"
    login = {"email": user.email, "password": PASSWORD}
    assert client.post("/login", data=login, headers={"User-Agent": iphone}).status_code == 302
    (device,) = data_of(download(client))["devices"]
    assert set(device) == {"device", "created_at"}
    assert device["device"] == "Safari on iPhone"


def test_tombstones_are_not_exported(logged_in, history):
    archive = download(logged_in)
    everything = b"".join(archive.read(name) for name in FILES)
    for gone in (history["gone"], history["gone_photo"]):
        assert gone.encode() not in everything
        assert not any(gone in name for name in archive.namelist())
    assert b"deleted note" not in everything


def test_another_patients_data_is_not_in_it(logged_in, other_client, history, sample_photo):
    theirs = new_id()
    assert other_client.put(f"/api/v1/entries/{theirs}", json=entry_body()).status_code == 201
    assert put_photo(other_client, theirs, new_id(), sample_photo).status_code == 201
    mine = download(logged_in)
    everything = b"".join(mine.read(name) for name in mine.namelist())
    assert theirs.encode() not in everything and b"other@example.com" not in everything
    other = download(other_client)
    assert len(data_of(other)["photos"]) == 1
    assert history["entry"].encode() not in b"".join(other.read(n) for n in other.namelist())


# --- Photos ---------------------------------------------------------------------------------------


def test_photos_are_the_stored_full_rendition_byte_for_byte(app, logged_in, history):
    archive = download(logged_in)
    store = app.extensions["photo_store"]
    with app.app_context():
        rows = list(
            db.session.execute(db.select(Photo).where(Photo.deleted_at.is_(None))).scalars()
        )
    photo_files = sorted(name for name in archive.namelist() if name.startswith("photos/"))
    assert len(photo_files) == len(rows) == 2
    for row in rows:
        (name,) = [name for name in photo_files if row.uuid in name]
        assert re.fullmatch(rf"photos/\d{{4}}-\d\d-\d\d_{row.area}_{row.uuid}\.jpg", name)
        content = archive.read(name)
        assert content == store.read(row.rendition_key("full"))
        assert hashlib.sha256(content).hexdigest() == row.sha256
        assert archive.getinfo(name).compress_type == zipfile.ZIP_STORED


def test_a_photo_whose_bytes_are_lost_is_listed_without_a_file(app, logged_in, history):
    with app.app_context():
        lost = db.session.execute(
            db.select(Photo).where(Photo.uuid == history["photo"])
        ).scalar_one()
        app.extensions["photo_store"].delete_prefix(lost.storage_key)
    archive = download(logged_in)
    photos = {photo["id"]: photo for photo in data_of(archive)["photos"]}
    assert photos[history["photo"]]["file"] is None
    assert photos[history["photo2"]]["file"] in archive.namelist()
    assert not any(history["photo"] in name for name in archive.namelist())


# --- Spreadsheets, FHIR, README -------------------------------------------------------------------


def test_entries_csv_has_a_column_per_rating_and_the_session_it_follows(logged_in, history):
    rows = csv_rows(download(logged_in), "entries.csv")
    assert list(rows[0]) == list(tables.ENTRY_COLUMNS)
    assert [row["id"] for row in rows] == [history["plain"], history["entry"]]
    row = rows[1]
    assert [row[name] for name in RATINGS] == ["6", "3", "2", "1", "4", "0"]
    assert (row["session_number"], row["days_since_session"]) == ("1", "2")
    assert (row["red_flags"], row["aftercare"]) == ("fever", "sunscreen; no_makeup")
    assert row["pih_severity"] == ""


def test_csv_cells_that_a_spreadsheet_would_run_are_guarded(logged_in, history):
    row = csv_rows(download(logged_in), "entries.csv")[1]
    assert row["notes"] == "'" + FORMULA


def test_sessions_csv_numbers_the_sessions_and_joins_lists(logged_in, history):
    (row,) = csv_rows(download(logged_in), "sessions.csv")
    assert list(row) == list(tables.SESSION_COLUMNS)
    assert (row["number"], row["id"], row["areas"], row["topicals"]) == (
        "1", history["session"], "left_cheek", "vitamin_c",
    )  # fmt: skip


@given(st.text())
def test_a_guarded_cell_never_starts_a_formula_and_keeps_the_text(text):
    cell = tables.cell(text)
    assert not str(cell).startswith(tables.FORMULA_STARTS)
    assert cell in (text, "'" + text)


def test_fhir_bundle_names_the_photo_files_instead_of_embedding_them(logged_in, history):
    archive = download(logged_in)
    bundle = json.loads(archive.read("fhir.json"))
    assert bundle["resourceType"] == "Bundle"
    kinds = [item["resource"]["resourceType"] for item in bundle["entry"]]
    assert kinds.count("Patient") == 1 and kinds.count("Procedure") == 1
    assert kinds.count("QuestionnaireResponse") == 2
    resources = [item["resource"] for item in bundle["entry"]]
    documents = [r for r in resources if r["resourceType"] == "DocumentReference"]
    assert len(documents) == 2
    for document in documents:
        attachment = document["content"][0]["attachment"]
        assert "data" not in attachment
        assert attachment["url"] in archive.namelist()
    notes = [
        item["answer"][0]["valueString"]
        for resource in resources
        for item in resource.get("item", [])
        if item["linkId"] == "notes"
    ]
    assert notes == [FORMULA], "the account's own notes are in"


def test_fhir_bundle_of_a_long_history_is_written_in_stretches_without_repeats(
    app, user, logged_in
):
    with app.app_context():
        add_history(user.id, days=200, sessions=3, session_every=56, photo_areas=("chin",))
    bundle = json.loads(download(logged_in).read("fhir.json"))
    urls = [item["fullUrl"] for item in bundle["entry"]]
    assert len(urls) == len(set(urls))
    kinds = [item["resource"]["resourceType"] for item in bundle["entry"]]
    assert (kinds.count("Patient"), kinds.count("QuestionnaireResponse")) == (1, 200)
    assert (kinds.count("Procedure"), kinds.count("DocumentReference")) == (3, 200)


def test_readme_says_what_each_file_is(logged_in, history):
    readme = download(logged_in).read("README.txt").decode()
    for name in (*FILES, "photos/"):
        assert re.search(rf"^{re.escape(name)}\s", readme, re.MULTILINE), name
    assert "sam@example.com" in readme


# --- Memory ---------------------------------------------------------------------------------------


def peak_export_memory(app, photos: int) -> tuple[int, int]:
    """(peak traced bytes, archive bytes) of exporting a patient with `photos` photos of 192 kB,
    one a day, the archive read and thrown away as a client would."""
    store = app.extensions["photo_store"]
    jpeg = bytes(range(256)) * 768  # 192 kB; the export copies bytes, it never decodes them
    with app.app_context():
        patient = User(
            email=f"memory{photos}@example.com",
            password_hash="x",
            display_name="Memory",
            timezone="UTC",
        )
        db.session.add(patient)
        db.session.commit()
        add_history(patient.id, days=photos, sessions=2, session_every=28, photo_areas=("chin",))
        for key in db.session.execute(
            db.select(Photo.storage_key).where(Photo.user_id == patient.id)
        ).scalars():
            store.put(f"{key}/full.jpg", jpeg, "image/jpeg")
        db.session.expunge_all()
        patient = db.session.get(User, patient.id)
        tracemalloc.start()
        try:
            _, chunks = export.export_archive(patient, store)
            size = sum(len(chunk) for chunk in chunks)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        db.session.remove()
    assert size > photos * len(jpeg)
    return peak, size


def test_export_memory_does_not_grow_with_the_number_of_photos(app):
    few, _ = peak_export_memory(app, 40)
    many, size = peak_export_memory(app, 200)
    # 160 more photos are 30 MB of bytes and ~1,400 more rows; the peak may grow by what a
    # stretch of the FHIR Bundle holds, never by the photos.
    assert many < few + 3 * 1024 * 1024, (few, many)
    assert many < 24 * 1024 * 1024, many
    assert size > 200 * 192 * 1024


def test_export_reads_in_batches_not_a_query_per_row(app, user, logged_in, count_queries):
    with app.app_context():
        add_history(user.id, days=150, sessions=3, session_every=40)
    with count_queries() as statements:
        archive = download(logged_in)
    assert len(data_of(archive)["photos"]) == 300
    # Login and settings, then one query per list (photos twice) and three per FHIR stretch.
    assert len(statements) < 30, len(statements)


def test_rows_written_while_the_export_streams_are_not_half_in_it(app, user):
    """A phone syncing during a long download: the export reads one snapshot, so a new entry is
    wholly absent rather than, say, its photo listed without it."""
    with app.app_context():
        add_history(user.id, days=3)
    late = new_id()
    with app.app_context():
        _, chunks = export.export_archive(
            db.session.get(User, user.id), app.extensions["photo_store"]
        )
        chunks = iter(chunks)
        body = [next(chunks)]  # under way
        with db.engine.begin() as phone:  # another connection, as another worker's would be
            now = datetime.now(UTC)
            phone.execute(
                sa.insert(Entry).values(
                    uuid=late, user_id=user.id, date=TODAY - timedelta(days=10), change_seq=99,
                    client_updated_at=now, created_at=now, updated_at=now,
                )
            )  # fmt: skip
        archive = zipfile.ZipFile(io.BytesIO(b"".join([*body, *chunks])))
        db.session.remove()
    assert len(data_of(archive)["entries"]) == 3
    assert not any(late.encode() in archive.read(name) for name in archive.namelist())


def test_the_session_can_write_again_once_the_archive_is_made(app, user):
    with app.app_context():
        _, chunks = export.export_archive(
            db.session.get(User, user.id), app.extensions["photo_store"]
        )
        assert b"".join(chunks)
        db.session.get(User, user.id).display_name = "Renamed"
        db.session.commit()
        db.session.remove()
        assert db.session.get(User, user.id).display_name == "Renamed"


# --- Exported, then imported again through the form ---------------------------------------------


def test_an_export_imported_again_through_the_form_changes_nothing(logged_in, history):
    exported = logged_in.get(URL).get_data()
    upload = {"archive": (io.BytesIO(exported), "skinlog-export.zip")}
    response = logged_in.post("/account/import", data=upload, content_type="multipart/form-data")
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    page = response.get_data(as_text=True)
    assert "Import done" in page and "2 daily entries: 2 already up to date" in page
    data = data_of(download(logged_in))
    assert {entry["id"] for entry in data["entries"]} == {history["entry"], history["plain"]}
    assert {photo["id"] for photo in data["photos"]} == {history["photo"], history["photo2"]}
