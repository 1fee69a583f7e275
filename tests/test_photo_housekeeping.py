"""Keeping photo rows and photo bytes in step.

* The per-entry cap (MAX_PHOTOS_PER_ENTRY) holds when two uploads race for an entry's last slot:
  the race is made deterministic by committing a competing photo from another session while ours
  is being ingested, i.e. after add_photo's early check and before its commit.
* The housekeeping sweep (webapp.housekeeping, `flask photos sweep`) removes bytes that no photo
  row names once they are older than the grace period, and the leftover bytes of deleted photos.

Everything runs against the store and database the `app` fixture picks, so `make test-postgres`
runs it on PostgreSQL with photos in S3.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from webapp import imaging, records
from webapp.extensions import db
from webapp.housekeeping import SweepReport, sweep_photos
from webapp.models import Entry, Photo, User, utcnow
from webapp.responses import RENDITIONS
from webapp.storage import PhotoStore, StorageError, new_key
from webapp.validation import EntryData
from webapp.vocabulary import MAX_PHOTOS_PER_ENTRY

JPEG = "image/jpeg"


# --- helpers ---------------------------------------------------------------------------------


@pytest.fixture
def store(app: Flask) -> Iterator[PhotoStore]:
    """The app's photo store, inside an app context (records and the sweep need one)."""
    with app.app_context():
        yield app.extensions["photo_store"]


@pytest.fixture
def entry(store: PhotoStore, user: User) -> Entry:
    data = EntryData(date=date(2026, 3, 1), ratings={}, pie_severity=None, pih_severity=None)
    return records.save_entry(user, str(uuid.uuid4()), data).row


def put_bytes(store: PhotoStore) -> str:
    """Renditions under a new key, as add_photo writes them before its row; the key."""
    key = new_key()
    for name in RENDITIONS:
        store.put(f"{key}/{name}.jpg", b"not really a jpeg", JPEG)
    return key


def photo_row(entry: Entry, key: str, change: int, photo_uuid: str | None = None) -> Photo:
    return Photo(
        uuid=photo_uuid or str(uuid.uuid4()),
        user_id=entry.user_id,
        entry_id=entry.id,
        area="front",
        storage_key=key,
        width=1,
        height=1,
        byte_size=17,
        sha256="0" * 64,
        change_seq=change,
    )


def fill(entry: Entry, store: PhotoStore, count: int) -> list[str]:
    """Give the entry `count` live photos (bytes and rows, without ingesting); their keys."""
    keys = [put_bytes(store) for _ in range(count)]
    first = records.claim_changes(entry.user_id, count)
    db.session.add_all(photo_row(entry, key, first + n) for n, key in enumerate(keys))
    db.session.commit()
    return keys


def stored_keys(store: PhotoStore) -> set[str]:
    return {prefix.base_key for prefix in store.list_prefixes()}


def live_photo_uuids(entry: Entry) -> set[str]:
    return set(
        db.session.execute(
            db.select(Photo.uuid).where(Photo.entry_id == entry.id, Photo.deleted_at.is_(None))
        ).scalars()
    )


def race_during_ingest(monkeypatch: pytest.MonkeyPatch, compete: Callable[[], None]) -> list[int]:
    """Run `compete` while add_photo ingests: after its early cap check, before its commit."""
    calls: list[int] = []
    real_ingest = imaging.ingest_photo

    def ingest_while_another_request_commits(data: bytes):
        calls.append(1)
        compete()
        return real_ingest(data)

    monkeypatch.setattr(imaging, "ingest_photo", ingest_while_another_request_commits)
    return calls


def commit_from_another_request(store: PhotoStore, entry: Entry, photo_uuid: str) -> str:
    """Store a photo for `entry` the way a request in another worker would; its key."""
    key = put_bytes(store)
    with Session(db.engine) as other:
        change = other.execute(
            sa.update(User)
            .where(User.id == entry.user_id)
            .values(change_seq=User.change_seq + 1)
            .returning(User.change_seq)
        ).scalar_one()
        other.add(photo_row(entry, key, change, photo_uuid))
        other.commit()
    return key


