"""The share link's FHIR download: a Bundle that fhir.resources (R5) accepts, within the link's
scope (dates, photos, notes), with the values as stored and nothing of the patient's but the name.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, date, datetime, timedelta

import pytest
from fhir.resources import __fhir_version__
from fhir.resources.bundle import Bundle

from tests.test_diary import entry_form, session_form
from tests.test_share import create_link, log_with_photo, photos
from webapp.extensions import db
from webapp.models import Entry, Photo, ShareLink, utcnow
from webapp.sharing.fhir import (
    FhirEntry,
    FhirPhoto,
    FhirRecords,
    FhirSession,
    build_bundle,
)
from webapp.sharing.fhir_types import UCUM
from webapp.vocabulary import RATINGS

TODAY = date.today()
DAY = date(2026, 3, 4)
# A photo's stored measures (docs/api.md): red marks found, no dark mark (delta_l null).
MARKS = {
    "delta_a": 6.21,
    "red_area": 0.03214,
    "red_count": 3,
    "delta_l": None,
    "dark_area": 0.0,
    "dark_count": 0,
    "skin_fraction": 0.62,
}
QUALITY = {"verdict": "fair", "reasons": ["Too dark", "Blurred"], "mean_l": 38.2, "sharpness": 31.0}


@pytest.fixture
def dermatologist(app):
    """A browser with no account."""
    return app.test_client()


def download(client, path: str) -> dict:
    """The link's FHIR Bundle, checked by fhir.resources before anything else looks at it."""
    response = client.get(f"{path}/fhir.json")
    assert response.status_code == 200, response.get_data(as_text=True)
    bundle = json.loads(response.get_data())
    Bundle.model_validate(bundle)
    return bundle


def resources(bundle: dict, kind: str) -> list[dict]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def observations(bundle: dict, code_system: str) -> dict[str, dict]:
    """Observations whose code is in Skinlog's `code_system`, by code."""
    found = {}
    for observation in resources(bundle, "Observation"):
        (coding,) = observation["code"]["coding"]
        if coding["system"].endswith(f"/CodeSystem/{code_system}"):
            found[coding["code"]] = observation
    return found


def components(observation: dict, code_system: str) -> dict[str, dict]:
    """An Observation's components whose code is in Skinlog's `code_system`, by code."""
    found = {}
    for component in observation["component"]:
        (coding,) = component["code"]["coding"]
        if coding["system"].endswith(f"/CodeSystem/{code_system}"):
            found[coding["code"]] = component
    return found


def photo_bundle(**measures) -> dict:
    """The Bundle of one photo with `measures` (FhirPhoto's fields), validated as R5."""
    photo = FhirPhoto("p-1", "e-1", DAY, "chin", b"jpeg", **measures)
    entry = FhirEntry("e-1", DAY, dict.fromkeys(RATINGS), None, None, (), (), "")
    records = FhirRecords("k" * 64, "Zoë", datetime(2026, 3, 5, tzinfo=UTC), (), [entry], [photo])
    bundle = build_bundle(records)
    Bundle.model_validate(bundle)
    return bundle


def test_the_library_validates_fhir_r5():
    assert __fhir_version__.startswith("5."), "DocumentReference with image data is R5's shape"


def test_bundle_validates_and_holds_sessions_entries_and_photos(
    logged_in, dermatologist, sample_photo
):
    logged_in.post("/sessions/new", data=session_form())
    log_with_photo(logged_in, sample_photo, red_flags=["pus"])
    path = create_link(logged_in)
    response = dermatologist.get(f"{path}/fhir.json")
    assert response.mimetype == "application/fhir+json"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment") and "Skinlog records - Sam - " in disposition
    assert response.headers["Cache-Control"] == "private, no-store"
    bundle = download(dermatologist, path)
    assert bundle["type"] == "collection"
    kinds = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert kinds.count("Patient") == kinds.count("Procedure") == 1
    assert kinds.count("QuestionnaireResponse") == kinds.count("DocumentReference") == 1
    (patient,) = resources(bundle, "Patient")
    assert patient["name"] == [{"text": "Sam"}]
    (procedure,) = resources(bundle, "Procedure")
    assert procedure["code"]["text"] == "Microneedling"
    assert procedure["occurrenceDateTime"] == (TODAY - timedelta(days=3)).isoformat()
    assert [site["text"] for site in procedure["bodySite"]] == ["Left cheek", "Right cheek"]
    assert "Microneedling pen, needle depth 1 mm" in procedure["note"][0]["text"]
    (flag,) = observations(bundle, "red-flag").values()
    assert flag["code"]["text"] == "Pus or yellow crusting" and flag["valueBoolean"] is True
    full_urls = {e["fullUrl"] for e in bundle["entry"]}
    references = {
        r["reference"] for o in resources(bundle, "Observation") for r in o["derivedFrom"]
    }
    assert references <= full_urls, "every derived observation points into the bundle"


