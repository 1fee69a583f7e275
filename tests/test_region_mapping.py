"""Photos of one area aligned to its reference: the compare view draws them in the same framing,
and a region drawn on one is carried onto the others and measured there (issue 14, item 3)."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta
from uuid import uuid4

import numpy as np
import pytest
from PIL import Image

from tests.synthetic_faces import make_face, similarity
from webapp.extensions import db
from webapp.imaging import alignment
from webapp.models import Photo
from webapp.photo_choice import PhotoItem
from webapp.timeline import compare, region

TODAY = date.today()
SIZE = (480, 640)  # width, height of the generated photos
# The second photo: the first moved 30 px right, 20 px up, turned 6 degrees and scaled by 1.08.
MOVE = {"shift": (30.0, -20.0), "degrees": 6.0, "scale": 1.08}
REGION = (0.34, 0.49, 0.59, 0.625)  # left, top, right, bottom: a cheek of the reference


def fractions(pixels: np.ndarray, size: tuple[int, int]) -> compare.Matrix:
    """A 2x3 matrix in pixels of a `size` photo as the same map in fractions of its sides."""
    width, height = size
    (a, b, tx), (c, d, ty) = pixels
    return (a, b * height / width, tx / width, c * width / height, d, ty / height)


def pixel_inverse(pixels: np.ndarray) -> np.ndarray:
    return np.linalg.inv(np.vstack([pixels, [0.0, 0.0, 1.0]]))[:2]


FACE = make_face(7, width=SIZE[0], height=SIZE[1]).rgb
MOVED, MOVE_PIXELS = similarity(FACE, **MOVE)  # reference pixel -> moved pixel
# What alignment stores for the moved photo: its points onto the reference's, in fractions.
MOVED_TO_REFERENCE = fractions(pixel_inverse(MOVE_PIXELS), SIZE)


def jpeg(rgb: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(rgb).save(out, "JPEG", quality=92)
    return out.getvalue()


def upload(client, app, user_id: int, rgb: np.ndarray, day: date) -> str:
    form = {
        "date": day.isoformat(),
        "redness": "3",
        "photo_1": (io.BytesIO(jpeg(rgb)), "cheek.jpg"),
        "photo_1_area": "left_cheek",
    }
    assert client.post("/log", data=form, content_type="multipart/form-data").status_code == 302
    with app.app_context():
        query = db.select(Photo.uuid).where(Photo.user_id == user_id).order_by(Photo.id.desc())
        return db.session.execute(query).scalars().first()


def set_alignment(app, uuid: str, alignment: dict | None) -> None:
    with app.app_context():
        photo = db.session.execute(db.select(Photo).where(Photo.uuid == uuid)).scalar_one()
        photo.alignment = alignment
        db.session.commit()


def stored(app, uuid: str) -> Photo:
    with app.app_context():
        photo = db.session.execute(db.select(Photo).where(Photo.uuid == uuid)).scalar_one()
        db.session.expunge(photo)
        return photo


def aligned_to(reference: str, matrix: compare.Matrix, aligned: bool = True) -> dict:
    return {"reference": reference, "matrix": list(matrix), "score": 0.9, "aligned": aligned}


REFERENCE_RECORD = {
    "reference": None,
    "matrix": list(compare.IDENTITY),
    "score": 1.0,
    "aligned": True,
}


@pytest.fixture
def area(logged_in, app, user) -> dict[str, str]:
    """Three left-cheek photos: the reference, a moved copy aligned to it, and one that could not
    be aligned (the same moved copy, so only its record tells it apart)."""
    photos = {
        "reference": upload(logged_in, app, user.id, FACE, TODAY - timedelta(days=2)),
        "moved": upload(logged_in, app, user.id, MOVED, TODAY - timedelta(days=1)),
        "unaligned": upload(logged_in, app, user.id, MOVED, TODAY),
    }
    set_alignment(app, photos["reference"], REFERENCE_RECORD)
    set_alignment(app, photos["moved"], aligned_to(photos["reference"], MOVED_TO_REFERENCE))
    set_alignment(
        app, photos["unaligned"], aligned_to(photos["reference"], MOVED_TO_REFERENCE, False)
    )
    return photos


def post_region(client, uuid: str, region=REGION, follow: bool = False):
    edges = dict(zip(("left", "top", "right", "bottom"), region, strict=True))
    form = {name: f"{value * 100:.1f}" for name, value in edges.items()}
    return client.post(f"/photos/{uuid}/region", data=form, follow_redirects=follow)


def expected_box(region, pixels: np.ndarray) -> tuple[float, ...]:
    """The box holding `region` (fractions) carried by `pixels` (a pixel matrix), in fractions."""
    width, height = SIZE
    left, top, right, bottom = region
    corners = np.array([[x * width, y * height, 1.0] for x in (left, right) for y in (top, bottom)])
    moved = corners @ pixels.T
    xs, ys = moved[:, 0] / width, moved[:, 1] / height
    return xs.min(), ys.min(), xs.max(), ys.max()


# --- The region is carried onto the area's other aligned photos ---------------------------------


def test_a_region_drawn_on_the_reference_is_measured_on_the_aligned_photo(logged_in, app, area):
    assert post_region(logged_in, area["reference"]).status_code == 302
    moved = stored(app, area["moved"])
    assert moved.region == pytest.approx(expected_box(REGION, MOVE_PIXELS), abs=1e-3)


def test_a_region_drawn_on_an_aligned_photo_maps_back_onto_the_reference(logged_in, app, area):
    assert post_region(logged_in, area["moved"]).status_code == 302
    reference = stored(app, area["reference"])
    back = pixel_inverse(MOVE_PIXELS)
    assert reference.region == pytest.approx(expected_box(REGION, back), abs=1e-3)


def test_the_aligned_photos_marks_are_measured_in_the_mapped_region(logged_in, app, area):
    """The region is all cheek: the skin fills it, where it is a third of the whole frame that
    ingest measured; its mean colour reads like the reference's in its own region."""
    assert stored(app, area["moved"]).marks["skin_fraction"] < 0.5  # the whole frame, at ingest
    post_region(logged_in, area["reference"])
    reference, moved = stored(app, area["reference"]), stored(app, area["moved"])
    assert moved.marks["skin_fraction"] > 0.9
    assert moved.lab_a == pytest.approx(reference.lab_a, abs=1.0)