# --- the per-entry cap under a race ------------------------------------------------------------


def test_the_later_of_two_uploads_racing_for_the_last_slot_is_refused(
    store: PhotoStore, entry: Entry, user: User, sample_photo: bytes, monkeypatch
) -> None:
    fill(entry, store, MAX_PHOTOS_PER_ENTRY - 1)
    winner = str(uuid.uuid4())
    race_during_ingest(monkeypatch, lambda: commit_from_another_request(store, entry, winner))
    later = str(uuid.uuid4())

    with pytest.raises(records.TooManyPhotos):
        records.add_photo(user, entry, later, "front", sample_photo, store)

    uuids = live_photo_uuids(entry)
    assert len(uuids) == MAX_PHOTOS_PER_ENTRY
    assert winner in uuids
    assert later not in uuids


def test_an_upload_refused_by_the_race_leaves_no_bytes(
    store: PhotoStore, entry: Entry, user: User, sample_photo: bytes, monkeypatch
) -> None:
    keys = set(fill(entry, store, MAX_PHOTOS_PER_ENTRY - 1))
    competitor: list[str] = []
    race_during_ingest(
        monkeypatch,
        lambda: competitor.append(commit_from_another_request(store, entry, str(uuid.uuid4()))),
    )
    with pytest.raises(records.TooManyPhotos):
        records.add_photo(user, entry, str(uuid.uuid4()), "front", sample_photo, store)
    assert stored_keys(store) == keys | set(competitor)


def test_a_replay_racing_its_own_upload_for_the_last_slot_gets_the_stored_photo(
    store: PhotoStore, entry: Entry, user: User, sample_photo: bytes, monkeypatch
) -> None:
    # The same upload sent twice at once: the copy that lost is answered with the stored photo
    # (idempotent), not refused as a seventh photo, and its bytes are not kept.
    keys = set(fill(entry, store, MAX_PHOTOS_PER_ENTRY - 1))
    photo_uuid = str(uuid.uuid4())
    first: list[str] = []
    race_during_ingest(
        monkeypatch, lambda: first.append(commit_from_another_request(store, entry, photo_uuid))
    )

    photo, created = records.add_photo(user, entry, photo_uuid, "front", sample_photo, store)

    assert (photo.uuid, photo.storage_key, created) == (photo_uuid, first[0], False)
    assert stored_keys(store) == keys | set(first)


def test_the_cap_is_checked_before_the_photo_is_ingested(
    store: PhotoStore, entry: Entry, user: User, sample_photo: bytes, monkeypatch
) -> None:
    # Ingesting costs ~0.3 s of CPU: a full entry is refused without it.
    fill(entry, store, MAX_PHOTOS_PER_ENTRY)
    ingested = race_during_ingest(monkeypatch, lambda: None)
    with pytest.raises(records.TooManyPhotos):
        records.add_photo(user, entry, str(uuid.uuid4()), "front", sample_photo, store)
    assert ingested == []


def test_the_last_free_slot_still_takes_a_photo(
    store: PhotoStore, entry: Entry, user: User, sample_photo: bytes
) -> None:
    fill(entry, store, MAX_PHOTOS_PER_ENTRY - 1)
    photo, created = records.add_photo(user, entry, str(uuid.uuid4()), "front", sample_photo, store)
    assert created
    assert len(live_photo_uuids(entry)) == MAX_PHOTOS_PER_ENTRY
    assert stored_keys(store) >= {photo.storage_key}


def test_adding_a_photo_does_not_mark_its_entry_as_changed(
    store: PhotoStore, entry: Entry, user: User, sample_photo: bytes
) -> None:
    # The entry's row is locked while the photo is inserted; that must not move it in the
    # /changes feed, which is ordered by updated_at.
    before = db.session.execute(db.select(Entry.updated_at).where(Entry.id == entry.id)).scalar()
    records.add_photo(user, entry, str(uuid.uuid4()), "front", sample_photo, store)
    after = db.session.execute(db.select(Entry.updated_at).where(Entry.id == entry.id)).scalar()
    assert after == before


