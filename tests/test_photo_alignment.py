"""records.alignment: each area's reference photo, a new photo aligned to it, and an area aligned
again after its reference is deleted (or for photos stored before alignment)."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from datetime import date, timedelta

import numpy as np
import pytest
from flask import Flask
from PIL import Image

from tests.test_alignment import moved_scene, pixel_error
from webapp import imaging, records
from webapp.extensions import db
from webapp.models import Photo, User
from webapp.records.alignment import (
    REFERENCE_ALIGNMENT,
    align_new_photo,
    backfill,
    ensure_reference,
    realign_area,
)
from webapp.storage import PhotoStore
from webapp.validation import EntryData

AREA = "left_cheek"
DAY = date(2026, 3, 1)
GOOD, FAIR, POOR = {"verdict": "good"}, {"verdict": "fair"}, {"verdict": "poor"}

# One scene: the reference framing, and the same skin after the phone moved (its truth).
MOVES = {"still": ((0.0, 0.0), 0.0, 1.0), "moved": ((20.0, -15.0), 6.0, 1.05)}


@pytest.fixture(scope="module")
def scene() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """name -> (RGB of the photo, the true matrix photo -> the still photo, in fractions)."""
    still, moved, truth = moved_scene(20, *MOVES["moved"])
    return {"still": (still, np.eye(3)), "moved": (moved, truth)}


@pytest.fixture
def store(app: Flask) -> Iterator[PhotoStore]:
    with app.app_context():
        yield app.extensions["photo_store"]


@pytest.fixture
def patient(store: PhotoStore, user: User) -> User:
    return db.session.merge(user)


def jpeg(rgb: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "JPEG", quality=92)
    return buffer.getvalue()


def photograph(
    user: User,
    store: PhotoStore,
    rgb: np.ndarray,
    day: date,
    quality: dict | None = GOOD,
    *,
    aligned: bool = True,
    area: str = AREA,
) -> Photo:
    """A photo of `area` on `day`, stored as the app stores it, graded `quality`, and aligned on
    adding it (as add_photo does) unless `aligned` is False (a photo from before alignment)."""
    entry = records.entry_on(user, day)
    if entry is None:
        data = EntryData(date=day, ratings={}, pie_severity=None, pih_severity=None)
        entry = records.save_entry(user, str(uuid.uuid4()), data).row
    data = jpeg(rgb)
    photo, _ = records.add_photo(user, entry, str(uuid.uuid4()), area, data, store)
    photo.quality = quality
    grey = imaging.analysis_grey(imaging.analysis_copy(data))
    photo.alignment = align_new_photo(photo, grey, store) if aligned else None
    db.session.commit()
    return photo


def new_alignment(user: User, store: PhotoStore, rgb: np.ndarray, day: date, quality=GOOD):
    """What align_new_photo gives a photo being added (its row made, not yet committed)."""
    photo = photograph(user, store, rgb, day, quality, aligned=False)
    data = store.read(photo.rendition_key("display"))
    return align_new_photo(photo, imaging.analysis_grey(imaging.analysis_copy(data)), store)


# A new photo
# --------------------------------------------------------------------------------------------


def test_the_first_good_photo_of_an_area_is_its_reference(patient, store, scene) -> None:
    photo = photograph(patient, store, scene["still"][0], DAY)
    assert photo.alignment == REFERENCE_ALIGNMENT


def test_a_fair_first_photo_is_a_reference_too(patient, store, scene) -> None:
    assert photograph(patient, store, scene["still"][0], DAY, FAIR).alignment == REFERENCE_ALIGNMENT


def test_a_poor_first_photo_is_not_a_reference(patient, store, scene) -> None:
    assert photograph(patient, store, scene["still"][0], DAY, POOR).alignment is None


def test_a_later_photo_is_aligned_onto_the_reference(patient, store, scene) -> None:
    reference = photograph(patient, store, scene["still"][0], DAY)
    moved, truth = scene["moved"]
    fit = photograph(patient, store, moved, DAY + timedelta(days=7)).alignment
    assert fit["reference"] == reference.uuid
    assert fit["aligned"] is True
    assert fit["score"] >= imaging.ALIGNED_MIN_SCORE
    assert pixel_error(fit["matrix"], truth) < 1.5  # through the display rendition's JPEG


def test_a_poor_photo_is_still_aligned_onto_the_reference(patient, store, scene) -> None:
    reference = photograph(patient, store, scene["still"][0], DAY)
    fit = photograph(patient, store, scene["moved"][0], DAY + timedelta(days=1), POOR).alignment
    assert fit["reference"] == reference.uuid
    assert fit["aligned"] is True


def test_an_unrelated_picture_is_stored_unaligned(patient, store, scene) -> None:
    reference = photograph(patient, store, scene["still"][0], DAY)
    noise = np.random.default_rng(3).integers(0, 256, scene["still"][0].shape, dtype=np.uint8)
    fit = photograph(patient, store, noise, DAY + timedelta(days=1)).alignment
    assert fit["reference"] == reference.uuid
    assert fit["aligned"] is False


def test_an_earlier_photo_uploaded_later_keeps_the_reference(patient, store, scene) -> None:
    # A phone that was offline sends last week's photo after today's became the reference.
    reference = photograph(patient, store, scene["still"][0], DAY)
    fit = photograph(patient, store, scene["moved"][0], DAY - timedelta(days=7)).alignment
    assert fit["reference"] == reference.uuid


def test_other_areas_and_other_patients_have_their_own_references(
    patient, store, scene, make_user
) -> None:
    other = db.session.merge(make_user())
    photograph(other, store, scene["still"][0], DAY)
    photograph(patient, store, scene["still"][0], DAY, area="forehead")
    assert photograph(patient, store, scene["moved"][0], DAY).alignment == REFERENCE_ALIGNMENT


def test_without_a_reference_the_earliest_good_photo_is_picked(patient, store, scene) -> None:
    # Photos stored before alignment: none is the reference yet.
    photograph(patient, store, scene["still"][0], DAY, FAIR, aligned=False)
    good = photograph(patient, store, scene["still"][0], DAY + timedelta(1), GOOD, aligned=False)
    photograph(patient, store, scene["still"][0], DAY + timedelta(2), GOOD, aligned=False)
    fit = new_alignment(patient, store, scene["moved"][0], DAY + timedelta(days=3))
    assert fit["reference"] == good.uuid


def test_without_a_good_photo_the_earliest_fair_one_is_picked(patient, store, scene) -> None:
    photograph(patient, store, scene["still"][0], DAY, POOR, aligned=False)
    fair = photograph(patient, store, scene["still"][0], DAY + timedelta(1), FAIR, aligned=False)
    photograph(patient, store, scene["still"][0], DAY + timedelta(2), FAIR, aligned=False)
    fit = new_alignment(patient, store, scene["moved"][0], DAY + timedelta(days=3), POOR)
    assert fit["reference"] == fair.uuid


def test_a_photo_graded_before_quality_was_counts_as_fair(patient, store, scene) -> None:
    photograph(patient, store, scene["still"][0], DAY, POOR, aligned=False)
    old = photograph(patient, store, scene["still"][0], DAY + timedelta(1), None, aligned=False)
    fit = new_alignment(patient, store, scene["moved"][0], DAY + timedelta(days=2), POOR)
    assert fit["reference"] == old.uuid


def test_a_new_photo_better_than_the_old_ones_becomes_the_reference(patient, store, scene) -> None:
    photograph(patient, store, scene["still"][0], DAY, FAIR, aligned=False)
    fit = new_alignment(patient, store, scene["moved"][0], DAY + timedelta(days=1), GOOD)
    assert fit == REFERENCE_ALIGNMENT


def test_unreadable_reference_pixels_leave_the_new_photo_unaligned(patient, store, scene) -> None:
    reference = photograph(patient, store, scene["still"][0], DAY)
    store.delete_prefix(reference.storage_key)
    assert new_alignment(patient, store, scene["moved"][0], DAY + timedelta(days=1)) is None


# An area aligned again
# --------------------------------------------------------------------------------------------


def test_realign_area_picks_the_reference_and_aligns_the_others(patient, store, scene) -> None:
    moved, truth = scene["moved"]
    first = photograph(patient, store, moved, DAY, POOR, aligned=False)
    reference = photograph(patient, store, scene["still"][0], DAY + timedelta(1), aligned=False)
    later = photograph(patient, store, moved, DAY + timedelta(2), aligned=False)
    assert realign_area(patient, AREA, store) == 3
    assert reference.alignment == REFERENCE_ALIGNMENT
    for photo in (first, later):
        assert photo.alignment["reference"] == reference.uuid
        assert photo.alignment["aligned"] is True
        assert pixel_error(photo.alignment["matrix"], truth) < 1.5


def test_realigning_an_aligned_area_changes_nothing(patient, store, scene) -> None:
    photograph(patient, store, scene["still"][0], DAY)
    photograph(patient, store, scene["moved"][0], DAY + timedelta(days=1))
    assert realign_area(patient, AREA, store) == 0


def test_realigned_photos_take_change_numbers(patient, store, scene) -> None:
    photo = photograph(patient, store, scene["still"][0], DAY, aligned=False)
    before = photo.change_seq
    realign_area(patient, AREA, store)
    assert photo.change_seq > before
    changes = records.changes_since(patient, before, 100)
    assert photo.uuid in {row.uuid for row in changes.photos}


def test_an_area_of_poor_photos_has_no_reference(patient, store, scene) -> None:
    photo = photograph(patient, store, scene["still"][0], DAY, POOR, aligned=False)
    photo.alignment = REFERENCE_ALIGNMENT  # a stale record: poor photos are never the reference
    db.session.commit()
    assert realign_area(patient, AREA, store) == 1
    assert photo.alignment is None


def test_a_reference_without_pixels_is_passed_over(patient, store, scene) -> None:
    lost = photograph(patient, store, scene["still"][0], DAY, aligned=False)
    kept = photograph(patient, store, scene["still"][0], DAY + timedelta(days=1), aligned=False)
    store.delete_prefix(lost.storage_key)
    realign_area(patient, AREA, store)
    assert kept.alignment == REFERENCE_ALIGNMENT
    assert lost.alignment is None


def test_deleting_the_reference_realigns_the_area_onto_the_next(patient, store, scene) -> None:
    reference = photograph(patient, store, scene["still"][0], DAY)
    moved, truth = scene["moved"]
    successor = photograph(patient, store, moved, DAY + timedelta(days=1))
    latest = photograph(patient, store, scene["still"][0], DAY + timedelta(days=2))
    records.delete_photo(reference, store)  # realigns the area onto the next fit photo
    db.session.refresh(successor)
    db.session.refresh(latest)
    assert successor.alignment == REFERENCE_ALIGNMENT
    assert latest.alignment["reference"] == successor.uuid
    # The still photo onto the moved one: the inverse of the moved one's truth.
    assert pixel_error(latest.alignment["matrix"], np.linalg.inv(truth)) < 1.5


def test_deleting_the_reference_entry_realigns_the_area_onto_the_next(patient, store, scene):
    reference = photograph(patient, store, scene["still"][0], DAY)
    successor = photograph(patient, store, scene["moved"][0], DAY + timedelta(days=1))
    records.delete_row(reference.entry, store)
    db.session.refresh(successor)
    assert successor.alignment == REFERENCE_ALIGNMENT


def test_deleting_another_photo_keeps_the_reference(patient, store, scene) -> None:
    photograph(patient, store, scene["still"][0], DAY)
    other = photograph(patient, store, scene["moved"][0], DAY + timedelta(days=1))
    records.delete_photo(other, store)
    assert ensure_reference(patient, AREA, store) == 0


def test_backfill_aligns_the_areas_stored_before_alignment(patient, store, scene) -> None:
    reference = photograph(patient, store, scene["still"][0], DAY, aligned=False)
    later = photograph(patient, store, scene["moved"][0], DAY + timedelta(days=1), aligned=False)
    forehead = photograph(patient, store, scene["still"][0], DAY, area="forehead")
    before = forehead.change_seq
    assert backfill(store) == 2
    assert reference.alignment == REFERENCE_ALIGNMENT
    assert later.alignment["reference"] == reference.uuid
    assert forehead.change_seq == before  # aligned already: left alone
    assert backfill(store) == 0


def test_two_references_made_at_once_are_resolved_into_one(patient, store, scene) -> None:
    # Two first photos of an area added at once: each found no reference and became one.
    first = photograph(patient, store, scene["moved"][0], DAY)
    second = photograph(patient, store, scene["still"][0], DAY + timedelta(days=1), aligned=False)
    second.alignment = REFERENCE_ALIGNMENT
    db.session.commit()
    assert ensure_reference(patient, AREA, store) == 1
    assert first.alignment == REFERENCE_ALIGNMENT
    assert second.alignment["reference"] == first.uuid