def test_the_photos_measured_again_take_change_numbers(logged_in, app, area):
    """Their JSON carries their measures: other devices learn of them from /changes."""
    before = {name: stored(app, uuid).change_seq for name, uuid in area.items()}
    post_region(logged_in, area["reference"])
    after = {name: stored(app, uuid).change_seq for name, uuid in area.items()}
    assert after["reference"] > before["reference"] and after["moved"] > before["moved"]
    assert after["unaligned"] == before["unaligned"]


def test_the_page_says_how_many_other_photos_the_region_was_applied_to(logged_in, area):
    page = post_region(logged_in, area["reference"], follow=True).get_data(as_text=True)
    assert "Measured again" in page
    assert "Applied to 1 other photo of this area." in page


def test_an_unaligned_photo_keeps_its_own_region_and_marks(logged_in, app, area):
    before = stored(app, area["unaligned"])
    post_region(logged_in, area["reference"])
    after = stored(app, area["unaligned"])
    assert (after.region, after.marks, after.lab_a) == (before.region, before.marks, before.lab_a)


def test_a_region_drawn_on_an_unaligned_photo_stays_on_it(logged_in, app, area):
    before = stored(app, area["reference"])
    page = post_region(logged_in, area["unaligned"], follow=True).get_data(as_text=True)
    assert "Applied to" not in page
    assert stored(app, area["unaligned"]).region == pytest.approx(REGION)
    assert stored(app, area["reference"]).region == before.region