def test_a_deleted_photo_frees_its_slot(
    store: PhotoStore, entry: Entry, user: User, sample_photo: bytes
) -> None:
    fill(entry, store, MAX_PHOTOS_PER_ENTRY)
    records.delete_photo(entry.photos[0], store)
    _, created = records.add_photo(user, entry, str(uuid.uuid4()), "front", sample_photo, store)
    assert created


# --- the sweep ---------------------------------------------------------------------------------


def sweep(store: PhotoStore, **options: object) -> SweepReport:
    return sweep_photos(store, db.session, **options)  # type: ignore[arg-type]


def past_the_grace_period() -> datetime:
    return utcnow() + timedelta(hours=2)  # the default grace period is one hour


def deleted_photo_keeping_its_bytes(entry: Entry, store: PhotoStore) -> str:
    """A tombstoned photo whose bytes are still stored, as after a deletion with the store down."""
    [key] = fill(entry, store, 1)
    photo = db.session.execute(db.select(Photo).where(Photo.storage_key == key)).scalar_one()
    photo.deleted_at = utcnow()
    db.session.commit()
    return key


def refuse_to_delete(store: PhotoStore, monkeypatch: pytest.MonkeyPatch, *keys: str) -> None:
    """The store fails to delete these keys (all keys if none are named)."""
    real_delete_prefix = store.delete_prefix

    def delete_prefix(base_key: str) -> None:
        if not keys or base_key in keys:
            raise StorageError("the store is down")
        real_delete_prefix(base_key)

    monkeypatch.setattr(store, "delete_prefix", delete_prefix)


def test_sweep_removes_bytes_no_photo_row_names_once_past_the_grace_period(
    store: PhotoStore,
) -> None:
    orphan = put_bytes(store)
    report = sweep(store, now=past_the_grace_period())
    assert orphan not in stored_keys(store)
    assert report.orphans_removed == 1


def test_sweep_leaves_a_fresh_upload_without_a_row_alone(store: PhotoStore) -> None:
    # An upload between writing its bytes and committing its row looks exactly like this.
    in_flight = put_bytes(store)
    report = sweep(store)
    assert in_flight in stored_keys(store)
    assert (report.orphans_recent, report.orphans_removed) == (1, 0)


def test_sweep_measures_the_grace_period_from_the_last_write(store: PhotoStore) -> None:
    put_bytes(store)
    [written] = store.list_prefixes()
    grace = timedelta(minutes=10)
    inside = sweep(store, grace=grace, now=written.modified_at + grace - timedelta(seconds=1))
    beyond = sweep(store, grace=grace, now=written.modified_at + grace + timedelta(seconds=1))
    assert (inside.orphans_removed, beyond.orphans_removed) == (0, 1)


def test_sweep_never_removes_a_live_photos_bytes(store: PhotoStore, entry: Entry) -> None:
    live = fill(entry, store, 2)
    report = sweep(store, now=utcnow() + timedelta(days=3650))
    assert stored_keys(store) == set(live)
    assert (report.scanned, report.orphans_removed, report.deleted_removed) == (2, 0, 0)


def test_sweep_removes_what_a_photo_deleted_while_the_store_was_down_left_behind(
    store: PhotoStore, entry: Entry, monkeypatch: pytest.MonkeyPatch
) -> None:
    [key] = fill(entry, store, 1)
    refuse_to_delete(store, monkeypatch)
    records.delete_photo(entry.photos[0], store)
    monkeypatch.undo()
    assert key in stored_keys(store)  # the tombstone committed, the bytes stayed

    report = sweep(store)  # a tombstone is final: no grace period to wait for

    assert key not in stored_keys(store)
    assert report.deleted_removed == 1


