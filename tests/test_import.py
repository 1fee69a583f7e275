"""Importing an export archive (docs/export.md "Import"; webapp/portability/importer.py).

The round trip: an account with every kind of row -> its export -> the account deleted -> a new
account -> import -> export again gives the same data. "The same", after photos are ingested
again from their JPEG (re-encoded, so not byte for byte):

* every session, entry and setting field, and each photo's id, entry, area, file name, region,
  capture time, size and alignment reference: equal;
* each photo's pixels: within 2 levels on average (JPEG re-encoding at the same quality), and its
  indicative colour within 0.5 L*a*b*; its quality verdict equal; its marks are measured again
  (their counts move with JPEG noise: indicative, docs/domain.md), so they are not compared;
* not compared: export time, the account's identity (email, created_at), `updated_at` (when this
  server wrote the row), share links, devices (not imported), photo bytes' sha256 and byte_size.

Every refusal leaves the database's rows and the store's bytes as they were (listed, not assumed).
"""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from PIL import Image

from tests.import_archives import (
    data_json,
    export_bytes,
    fill_account,
    members,
    rezip,
    row_counts,
    stored_keys,
    with_data,
)
from tests.photo_factory import make_photo
from webapp import records
from webapp.auth.account import delete_account
from webapp.extensions import db
from webapp.models import Entry, Photo, ReminderSettings, ShareLink, TreatmentSession, User
from webapp.portability import importer
from webapp.portability.archive import Limits


@pytest.fixture
def store(app):
    return app.extensions["photo_store"]


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield


def _user(email: str, *, keep_photo_times: bool = True) -> User:
    user = User(
        email=email, password_hash="-", display_name=email[0], keep_photo_times=keep_photo_times
    )
    db.session.add(user)
    db.session.commit()
    return user


@pytest.fixture
def source(ctx, store) -> tuple[User, dict[str, list[str]], bytes]:
    """An account with every kind of row, the UUIDs made and its export archive."""
    user = _user("old@example.com")
    made = fill_account(user, store)
    return user, made, export_bytes(user, store)


@pytest.fixture
def archive(source) -> bytes:
    return source[2]


@pytest.fixture
def moved(source, store) -> tuple[User, bytes]:
    """The old account deleted after its export, and a new, empty one."""
    delete_account(source[0], store)
    return _user("new@example.com"), source[2]


def _import(user: User, archive: bytes, store, **kwargs) -> importer.ImportReport:
    return importer.import_archive(user, io.BytesIO(archive), store, **kwargs)


def _comparable(data: dict[str, Any]) -> dict[str, Any]:
    """data.json without what a round trip may change (see the module's docstring)."""
    measured = ("sha256", "byte_size", "lab", "quality", "marks", "alignment", "updated_at")
    return {
        "reminders": {k: v for k, v in data["reminders"].items() if k not in ("devices",)},
        "sessions": [_without(row, ("updated_at",)) for row in data["sessions"]],
        "entries": [_without(row, ("updated_at",)) for row in data["entries"]],
        "photos": [
            {
                **_without(row, measured),
                "verdict": (row["quality"] or {}).get("verdict"),
                "reference": (row["alignment"] or {}).get("reference"),
            }
            for row in data["photos"]
        ],
    }