def test_the_default_region_is_restored_on_the_aligned_photos_too(logged_in, app, area):
    post_region(logged_in, area["reference"])
    logged_in.post(f"/photos/{area['reference']}/region", data={"reset": "1"})
    assert stored(app, area["moved"]).region is None
    assert stored(app, area["unaligned"]).region is None  # never given one


def test_a_photo_of_another_area_is_not_changed(logged_in, app, user, area):
    other = upload(logged_in, app, user.id, MOVED, TODAY - timedelta(days=3))
    with app.app_context():
        photo = db.session.execute(db.select(Photo).where(Photo.uuid == other)).scalar_one()
        photo.area = "forehead"
        photo.alignment = aligned_to(area["reference"], MOVED_TO_REFERENCE)
        db.session.commit()
    page = post_region(logged_in, area["reference"], follow=True).get_data(as_text=True)
    assert "Applied to 1 other photo" in page
    assert stored(app, other).region is None


def test_another_users_photo_is_404_and_never_changed(logged_in, other_client, app, area):
    theirs = upload_as_other(other_client, app)
    set_alignment(app, theirs, aligned_to(area["reference"], MOVED_TO_REFERENCE))
    assert logged_in.get(f"/photos/{theirs}/region").status_code == 404
    assert post_region(logged_in, theirs).status_code == 404
    post_region(logged_in, area["reference"])
    assert stored(app, theirs).region is None


def upload_as_other(client, app) -> str:
    form = {
        "date": TODAY.isoformat(),
        "redness": "3",
        "photo_1": (io.BytesIO(jpeg(MOVED)), "cheek.jpg"),
        "photo_1_area": "left_cheek",
    }
    assert client.post("/log", data=form, content_type="multipart/form-data").status_code == 302
    with app.app_context():
        return db.session.execute(db.select(Photo.uuid).order_by(Photo.id.desc())).scalars().first()


def test_an_aligned_photo_whose_image_is_gone_is_left_as_it_was(logged_in, app, area):
    with app.app_context():
        app.extensions["photo_store"].delete(stored(app, area["moved"]).rendition_key("full"))
    page = post_region(logged_in, area["reference"], follow=True).get_data(as_text=True)
    assert "Measured again" in page and "Applied to" not in page
    assert stored(app, area["moved"]).region is None


def test_a_region_falling_outside_the_other_photo_leaves_it_unchanged(logged_in, app, area):
    far = aligned_to(area["reference"], (1.0, 0.0, 0.9, 0.0, 1.0, 0.0))  # shifted by 90%
    set_alignment(app, area["moved"], far)
    page = post_region(logged_in, area["reference"], region=(0.0, 0.0, 0.05, 1.0), follow=True)
    assert "Applied to" not in page.get_data(as_text=True)
    assert stored(app, area["moved"]).region is None


def carry(app, uuid: str) -> bool:
    with app.app_context():
        photo = db.session.execute(db.select(Photo).where(Photo.uuid == uuid)).scalar_one()
        return region.carry_region_to(photo, app.extensions["photo_store"])


def test_a_new_aligned_photo_is_measured_in_the_areas_chosen_region(logged_in, app, user, area):
    post_region(logged_in, area["reference"])
    new = upload(logged_in, app, user.id, MOVED, TODAY - timedelta(days=3))
    set_alignment(app, new, aligned_to(area["reference"], MOVED_TO_REFERENCE))
    assert carry(app, new) is True
    carried = stored(app, new)
    assert carried.region == pytest.approx(expected_box(REGION, MOVE_PIXELS), abs=1e-3)
    assert carried.marks["skin_fraction"] > 0.9