def test_observation_values_equal_the_stored_ratings(logged_in, dermatologist, app):
    logged_in.post("/log", data=entry_form())
    bundle = download(dermatologist, create_link(logged_in))
    with app.app_context():
        entry = db.session.execute(db.select(Entry)).scalar_one()
        stored = entry.ratings
        severities = {"pie_severity": entry.pie_severity, "pih_severity": entry.pih_severity}
    ratings = observations(bundle, "rating")
    assert {name: o["valueInteger"] for name, o in ratings.items()} == {
        name: value for name, value in stored.items() if value is not None
    }
    assert stored["itching"] is None and "itching" not in ratings, "no value, no observation"
    for name, observation in ratings.items():
        assert observation["code"]["text"] == RATINGS[name]
        assert observation["category"][0]["coding"][0]["code"] == "survey"
        assert observation["effectiveDateTime"] == TODAY.isoformat()
    found = observations(bundle, "severity")
    assert {
        name: int(o["valueCodeableConcept"]["coding"][0]["code"]) for name, o in found.items()
    } == severities
    assert found["pie_severity"]["valueCodeableConcept"]["text"] == "3 – Moderate"
    (response,) = resources(bundle, "QuestionnaireResponse")
    assert response["status"] == "completed" and response["authored"] == TODAY.isoformat()
    items = {item["linkId"]: item for item in response["item"]}
    assert items["redness"]["answer"] == [{"valueInteger": stored["redness"]}]
    assert [a["valueCoding"]["code"] for a in items["aftercare"]["answer"]] == [
        "sunscreen",
        "no_makeup",
    ]


def test_photo_is_embedded_with_its_measured_colour(logged_in, dermatologist, sample_photo, app):
    log_with_photo(logged_in, sample_photo)
    bundle = download(dermatologist, create_link(logged_in))
    (photo,) = photos(app)
    (document,) = resources(bundle, "DocumentReference")
    attachment = document["content"][0]["attachment"]
    assert attachment["contentType"] == "image/jpeg"
    store = app.extensions["photo_store"]
    assert base64.b64decode(attachment["data"]) == store.read(photo.rendition_key("display"))
    (colour,) = observations(bundle, "colour").values()
    values = {code: c["valueQuantity"] for code, c in components(colour, "colour").items()}
    assert values["lab-l"] == {"value": round(photo.lab_l, 2), "unit": "L*"}
    assert values["lab-a"]["value"] == round(photo.lab_a, 2)
    assert values["ita"]["value"] == round(photo.ita_deg, 2) and values["ita"]["code"] == "deg"
    assert colour["interpretation"] == [{"text": "Indicative, not a diagnosis"}]
    (response,) = resources(bundle, "QuestionnaireResponse")
    items = {item["linkId"]: item for item in response["item"]}
    (document_url,) = [e["fullUrl"] for e in bundle["entry"] if e["resource"] is document]
    assert items["photos"]["answer"] == [{"valueReference": {"reference": document_url}}]
    assert document["identifier"][0]["value"] == photo.uuid


def test_dates_outside_the_links_range_are_absent(logged_in, dermatologist, sample_photo, app):
    old_day, new_day = TODAY - timedelta(days=20), TODAY - timedelta(days=2)
    logged_in.post("/sessions/new", data=session_form(date=old_day.isoformat()))
    logged_in.post("/sessions/new", data=session_form(date=(TODAY - timedelta(days=5)).isoformat()))
    log_with_photo(logged_in, sample_photo, day=old_day)
    log_with_photo(logged_in, sample_photo, day=new_day)
    old_photo, new_photo = photos(app)
    path = create_link(logged_in, date_from=(TODAY - timedelta(days=7)).isoformat())
    bundle = download(dermatologist, path)
    text = json.dumps(bundle)
    assert old_day.isoformat() not in text and old_photo.uuid not in text
    assert new_day.isoformat() in text and new_photo.uuid in text
    assert len(resources(bundle, "Procedure")) == len(resources(bundle, "DocumentReference")) == 1


