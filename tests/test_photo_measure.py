"""`flask photos measure`: photos stored before the app graded, mapped and aligned them at upload
get their quality, marks and alignment once, from their stored renditions."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from datetime import date

import pytest
from flask import Flask
from PIL import Image

from tests.synthetic_faces import make_face
from webapp import records
from webapp.extensions import db
from webapp.models import Photo, User
from webapp.storage import PhotoStore
from webapp.validation import EntryData


@pytest.fixture
def store(app: Flask) -> Iterator[PhotoStore]:
    with app.app_context():
        yield app.extensions["photo_store"]


def face_jpeg(seed: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(make_face(seed, width=768, height=1024).rgb).save(buffer, "JPEG", quality=92)
    return buffer.getvalue()


def stored_before_measuring(user: User, store: PhotoStore, day: int) -> Photo:
    """A photo as the app stored it before it measured quality, marks and alignment."""
    data = EntryData(date=date(2026, 3, day), ratings={}, pie_severity=None, pih_severity=None)
    entry = records.save_entry(user, str(uuid.uuid4()), data).row
    photo, _ = records.add_photo(user, entry, str(uuid.uuid4()), "chin", face_jpeg(day), store)
    photo.quality = photo.marks = photo.alignment = None
    db.session.commit()
    return photo


def run_measure(app: Flask):
    return app.test_cli_runner().invoke(args=["photos", "measure"])


def test_measure_grades_maps_and_aligns_old_photos(app: Flask, store, user) -> None:
    first, second = (stored_before_measuring(user, store, day) for day in (1, 2))
    result = run_measure(app)
    assert result.exit_code == 0, result.output
    assert "Measured 2 photo(s)." in result.output
    for photo in (first, second):
        db.session.refresh(photo)
        assert photo.quality["verdict"] in {"good", "fair", "poor"}
        assert photo.marks["red_count"] >= 1
    assert first.alignment["reference"] is None
    assert second.alignment["reference"] == first.uuid


def test_measure_run_again_changes_nothing(app: Flask, store, user) -> None:
    stored_before_measuring(user, store, 1)
    run_measure(app)
    result = run_measure(app)
    assert "Measured 0 photo(s)." in result.output
    assert "Aligned 0 photo(s)." in result.output


def test_measure_gives_each_measured_photo_a_new_change_number(app: Flask, store, user) -> None:
    photo = stored_before_measuring(user, store, 1)
    before = photo.change_seq
    run_measure(app)
    db.session.refresh(photo)
    assert photo.change_seq > before


def test_measure_leaves_deleted_photos_without_measures(app: Flask, store, user) -> None:
    photo = stored_before_measuring(user, store, 1)
    records.delete_photo(photo, store)
    run_measure(app)
    db.session.refresh(photo)
    assert (photo.quality, photo.marks, photo.alignment) == (None, None, None)