def test_a_new_photo_keeps_its_ingest_measures_when_no_region_was_chosen(
    logged_in, app, user, area
):
    new = upload(logged_in, app, user.id, MOVED, TODAY - timedelta(days=3))
    set_alignment(app, new, aligned_to(area["reference"], MOVED_TO_REFERENCE))
    before = stored(app, new)
    assert carry(app, new) is False
    assert (stored(app, new).marks, stored(app, new).region) == (before.marks, None)


# --- The compare view ---------------------------------------------------------------------------


def test_compare_draws_the_second_photo_in_the_first_ones_framing(logged_in, area):
    page = logged_in.get(
        f"/compare?area=left_cheek&a={area['reference']}&b={area['moved']}"
    ).get_data(as_text=True)
    assert "Aligned to the same framing." in page
    assert page.count("data-align-transform=") == 2  # side by side and in the slider
    assert "could not be aligned" not in page


def test_compare_says_when_photos_could_not_be_aligned(logged_in, area):
    page = logged_in.get(
        f"/compare?area=left_cheek&a={area['reference']}&b={area['unaligned']}"
    ).get_data(as_text=True)
    assert "These photos could not be aligned; the framing may differ." in page
    assert "data-align-transform" not in page


def test_compare_of_photos_never_aligned_is_as_before(logged_in, app, area):
    for uuid in area.values():
        set_alignment(app, uuid, None)
    page = logged_in.get(
        f"/compare?area=left_cheek&a={area['reference']}&b={area['moved']}"
    ).get_data(as_text=True)
    assert "data-align-transform" not in page and "aligned" not in page.lower()


# --- The maths (compare.py, pure) ---------------------------------------------------------------


def item(uuid: str, fit: dict | None, size: tuple[int, int] = SIZE) -> PhotoItem:
    return PhotoItem(uuid, "left_cheek", TODAY, None, None, *size, "key", image_alignment=fit)


def apply(matrix: compare.Matrix, x: float, y: float) -> tuple[float, float]:
    a, b, tx, c, d, ty = matrix
    return a * x + b * y + tx, c * x + d * y + ty


def test_between_two_aligned_photos_goes_through_their_reference():
    to_reference = (0.9, -0.1, 0.05, 0.1, 0.9, -0.02)
    other = (1.1, 0.05, -0.03, -0.05, 1.1, 0.04)
    matrix = compare.between(("x", aligned_to("r", to_reference)), ("y", aligned_to("r", other)))
    point = apply(to_reference, 0.3, 0.6)  # x's (0.3, 0.6) on the reference
    assert apply(alignment.compose(matrix, other), 0.3, 0.6) == pytest.approx(point)


@pytest.mark.parametrize(
    "fit",
    [
        None,
        {"reference": "r", "matrix": list(compare.IDENTITY), "score": 0.1, "aligned": False},
        {"reference": "other reference", "matrix": list(compare.IDENTITY), "aligned": True},
        {"reference": "r", "matrix": [1, 0, 0, 0, 1], "aligned": True},
        {"reference": "r", "matrix": [1, 0, "x", 0, 1, 0], "aligned": True},
        {"reference": "r", "matrix": [0, 0, 0, 0, 0, 0], "aligned": True},
        {"reference": "r", "matrix": [float("nan"), 0, 0, 0, 1, 0], "aligned": True},
        "not a record",
    ],
)
def test_no_relation_unless_both_are_aligned_to_the_same_reference(fit):
    assert compare.between(("x", fit), ("y", aligned_to("r", compare.IDENTITY))) is None


def test_a_reference_without_a_record_is_known_by_the_others():
    assert compare.between(("x", aligned_to("r", MOVED_TO_REFERENCE)), ("r", None)) == (
        pytest.approx(MOVED_TO_REFERENCE)
    )