def test_no_photos_when_the_link_leaves_them_out(logged_in, dermatologist, sample_photo, app):
    log_with_photo(logged_in, sample_photo)
    bundle = download(dermatologist, create_link(logged_in, include_photos=""))
    (photo,) = photos(app)
    assert resources(bundle, "DocumentReference") == []
    assert observations(bundle, "colour") == {}, "measured colour comes with the photos"
    assert photo.uuid not in json.dumps(bundle)
    assert len(resources(bundle, "QuestionnaireResponse")) == 1


def test_notes_only_when_the_link_includes_them(logged_in, app):
    logged_in.post("/sessions/new", data=session_form(notes="serum stung at the jawline"))
    logged_in.post("/log", data=entry_form(notes="itchy on day 3"))
    clinician = app.test_client()
    without = json.dumps(download(clinician, create_link(logged_in)))
    assert "itchy on day 3" not in without and "serum stung" not in without
    with_notes = json.dumps(download(clinician, create_link(logged_in, include_notes="y")))
    assert "itchy on day 3" in with_notes and "serum stung at the jawline" in with_notes


def test_the_patients_email_appears_nowhere(logged_in, dermatologist, sample_photo, user):
    logged_in.post("/sessions/new", data=session_form())
    log_with_photo(logged_in, sample_photo)
    raw = dermatologist.get(f"{create_link(logged_in, include_notes='y')}/fhir.json").get_data()
    assert user.email.encode() not in raw and b"sam@" not in raw
    assert user.email.split("@")[1].encode() not in raw


def test_revoked_or_expired_link_answers_410_and_an_unknown_token_404(
    logged_in, dermatologist, app
):
    revoked, expired = create_link(logged_in), create_link(logged_in, expires_in_days="1")
    with app.app_context():
        first, second = db.session.execute(db.select(ShareLink).order_by(ShareLink.id)).scalars()
        first.revoked_at = utcnow()
        second.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    assert dermatologist.get(f"{revoked}/fhir.json").status_code == 410
    assert dermatologist.get(f"{expired}/fhir.json").status_code == 410
    assert dermatologist.get("/s/" + "A" * 43 + "/fhir.json").status_code == 404


def test_guessing_tokens_for_the_download_is_rate_limited(dermatologist):
    statuses = [
        dermatologist.get(f"/s/guess{number:040d}/fhir.json").status_code for number in range(21)
    ]
    assert statuses[:20] == [404] * 20 and statuses[-1] == 429


def test_the_shared_page_offers_the_download(logged_in, dermatologist):
    path = create_link(logged_in)
    page = dermatologist.get(path).get_data(as_text=True)
    assert f'href="{path}/fhir.json"' in page
    assert "Download for your records system (FHIR JSON)" in page


def test_builder_takes_plain_data_and_says_when_an_image_is_lost():
    """No app, no database: what export.py reads, made up."""
    day = date(2026, 3, 4)
    records = FhirRecords(
        patient_key="k" * 64,
        patient_name="Zoë",
        created_at=datetime(2026, 3, 5, 9, 30, tzinfo=UTC),
        sessions=[FhirSession("s-1", day, "roller", 0.5, (), "home", "")],
        entries=[FhirEntry("e-1", day, dict.fromkeys(RATINGS), None, 4, ("fever",), (), "tired")],
        photos=[FhirPhoto("p-1", "e-1", day, "chin", None, lab_l=60.0, lab_a=12.5)],
    )
    bundle = build_bundle(records)
    Bundle.model_validate(bundle)
    assert bundle["timestamp"] == "2026-03-05T09:30:00Z"
    (document,) = resources(bundle, "DocumentReference")
    attachment = document["content"][0]["attachment"]
    assert "data" not in attachment and attachment["title"].endswith("(image not available)")
    (colour,) = observations(bundle, "colour").values()
    assert [c["code"]["coding"][0]["code"] for c in colour["component"]] == ["lab-l", "lab-a"]
    assert observations(bundle, "rating") == {}
    assert observations(bundle, "severity")["pih_severity"]["valueCodeableConcept"]["text"] == (
        "4 – Severe"
    )
    assert build_bundle(records) == bundle, "the same records give the same ids"


