"""The measured region of a photo: the patient picks where its colour is measured (writes, apart
from the timeline's read path)."""

from __future__ import annotations

from .. import imaging, records
from ..extensions import db
from ..models import Photo, User
from ..storage import PhotoStore


def live_photo(user: User, photo_uuid: str) -> Photo | None:
    """`user`'s photo, unless it or its entry is deleted."""
    photo = records.owned(Photo, user, photo_uuid)
    if photo is None or photo.entry.deleted_at is not None:
        return None
    return photo


def remeasure_photo(photo: Photo, region: imaging.Region | None, store: PhotoStore) -> Photo:
    """Measure the colour of `region` (None: the default central region) on the stored full
    rendition, and keep region and metrics with the photo. Raises ValueError for a bad region."""
    box = None if region is None else imaging.validate_region(region)
    colour = imaging.colour_metrics(store.read(photo.rendition_key("full")), box)
    photo.region = None if box is None else [round(value, 4) for value in box]
    photo.lab_l, photo.lab_a, photo.lab_b = colour.l_star, colour.a_star, colour.b_star
    photo.ita_deg = colour.ita_deg
    db.session.commit()
    return photo
