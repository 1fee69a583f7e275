"""The log form names each area's last photo for the camera's ghost (data-ghosts), online and in
its offline copy: the latest live photo of the patient's own, as its display rendition."""

from __future__ import annotations

import json
import re
import uuid
from datetime import date, timedelta

from tests.photo_factory import make_photo
from webapp import records
from webapp.extensions import db
from webapp.models import Photo, User
from webapp.validation import parse_entry

TODAY = date.today()


def photographed(app, email: str, days_ago: int, areas: list[str]) -> list[str]:
    """An entry `days_ago` with one photo per area, saved as the app saves them; their uuids."""
    with app.app_context():
        user = db.session.execute(db.select(User).where(User.email == email)).scalar_one()
        day = (TODAY - timedelta(days=days_ago)).isoformat()
        payload = {"date": day, "ratings": {}, "red_flags": [], "aftercare": [], "notes": ""}
        entry = records.save_entry(user, str(uuid.uuid4()), parse_entry(payload, latest_date=TODAY))
        store = app.extensions["photo_store"]
        uuids = []
        for area in areas:
            photo, _ = records.add_photo(
                user, entry.row, str(uuid.uuid4()), area, make_photo(320, 240), store
            )
            uuids.append(photo.uuid)
        return uuids


def ghosts(client, path: str = "/log") -> dict[str, str]:
    page = client.get(path).get_data(as_text=True)
    return json.loads(re.search(r"data-ghosts='([^']*)'", page).group(1))


def display(photo_uuid: str) -> str:
    return f"/photos/{photo_uuid}/display.jpg"


def test_a_patient_without_photos_has_no_ghosts(logged_in):
    assert ghosts(logged_in) == {}


def test_each_area_shows_its_latest_photo(app, logged_in, user):
    (old_cheek,) = photographed(app, user.email, 3, ["left_cheek"])
    cheek, forehead = photographed(app, user.email, 1, ["left_cheek", "forehead"])
    assert old_cheek != cheek
    assert ghosts(logged_in) == {"left_cheek": display(cheek), "forehead": display(forehead)}


def test_the_latest_is_by_day_not_by_when_it_was_uploaded(app, logged_in, user):
    (recent,) = photographed(app, user.email, 1, ["chin"])
    photographed(app, user.email, 5, ["chin"])  # backfilled afterwards
    assert ghosts(logged_in) == {"chin": display(recent)}


def test_a_removed_photo_is_no_ghost(app, logged_in, user):
    (older,) = photographed(app, user.email, 2, ["right_cheek"])
    (removed,) = photographed(app, user.email, 1, ["right_cheek"])
    with app.app_context():
        photo = db.session.execute(db.select(Photo).where(Photo.uuid == removed)).scalar_one()
        records.delete_photo(photo, app.extensions["photo_store"])
    assert ghosts(logged_in) == {"right_cheek": display(older)}


def test_another_patients_photos_are_never_ghosts(app, logged_in, make_user):
    make_user("someone@example.com")
    photographed(app, "someone@example.com", 1, ["left_cheek"])
    assert ghosts(logged_in) == {}


def test_the_offline_copy_of_the_form_names_the_same_ghosts(app, logged_in, user):
    (cheek,) = photographed(app, user.email, 1, ["left_cheek"])
    assert ghosts(logged_in, "/log?shell=1") == {"left_cheek": display(cheek)}