def test_a_photo_with_marks_has_a_marks_observation_in_its_units():
    bundle = photo_bundle(lab_l=60.0, marks=MARKS)
    (marks,) = observations(bundle, "marks").values()
    found = components(marks, "marks")
    assert found["red-delta-a"]["valueQuantity"] == {"value": 6.21, "unit": "a*"}
    assert found["red-area"]["valueQuantity"] == {
        "value": 3.214,
        "unit": "%",
        "system": UCUM,
        "code": "%",
    }, "a share of the skin, as a percentage"
    assert found["red-count"] == {"code": found["red-count"]["code"], "valueInteger": 3}
    assert found["dark-area"]["valueQuantity"]["value"] == 0.0
    assert found["dark-count"]["valueInteger"] == 0
    assert found["red-delta-a"]["code"]["text"] == "Red marks: Δa* against the skin around them"


def test_a_mark_contrast_that_is_null_is_left_out():
    bundle = photo_bundle(marks=MARKS | {"red_area": 0.0, "red_count": 0, "delta_a": None})
    (marks,) = observations(bundle, "marks").values()
    assert list(components(marks, "marks")) == [
        "red-area",
        "red-count",
        "dark-area",
        "dark-count",
    ], "no red or dark mark found: no contrast, not a zero"


def test_the_marks_observation_is_indicative_and_derived_from_its_photo():
    bundle = photo_bundle(marks=MARKS)
    (marks,) = observations(bundle, "marks").values()
    (document_url,) = [
        e["fullUrl"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "DocumentReference"
    ]
    assert marks["derivedFrom"] == [{"reference": document_url}]
    assert marks["interpretation"] == [{"text": "Indicative, not a diagnosis"}]
    (note,) = marks["note"]
    assert "against the skin around it" in note["text"] and "not a diagnosis" in note["text"]
    assert marks["bodySite"] == {"text": "Chin"} and marks["effectiveDateTime"] == "2026-03-04"


def test_a_photo_without_marks_keeps_only_its_colour_observation():
    bundle = photo_bundle(lab_l=60.0, lab_a=12.5)
    assert observations(bundle, "marks") == {}
    assert list(observations(bundle, "colour")) == ["measured-colour"]


def test_both_photo_observations_carry_the_quality_grade_and_its_reasons():
    bundle = photo_bundle(lab_l=60.0, marks=MARKS, quality=QUALITY)
    (colour,) = observations(bundle, "colour").values()
    (marks,) = observations(bundle, "marks").values()
    for observation in (colour, marks):
        grade = components(observation, "photo")["quality"]["valueCodeableConcept"]
        assert grade["coding"][0]["code"] == "fair"
        assert grade["coding"][0]["system"].endswith("/CodeSystem/photo-quality")
        assert grade["text"] == "Fair: Too dark, Blurred"


def test_a_good_photo_is_graded_without_reasons_and_an_ungraded_one_not_at_all():
    good = photo_bundle(marks=MARKS, quality={"verdict": "good", "reasons": []})
    (marks,) = observations(good, "marks").values()
    assert components(marks, "photo")["quality"]["valueCodeableConcept"]["text"] == "Good"
    ungraded = photo_bundle(marks=MARKS)
    (marks,) = observations(ungraded, "marks").values()
    assert components(marks, "photo") == {}


def test_the_download_carries_the_stored_marks_and_quality(
    logged_in, dermatologist, sample_photo, app
):
    log_with_photo(logged_in, sample_photo)
    with app.app_context():
        stored = db.session.execute(db.select(Photo)).scalar_one()
        stored.marks, stored.quality = MARKS, QUALITY
        db.session.commit()
    bundle = download(dermatologist, create_link(logged_in))
    (marks,) = observations(bundle, "marks").values()
    found = components(marks, "marks")
    assert found["red-delta-a"]["valueQuantity"]["value"] == MARKS["delta_a"]
    assert found["red-count"]["valueInteger"] == MARKS["red_count"]
    assert "dark-delta-l" not in found
    grade = components(marks, "photo")["quality"]["valueCodeableConcept"]
    assert grade["text"] == "Fair: Too dark, Blurred"
    assert list(observations(bundle, "colour")) == ["measured-colour"], "kept for older readers"