def test_css_transform_puts_each_point_where_the_matrix_does():
    """The CSS string, applied as a browser does (translate after matrix, origin top left) to a
    box of the first photo's shape drawn 300 px wide, moves a point as the matrix does."""
    matrix = compare.between(("m", aligned_to("r", MOVED_TO_REFERENCE)), ("r", REFERENCE_RECORD))
    css = compare.css_transform(matrix, SIZE)
    numbers = [float(n) for n in re.findall(r"-?[\d.]+(?:e-?\d+)?", css)]
    (tx, ty), (a, b, c, d, e, f) = numbers[:2], numbers[2:]
    width = 300.0
    height = width * SIZE[1] / SIZE[0]
    for u, v in ((0.2, 0.3), (0.8, 0.9), (0.5, 0.1)):
        x, y = u * width, v * height
        shown = (a * x + c * y + e + tx / 100 * width, b * x + d * y + f + ty / 100 * height)
        expected = apply(matrix, u, v)
        assert shown == pytest.approx((expected[0] * width, expected[1] * height), abs=1e-2)


def test_framing_of_the_compared_pair():
    reference, moved = item("r", REFERENCE_RECORD), item("m", aligned_to("r", MOVED_TO_REFERENCE))
    shown = compare.framing(reference, moved)
    assert shown.note == compare.ALIGNED_NOTE and shown.transform.startswith("translate(")
    failed = item("u", aligned_to("r", MOVED_TO_REFERENCE, aligned=False))
    assert compare.framing(reference, failed) == compare.Framing(note=compare.UNALIGNED_NOTE)
    assert compare.framing(item("a", None), item("b", None)) == compare.Framing()
    assert compare.framing(None, moved) == compare.Framing()


# --- A new photo of the area is measured in the region already chosen ----------------------------


def test_a_photo_logged_after_a_region_was_chosen_is_measured_in_it(logged_in, app, user):
    reference = upload(logged_in, app, user.id, FACE, TODAY - timedelta(days=1))
    post_region(logged_in, reference)
    moved = stored(app, upload(logged_in, app, user.id, MOVED, TODAY))
    assert moved.alignment["aligned"]
    assert moved.region == pytest.approx(expected_box(REGION, MOVE_PIXELS), abs=0.02)


def test_a_photo_synced_after_a_region_was_chosen_is_measured_in_it(logged_in, app, user):
    reference = upload(logged_in, app, user.id, FACE, TODAY - timedelta(days=1))
    post_region(logged_in, reference)
    entry = str(uuid4())
    body = {"date": TODAY.isoformat(), "client_updated_at": f"{TODAY.isoformat()}T00:00:00Z"}
    assert logged_in.put(f"/api/v1/entries/{entry}", json=body).status_code == 201
    form = {"file": (io.BytesIO(jpeg(MOVED)), "cheek.jpg"), "area": "left_cheek"}
    answer = logged_in.put(
        f"/api/v1/entries/{entry}/photos/{uuid4()}", data=form, content_type="multipart/form-data"
    )
    assert answer.status_code == 201
    moved = stored(app, answer.get_json()["id"])
    assert moved.region == pytest.approx(expected_box(REGION, MOVE_PIXELS), abs=0.02)
    assert answer.get_json()["marks"] == moved.marks  # the answer is measured in the region too


def test_the_clinicians_compare_draws_the_pair_in_one_framing(logged_in, app, area):
    form = {"label": "Clinic", "expires_in_days": "30", "include_photos": "y"}
    created = logged_in.post("/share", data=form).get_data(as_text=True)
    link = re.search(r'value="http://localhost(/s/[A-Za-z0-9_-]+)"', created).group(1)
    page = (
        app.test_client()
        .get(f"{link}?area=left_cheek&a={area['reference']}&b={area['moved']}")
        .get_data(as_text=True)
    )
    assert page.count("data-align-transform=") == 2
    assert "Aligned to the same framing." in page


def test_compare_captions_give_each_photos_marks_not_its_central_colour(logged_in, area):
    page = logged_in.get(
        f"/compare?area=left_cheek&a={area['reference']}&b={area['moved']}"
    ).get_data(as_text=True)
    assert page.count("red marks Δa*") == 2
    assert "ITA°" not in page