def test_sweep_removes_the_bytes_of_an_upload_whose_commit_failed(
    store: PhotoStore, entry: Entry, user: User, sample_photo: bytes, monkeypatch
) -> None:
    def lost_connection() -> None:
        raise OperationalError("COMMIT", {}, Exception("server closed the connection"))

    monkeypatch.setattr(db.session, "commit", lost_connection)
    with pytest.raises(OperationalError):
        records.add_photo(user, entry, str(uuid.uuid4()), "front", sample_photo, store)
    monkeypatch.undo()
    db.session.rollback()
    assert len(stored_keys(store)) == 1  # bytes with no row

    report = sweep(store, now=past_the_grace_period())

    assert stored_keys(store) == set()
    assert report.orphans_removed == 1


def test_sweep_dry_run_counts_but_removes_nothing(store: PhotoStore, entry: Entry) -> None:
    kept = {put_bytes(store), deleted_photo_keeping_its_bytes(entry, store)}
    report = sweep(store, now=past_the_grace_period(), dry_run=True)
    assert stored_keys(store) == kept
    assert (report.orphans_removed, report.deleted_removed, report.dry_run) == (1, 1, True)


def test_sweep_goes_on_past_bytes_the_store_will_not_delete(
    store: PhotoStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    stuck = put_bytes(store)
    put_bytes(store)  # listed after or before `stuck`: removed either way
    refuse_to_delete(store, monkeypatch, stuck)
    report = sweep(store, now=past_the_grace_period())
    assert stored_keys(store) == {stuck}
    assert (report.failed, report.orphans_removed) == (1, 1)


def test_sweep_tells_each_key_apart_across_batches(store: PhotoStore, entry: Entry) -> None:
    live = fill(entry, store, 3)
    deleted_photo_keeping_its_bytes(entry, store)
    for _ in range(3):
        put_bytes(store)
    report = sweep(store, now=past_the_grace_period(), batch_size=2)
    assert stored_keys(store) == set(live)
    assert (report.scanned, report.orphans_removed, report.deleted_removed) == (7, 3, 1)


def test_sweep_refuses_a_negative_grace_period(store: PhotoStore) -> None:
    with pytest.raises(ValueError, match="grace"):
        sweep(store, grace=timedelta(minutes=-1))


# --- flask photos sweep -------------------------------------------------------------------------


def run_sweep(app: Flask, *options: str):
    return app.test_cli_runner().invoke(args=["photos", "sweep", *options])


def test_cli_sweep_prints_counts_and_never_a_key(app: Flask, store: PhotoStore) -> None:
    orphan = put_bytes(store)
    result = run_sweep(app, "--grace-minutes", "0")
    assert result.exit_code == 0, result.output
    assert "Removed 1 with no photo row, older than 0 min." in result.output
    assert orphan not in result.output
    assert orphan not in stored_keys(store)


def test_cli_sweep_leaves_a_fresh_upload_alone_by_default(app: Flask, store: PhotoStore) -> None:
    in_flight = put_bytes(store)
    result = run_sweep(app)
    assert result.exit_code == 0, result.output
    assert "Left 1 with no photo row yet, younger than 60 min" in result.output
    assert in_flight in stored_keys(store)


def test_cli_sweep_dry_run_removes_nothing(app: Flask, store: PhotoStore) -> None:
    orphan = put_bytes(store)
    result = run_sweep(app, "--grace-minutes", "0", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "Would remove 1 with no photo row" in result.output
    assert orphan in stored_keys(store)


def test_cli_sweep_exits_non_zero_when_a_removal_fails(
    app: Flask, store: PhotoStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    put_bytes(store)
    refuse_to_delete(store, monkeypatch)
    result = run_sweep(app, "--grace-minutes", "0")
    assert result.exit_code == 1
    assert "Failed to remove 1" in result.output


def test_cli_sweep_says_so_when_the_store_cannot_be_listed(
    app: Flask, store: PhotoStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unreachable() -> Iterator[object]:
        raise StorageError("S3 unavailable")

    monkeypatch.setattr(store, "list_prefixes", unreachable)
    result = run_sweep(app)
    assert result.exit_code == 1
    assert "the photo store could not be listed: S3 unavailable" in result.output