def _without(row: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    return {key: value for key, value in row.items() if key not in names}


def _pixels(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=np.int16)


# --- The round trip -------------------------------------------------------------------------------


def test_round_trip_into_a_new_account_exports_the_same_data(moved, store):
    user, archive = moved
    _import(user, archive, store)
    again = export_bytes(user, store)
    assert _comparable(data_json(again)) == _comparable(data_json(archive))


def test_round_trip_keeps_each_photos_pixels_and_colour(moved, store):
    user, archive = moved
    _import(user, archive, store)
    again = export_bytes(user, store)
    before, after = data_json(archive)["photos"], data_json(again)["photos"]
    for old, new in zip(before, after, strict=True):
        difference = np.abs(
            _pixels(members(archive)[old["file"]]) - _pixels(members(again)[new["file"]])
        )
        assert difference.mean() < 2.0
        for channel in ("L", "a", "b"):
            assert abs(old["lab"][channel] - new["lab"][channel]) < 0.5


def test_round_trip_report_counts_every_row_as_created(moved, store):
    user, archive = moved
    report = _import(user, archive, store)
    assert (report.sessions.created, report.entries.created, report.photos.created) == (2, 3, 3)
    assert report.photos_skipped == 0
    assert report.reminders_changed


def test_importing_the_same_archive_twice_changes_nothing_the_second_time(moved, store):
    user, archive = moved
    _import(user, archive, store)
    sequence = db.session.get(User, user.id).change_seq
    keys, counts = stored_keys(store), row_counts()
    report = _import(user, archive, store)
    assert (report.sessions.unchanged, report.entries.unchanged, report.photos.unchanged) == (
        2,
        3,
        3,
    )
    assert report.sessions.created + report.entries.updated + report.photos.created == 0
    assert not report.reminders_changed
    assert (stored_keys(store), row_counts()) == (keys, counts)
    db.session.expire_all()
    assert db.session.get(User, user.id).change_seq == sequence


def test_capture_times_are_dropped_for_an_account_that_does_not_keep_them(source, store):
    delete_account(source[0], store)
    user = _user("new@example.com", keep_photo_times=False)
    _import(user, source[2], store)
    assert [p["taken_at"] for p in data_json(source[2])["photos"]].count(None) == 2
    assert db.session.execute(db.select(Photo.taken_at)).scalars().all() == [None] * 3


def test_imported_rows_take_change_numbers_so_phones_sync_them(moved, store):
    user, archive = moved
    _import(user, archive, store)
    numbers = [
        number
        for model in (TreatmentSession, Entry, Photo)
        for number in db.session.execute(db.select(model.change_seq)).scalars()
    ]
    assert sorted(numbers) == list(range(1, 9))
    assert db.session.get(User, user.id).change_seq == 8


# --- Merge by UUID, last writer wins --------------------------------------------------------------


def _restamp(archive: bytes, minutes: int, note: str) -> bytes:
    """The archive with its first entry's notes changed and its stamp moved by `minutes`."""

    def change(data: dict[str, Any]) -> None:
        entry = data["entries"][0]
        stamp = datetime.fromisoformat(entry["client_updated_at"]) + timedelta(minutes=minutes)
        entry["client_updated_at"] = stamp.isoformat()
        entry["notes"] = note

    return with_data(archive, change)


def _first_entry_notes(archive: bytes) -> str:
    uuid = data_json(archive)["entries"][0]["id"]
    return db.session.execute(db.select(Entry.notes).where(Entry.uuid == uuid)).scalar_one()


def test_a_newer_row_in_the_archive_updates_the_accounts(source, store):
    user, _, archive = source
    report = _import(user, _restamp(archive, +5, "newer in the archive"), store)
    assert (report.entries.updated, report.entries.unchanged) == (1, 2)
    assert _first_entry_notes(archive) == "newer in the archive"


def test_an_older_row_in_the_archive_leaves_the_accounts(source, store):
    user, _, archive = source
    report = _import(user, _restamp(archive, -5, "older in the archive"), store)
    assert (report.entries.updated, report.entries.unchanged) == (0, 3)
    assert _first_entry_notes(archive) == "day 9: tight, a little warm ✓"


def test_a_deleted_entry_comes_back_when_the_archive_edited_it_later(source, store):
    user, made, archive = source
    entry = records.owned(Entry, user, made["entries"][0])
    records.delete_row(entry, store, datetime(2026, 1, 1, 9, 1, tzinfo=UTC))
    report = _import(user, _restamp(archive, +5, "back"), store)
    assert report.entries.updated == 1
    assert _first_entry_notes(archive) == "back"


def test_a_uuid_of_another_account_is_refused_and_never_overwritten(source, store):
    _, _, archive = source
    thief = _user("thief@example.com")
    before = row_counts(), stored_keys(store)
    with pytest.raises(importer.ImportRefused, match=r"sessions\[0\]\.id: is used by another"):
        _import(thief, _restamp(archive, +5, "overwritten?"), store)
    assert (row_counts(), stored_keys(store)) == before
    assert _first_entry_notes(archive) == "day 9: tight, a little warm ✓"


def test_an_entry_on_a_date_the_account_holds_under_another_id_is_refused(moved, store):
    user, archive = moved

    def new_ids(data: dict[str, Any]) -> None:
        for entry in data["entries"]:
            entry["id"] = entry["id"][:-4] + "beef"
        for photo in data["photos"]:
            photo["entry_id"] = photo["entry_id"][:-4] + "beef"
            photo["id"] = photo["id"][:-4] + "beef"

    _import(user, archive, store)
    before = row_counts(), stored_keys(store)
    with pytest.raises(importer.ImportRefused, match=r"entries\[0\]\.date: this account already"):
        _import(user, with_data(archive, new_ids), store)
    assert (row_counts(), stored_keys(store)) == before


def test_photos_of_an_entry_this_account_deleted_later_are_skipped_and_their_bytes_removed(
    moved, store
):
    user, archive = moved
    first_entry = data_json(archive)["entries"][0]["id"]
    _import(user, with_data(archive, lambda d: d.update(photos=[])), store)
    entry = records.owned(Entry, user, first_entry)
    records.delete_row(entry, store, datetime.now(UTC))  # after the archive's edit
    keys = stored_keys(store)
    report = _import(user, archive, store)
    assert (report.entries.unchanged, report.photos.created, report.photos_skipped) == (3, 2, 1)
    photos = db.session.execute(db.select(Photo.storage_key)).scalars().all()
    assert stored_keys(store) == keys | set(photos)


def test_a_photo_this_account_deleted_stays_deleted(moved, store):
    user, archive = moved
    _import(user, archive, store)
    first = data_json(archive)["photos"][0]["id"]
    records.delete_photo(records.owned(Photo, user, first), store)
    report = _import(user, archive, store)
    assert (report.photos.unchanged, report.photos.created) == (3, 0)
    assert records.owned(Photo, user, first) is None


def test_imported_photos_align_to_the_accounts_reference_of_their_area(moved, store):
    user, archive = moved
    data = data_json(archive)
    reference = data["photos"][0]  # the account's left cheek reference after this first import
    first_only = with_data(archive, lambda d: d.update(photos=d["photos"][:1]))
    _import(user, first_only, store)
    assert records.owned(Photo, user, reference["id"]).alignment["reference"] is None
    _import(user, archive, store)
    third = records.owned(Photo, user, data["photos"][2]["id"])
    assert third.area == reference["area"]
    assert third.alignment["reference"] == reference["id"]
    assert third.alignment["aligned"]


def test_the_reminder_settings_are_taken_from_the_archive_and_scheduled(moved, store):
    user, archive = moved
    _import(user, archive, store)
    settings = db.session.execute(db.select(ReminderSettings)).scalar_one()
    assert (settings.daily_enabled, settings.remind_at.isoformat()) == (True, "21:15:00")
    assert (settings.photo_days_enabled, settings.session_due_enabled) == (False, True)
    assert settings.next_due_at is not None


def test_an_import_racing_another_of_the_same_archive_stores_each_photo_once(
    moved, store, monkeypatch
):
    """Both ingest; the second to take the patient's lock finds the photos held, counts them
    unchanged and removes the bytes it ingested."""
    user, archive = moved
    write = importer.write

    def other_import_first(*args, **kwargs):
        monkeypatch.setattr(importer, "write", write)  # the other import runs as usual
        _import(user, archive, store)
        return write(*args, **kwargs)

    monkeypatch.setattr(importer, "write", other_import_first)
    report = _import(user, archive, store)
    assert (report.photos.created, report.photos.unchanged) == (0, 3)
    keys = set(db.session.execute(db.select(Photo.storage_key)).scalars())
    assert len(keys) == 3
    assert stored_keys(store) == keys


# --- Refused archives: a clear message, nothing half-imported ------------------------------------


def _symlink_zip(archive: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as out:
        for name, data in members(archive).items():
            out.writestr(name, data)
        link = zipfile.ZipInfo("photos/link.jpg")
        link.create_system = 3
        link.external_attr = 0o120777 << 16
        out.writestr(link, "/etc/passwd")
    return buffer.getvalue()


def _lying_header(archive: bytes) -> bytes:
    """data.json deflated, its headers claiming 100 bytes while it inflates to far more."""
    contents = members(archive)
    contents["data.json"] += b" " * 2_000_000
    raw = bytearray(rezip({"data.json": contents["data.json"]}))
    real = len(contents["data.json"]).to_bytes(4, "little")
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = raw.index(signature)
        assert raw[at + offset : at + offset + 4] == real
        raw[at + offset : at + offset + 4] = (100).to_bytes(4, "little")
    return bytes(raw)


def _drop(name_part: str):
    return lambda archive: rezip({n: d for n, d in members(archive).items() if name_part not in n})


def _add(name: str, data: bytes, compression: int = zipfile.ZIP_DEFLATED):
    return lambda archive: rezip({**members(archive), name: data}, compression=compression)


def _data(change):
    return lambda archive: with_data(archive, change)


def _set_rating(data: dict[str, Any]) -> None:
    data["entries"][1]["ratings"]["redness"] = 11


def _bad_photo(archive: bytes) -> bytes:
    contents = members(archive)
    last = data_json(archive)["photos"][-1]["file"]
    contents[last] = b"this is not a JPEG"
    return rezip(contents)


REFUSALS = {
    "not a zip": (lambda archive: b"%PDF-1.4 not a zip", r"^This file is not a ZIP archive"),
    "no data.json": (_drop("data.json"), r"has no data\.json"),
    "wrong format": (_data(lambda d: d.update(format="other-app")), r'"format" is wrong'),
    "newer version": (_data(lambda d: d.update(version=2)), r"export version 2"),
    "dot-dot name": (_add("../evil.txt", b"x"), r"'\.\./evil\.txt': a name that climbs out"),
    "absolute name": (_add("/etc/cron.d/x", b"x"), r"'/etc/cron\.d/x': an absolute path"),
    "backslash name": (_add("photos\\x.jpg", b"x"), r"a name with a backslash"),
    "symlink": (_symlink_zip, r"^photos/link\.jpg: a symbolic link"),
    "photo over 25 MB": (
        _add("photos/huge.jpg", bytes(26 * 1024 * 1024), zipfile.ZIP_STORED),
        r"^photos/huge\.jpg: larger than 25 MB",
    ),
    "zip bomb": (_add("fhir.json", bytes(50 * 1024 * 1024)), r"^fhir\.json: inflates [\d,]+ times"),
    "lying header": (_lying_header, r"^data\.json: (damaged|holds more than its header)"),
    "missing photo": (
        _drop("photos/"),
        r"^photos/.+\.jpg: missing from the ZIP \(named by data\.json photos\[0\]\)",
    ),
    "not a photo": (_bad_photo, r"^photos/.+\.jpg: not a photo we can import"),
    "bad rating": (
        _data(_set_rating),
        r"^data\.json: entries\[1\]\.ratings\.redness: Redness must be from 0 to 10$",
    ),
    "future date": (
        _data(lambda d: d["sessions"][1].update(date="2999-01-01")),
        r"^data\.json: sessions\[1\]\.date: cannot be in the future$",
    ),
    "unknown area": (
        _data(lambda d: d["photos"][2].update(area="elbow")),
        r"^data\.json: photos\[2\]\.area: choose one of",
    ),
    "photo of no entry": (
        _data(lambda d: d["photos"][0].update(entry_id="00000000-0000-4000-8000-000000000000")),
        r"^data\.json: photos\[0\]\.entry_id: names no entry of data\.json$",
    ),
    "not json": (
        lambda archive: rezip({**members(archive), "data.json": b"{not json"}),
        r"^data\.json: not valid JSON",
    ),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_a_bad_archive_is_refused_with_a_clear_message_and_nothing_imported(case, moved, store):
    user, archive = moved
    make, message = REFUSALS[case]
    before = row_counts(), stored_keys(store)
    with pytest.raises(importer.ImportRefused, match=message):
        _import(user, make(archive), store)
    assert (row_counts(), stored_keys(store)) == before


def test_a_refusal_after_photos_were_ingested_removes_their_bytes(moved, store, monkeypatch):
    """The last photo is refused after the others were stored: none of them stays."""
    user, archive = moved
    puts: list[str] = []
    original = type(store).put

    def counting_put(self, key, data, content_type):
        puts.append(key)
        return original(self, key, data, content_type)

    monkeypatch.setattr(type(store), "put", counting_put)
    before = row_counts(), stored_keys(store)
    with pytest.raises(importer.ImportRefused, match="not a photo"):
        _import(user, _bad_photo(archive), store)
    assert len(puts) == 6  # two photos' three renditions were written, then removed
    assert (row_counts(), stored_keys(store)) == before


def test_a_failing_commit_rolls_back_and_removes_the_bytes(moved, store, monkeypatch):
    user, archive = moved
    before = row_counts(), stored_keys(store)

    def fail():
        raise RuntimeError("database went away")

    monkeypatch.setattr(db.session, "commit", fail)
    with pytest.raises(RuntimeError, match="went away"):
        _import(user, archive, store)
    monkeypatch.undo()
    assert (row_counts(), stored_keys(store)) == before


def test_more_members_than_the_limit_is_refused(moved, store):
    user, archive = moved
    with pytest.raises(importer.ImportRefused, match="holds more than 5 files"):
        _import(user, archive, store, limits=Limits(max_members=5))


def test_more_than_the_total_size_is_refused(moved, store):
    user, archive = moved
    with pytest.raises(importer.ImportRefused, match="inflates to more than"):
        _import(user, archive, store, limits=Limits(max_total_bytes=200_000))


def test_a_real_export_stays_inside_the_default_limits(moved, store):
    user, archive = moved
    assert _import(user, archive, store).photos.created == 3


def test_a_photo_without_its_file_in_the_archive_is_skipped_and_counted(moved, store):
    user, archive = moved
    report = _import(user, with_data(archive, lambda d: d["photos"][0].update(file=None)), store)
    assert (report.photos.created, report.photos_skipped) == (2, 1)


def test_a_share_link_in_the_archive_is_not_imported(moved, store):
    user, archive = moved

    def add_link(data: dict[str, Any]) -> None:
        data["share_links"] = [{"id": 1, "label": "Dr X", "views": [{"viewed_at": None}]}]

    _import(user, with_data(archive, add_link), store)
    assert db.session.execute(db.select(db.func.count()).select_from(ShareLink)).scalar() == 0


def test_unknown_keys_a_later_version_1_may_add_are_ignored(moved, store):
    user, archive = moved

    def add_keys(data: dict[str, Any]) -> None:
        data["entries"][0]["mood"] = "fine"
        data["photos"][0]["lens"] = "wide"
        data["future_section"] = [1, 2]

    assert _import(user, with_data(archive, add_keys), store).entries.created == 3


def test_a_rating_outside_ratings_is_refused_not_dropped(moved, store):
    user, archive = moved
    with pytest.raises(importer.ImportRefused, match=r"entries\[0\]\.redness: is a rating"):
        _import(user, with_data(archive, lambda d: d["entries"][0].update(redness=3)), store)


def test_a_photo_with_metadata_is_sanitised_again(moved, store):
    user, archive = moved
    contents = members(archive)
    first = data_json(archive)["photos"][0]["file"]
    contents[first] = make_photo(800, 600, gps=True, comment=b"secret comment")
    _import(user, rezip(contents), store)
    photo = db.session.execute(db.select(Photo).order_by(Photo.id)).scalars().first()
    full = store.read(photo.rendition_key("full"))
    assert b"secret comment" not in full
    assert b"SkinlogTestCam" not in full


def test_data_json_is_read_as_utf8_json_only(moved, store):
    user, archive = moved
    contents = members(archive)
    contents["data.json"] = json.dumps(data_json(archive)).encode("utf-16")
    with pytest.raises(importer.ImportRefused, match="not valid JSON"):
        _import(user, rezip(contents), store)
