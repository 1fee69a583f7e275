"""A share link's records as a FHIR R5 Bundle, for a clinic that files them in its records system.

Pure: it takes the plain data that export.py reads within a scope (a link's, or the whole
account's for the export archive; notes already left out, photos already absent when the link
leaves them out) and returns the Bundle as a dict, or its entries one at a time for a writer that
streams a long history. The codes are Skinlog's own, under an example domain, with the label a
patient reads as the text: the clinician reads words, and no terminology server is needed
(docs/domain.md says what they mean).

The Patient has the display name only. Each treatment session is a Procedure; each daily entry a
QuestionnaireResponse and, derived from it, an Observation per rating, severity and warning sign;
each photo a DocumentReference holding the image (or naming its file) and, labelled indicative,
an Observation of its central colour (kept for records systems that already read it) and one of
its red and dark marks against the skin around them. Both carry the photo's quality grade (good,
fair, poor, and why) as a component, so a clinician weighs a figure from a blurred or dark photo
accordingly.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from ..vocabulary import AFTERCARE, AREAS, DEVICES, RATINGS, RED_FLAGS, SETTINGS, SEVERITY_WORDS
from .fhir_types import (
    BASE,
    category,
    coding,
    component,
    concept,
    quantity,
    urn,
)

QUESTIONNAIRE = f"{BASE}/Questionnaire/daily-log"
COLOUR_NOTE = (
    "Indicative, not a diagnosis: measured from a phone photo, whose colour moves with the light. "
    "A trend for this patient, not a figure to compare between people."
)
MARKS_NOTE = (
    "Indicative, not a diagnosis: measured from a phone photo, each mark against the skin around "
    "it in the same photo and at a standard exposure, which cancels much of the light. It reads "
    "higher on darker skin and lower on paler skin: a trend for this patient, not a figure to "
    "compare between people."
)
# The marks Observation's components: (code, label, key of Photo.marks, unit). A "%" is a share
# of the skin (stored as a fraction); no unit, a count. Keys whose value is null are left out.
MARK_COMPONENTS = (
    ("red-delta-a", "Red marks: Δa* against the skin around them", "delta_a", "a*"),
    ("red-area", "Red marks: share of the skin", "red_area", "%"),
    ("red-count", "Red marks: number found", "red_count", None),
    ("dark-delta-l", "Dark marks: ΔL* against the skin around them (<0 darker)", "delta_l", "L*"),
    ("dark-area", "Dark marks: share of the skin", "dark_area", "%"),
    ("dark-count", "Dark marks: number found", "dark_count", None),
)
QUALITY_VERDICTS = ("good", "fair", "poor")


@dataclass(frozen=True)
class FhirSession:
    uuid: str
    date: date
    device: str
    needle_depth_mm: float
    areas: tuple[str, ...]
    setting: str
    notes: str  # "" when the link leaves notes out


@dataclass(frozen=True)
class FhirEntry:
    uuid: str
    date: date
    ratings: dict[str, int | None]  # vocabulary.RATINGS' names, 0-10
    pie_severity: int | None  # 0-4
    pih_severity: int | None
    red_flags: tuple[str, ...]
    aftercare: tuple[str, ...]
    notes: str  # "" when the link leaves notes out


@dataclass(frozen=True)
class FhirPhoto:
    uuid: str
    entry_uuid: str
    date: date  # its entry's
    area: str
    jpeg: bytes | None  # the display rendition, embedded; None if not (lost, or `file` given)
    lab_l: float | None = None  # indicative colour of the measured region
    lab_a: float | None = None
    lab_b: float | None = None
    ita_deg: float | None = None
    marks: Mapping[str, Any] | None = None  # Photo.marks (docs/api.md); None: not measured
    quality: Mapping[str, Any] | None = None  # Photo.quality: {"verdict", "reasons", ...}
    # Where the image is instead of `jpeg`: its path beside the Bundle (the account export's
    # photos/... file), so a long history's Bundle does not carry every photo as base64.
    file: str | None = None


@dataclass(frozen=True)
class FhirRecords:
    patient_key: str  # a stable, secret string (the link's token hash): the Patient id hashes it
    patient_name: str
    created_at: datetime  # aware
    sessions: Sequence[FhirSession] = ()
    entries: Sequence[FhirEntry] = ()
    photos: Sequence[FhirPhoto] = ()  # empty when the link leaves photos out


def build_bundle(records: FhirRecords) -> dict[str, Any]:
    """A Bundle of type "collection" holding every resource of `records`, ready for json.dumps."""
    return {**bundle_header(records), "entry": list(bundle_entries(records))}


def bundle_header(records: FhirRecords) -> dict[str, Any]:
    """The Bundle without its entries: a writer that streams a long history writes this, then
    the entries of `bundle_entries` for one stretch of dates after another."""
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": records.created_at.isoformat().replace("+00:00", "Z"),
    }


def bundle_entries(records: FhirRecords, *, patient: bool = True) -> Iterator[dict[str, Any]]:
    """The Bundle's entries for `records`, one at a time; `patient=False` leaves out the Patient
    (already written with an earlier stretch: every stretch names the same one). A photo must
    come in the same `records` as its entry, which lists it."""
    subject = urn("patient", records.patient_key)
    if patient:
        yield _bundle_entry(subject, _patient(records))
    for session in records.sessions:
        yield _bundle_entry(urn("session", session.uuid), _procedure(session, subject))
    photos_of: dict[str, list[str]] = {}
    for photo in records.photos:
        photos_of.setdefault(photo.entry_uuid, []).append(urn("photo", photo.uuid))
    for entry in records.entries:
        response = urn("entry", entry.uuid)
        photos = photos_of.get(entry.uuid, [])
        yield _bundle_entry(response, _questionnaire_response(entry, subject, photos))
        for url, resource in _entry_observations(entry, subject, response):
            yield _bundle_entry(url, resource)
    for photo in records.photos:
        document = urn("photo", photo.uuid)
        yield _bundle_entry(document, _document_reference(photo, subject))
        if photo.lab_l is not None:
            yield _bundle_entry(*_colour_observation(photo, subject, document))
        if photo.marks:
            yield _bundle_entry(*_marks_observation(photo, subject, document))


def _bundle_entry(url: str, resource: dict[str, Any]) -> dict[str, Any]:
    return {"fullUrl": url, "resource": resource}


# --- Resources ------------------------------------------------------------------------------------


def _patient(records: FhirRecords) -> dict[str, Any]:
    return {"resourceType": "Patient", "name": [{"text": records.patient_name}]}


def _procedure(session: FhirSession, patient: str) -> dict[str, Any]:
    depth = f"{session.needle_depth_mm:g} mm"
    how = f"{DEVICES.get(session.device, session.device)}, needle depth {depth}"
    if session.setting in SETTINGS:
        how += f"; {SETTINGS[session.setting].lower()}"
    notes = [{"text": how}]
    if session.notes:
        notes.append({"text": session.notes})
    procedure = {
        "resourceType": "Procedure",
        "identifier": [{"system": f"{BASE}/session", "value": session.uuid}],
        "status": "completed",
        "code": concept("procedure", "microneedling", "Microneedling"),
        "subject": {"reference": patient},
        "occurrenceDateTime": session.date.isoformat(),  # R5's name for R4's performed[x]
        "note": notes,
    }
    if session.areas:
        procedure["bodySite"] = [{"text": AREAS.get(area, area)} for area in session.areas]
    return procedure


def _questionnaire_response(entry: FhirEntry, patient: str, photos: list[str]) -> dict[str, Any]:
    items = [
        {"linkId": name, "text": label, "answer": [{"valueInteger": entry.ratings[name]}]}
        for name, label in RATINGS.items()
        if entry.ratings.get(name) is not None
    ]
    for name, label, value in _severities(entry):
        items.append({"linkId": name, "text": label, "answer": [{"valueCoding": _severity(value)}]})
    for name, system, text, chosen, words in (
        ("red_flags", "red-flag", "Warning signs", entry.red_flags, RED_FLAGS),
        ("aftercare", "aftercare", "Aftercare", entry.aftercare, AFTERCARE),
    ):
        if chosen:
            codings = [coding(system, code, words.get(code, code)) for code in chosen]
            items.append(
                {"linkId": name, "text": text, "answer": [{"valueCoding": c} for c in codings]}
            )
    if photos:
        answers = [{"valueReference": {"reference": photo}} for photo in photos]
        items.append({"linkId": "photos", "text": "Photos", "answer": answers})
    if entry.notes:
        items.append({"linkId": "notes", "text": "Notes", "answer": [{"valueString": entry.notes}]})
    response = {
        "resourceType": "QuestionnaireResponse",
        "identifier": [{"system": f"{BASE}/entry", "value": entry.uuid}],
        "questionnaire": QUESTIONNAIRE,
        "status": "completed",
        "subject": {"reference": patient},
        "authored": entry.date.isoformat(),
        "source": {"reference": patient},
    }
    if items:
        response["item"] = items
    return response


def _entry_observations(
    entry: FhirEntry, patient: str, response: str
) -> list[tuple[str, dict[str, Any]]]:
    """One Observation per rating given, per severity given and per warning sign reported."""

    def observation(name: str, code: dict[str, Any], value: dict[str, Any]) -> tuple[str, dict]:
        resource = {
            "resourceType": "Observation",
            "status": "final",
            "category": [category("survey", "Survey")],
            "code": code,
            "subject": {"reference": patient},
            "effectiveDateTime": entry.date.isoformat(),
            "derivedFrom": [{"reference": response}],
            **value,
        }
        return urn("entry", entry.uuid, name), resource

    found = [
        observation(
            name,
            concept("rating", name, label),
            {"valueInteger": entry.ratings[name], "note": [{"text": "0 none to 10 worst"}]},
        )
        for name, label in RATINGS.items()
        if entry.ratings.get(name) is not None
    ]
    for name, label, value in _severities(entry):
        severity = _severity(value)
        worded = {"coding": [severity], "text": f"{value} – {severity['display']}"}
        found.append(
            observation(name, concept("severity", name, label), {"valueCodeableConcept": worded})
        )
    for flag in entry.red_flags:
        label = RED_FLAGS.get(flag, flag)
        found.append(
            observation(
                f"red_flag/{flag}", concept("red-flag", flag, label), {"valueBoolean": True}
            )
        )
    return found


def _document_reference(photo: FhirPhoto, patient: str) -> dict[str, Any]:
    area = AREAS.get(photo.area, photo.area)
    attachment: dict[str, Any] = {
        "contentType": "image/jpeg",
        "title": f"{area}, {photo.date.isoformat()}",
        "creation": photo.date.isoformat(),
    }
    if photo.jpeg is not None:
        attachment["data"] = base64.b64encode(photo.jpeg).decode("ascii")
    elif photo.file is not None:
        attachment["url"] = photo.file
    else:
        attachment["title"] += " (image not available)"
    return {
        "resourceType": "DocumentReference",
        "identifier": [{"system": f"{BASE}/photo", "value": photo.uuid}],
        "status": "current",
        "type": concept("document", "photo", "Photo of acne marks"),
        "subject": {"reference": patient},
        "bodySite": [{"concept": {"text": area}}],
        "description": f"Photo of {area.lower()} taken by the patient",
        "content": [{"attachment": attachment}],
    }


def _colour_observation(
    photo: FhirPhoto, patient: str, document: str
) -> tuple[str, dict[str, Any]]:
    """The mean colour of the photo's measured region: what Skinlog measured before marks."""
    measured = (
        ("lab-l", "CIELAB L* (lightness)", photo.lab_l, "L*"),
        ("lab-a", "CIELAB a* (redness)", photo.lab_a, "a*"),
        ("lab-b", "CIELAB b* (yellowness)", photo.lab_b, "b*"),
        ("ita", "Individual typology angle (ITA°)", photo.ita_deg, "°"),
    )
    components = [
        component("colour", code, label, quantity(value, unit))
        for code, label, value, unit in measured
        if value is not None
    ]
    code = concept("colour", "measured-colour", "Measured skin colour (indicative)")
    resource = _photo_observation(photo, patient, document, code, COLOUR_NOTE, components)
    return urn("photo", photo.uuid, "colour"), resource


def _marks_observation(photo: FhirPhoto, patient: str, document: str) -> tuple[str, dict[str, Any]]:
    """The red (PIE) and dark (PIH) marks, each kind by its contrast with the skin around it, the
    share of the skin it covers and its count; a contrast is null when no mark of its kind was
    found, and then left out rather than sent as a zero a records system would plot."""
    marks = photo.marks or {}
    components = []
    for code, label, key, unit in MARK_COMPONENTS:
        value = marks.get(key)
        if value is None:
            continue
        if unit is None:
            found: dict[str, Any] = {"valueInteger": int(value)}
        elif unit == "%":
            found = quantity(value * 100, unit, digits=3)
        else:
            found = quantity(value, unit)
        components.append(component("marks", code, label, found))
    code = concept("marks", "measured-marks", "Measured acne marks (indicative)")
    resource = _photo_observation(photo, patient, document, code, MARKS_NOTE, components)
    return urn("photo", photo.uuid, "marks"), resource


def _photo_observation(
    photo: FhirPhoto,
    patient: str,
    document: str,
    code: dict[str, Any],
    note: str,
    components: list[dict[str, Any]],
) -> dict[str, Any]:
    """An indicative Observation derived from the photo, with its quality grade when graded."""
    quality = _quality_component(photo.quality)
    if quality is not None:
        components = [*components, quality]
    observation = {
        "resourceType": "Observation",
        "status": "final",
        "category": [category("imaging", "Imaging")],
        "code": code,
        "subject": {"reference": patient},
        "effectiveDateTime": photo.date.isoformat(),
        "bodySite": {"text": AREAS.get(photo.area, photo.area)},
        "derivedFrom": [{"reference": document}],
        "interpretation": [{"text": "Indicative, not a diagnosis"}],
        "note": [{"text": note}],
    }
    if components:  # FHIR JSON has no empty arrays
        observation["component"] = components
    return observation


def _quality_component(quality: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """'Fair: Too dark, Blurred' as a coded component; None for a photo never graded."""
    if not quality or quality.get("verdict") not in QUALITY_VERDICTS:
        return None
    verdict = str(quality["verdict"])
    word = verdict.capitalize()
    reasons = [str(reason) for reason in quality.get("reasons") or ()]
    graded = {
        "coding": [coding("photo-quality", verdict, word)],
        "text": f"{word}: {', '.join(reasons)}" if reasons else word,
    }
    label = "Photo quality (light, sharpness, colour cast)"
    return component("photo", "quality", label, {"valueCodeableConcept": graded})


# --- Pieces ---------------------------------------------------------------------------------------


def _severities(entry: FhirEntry) -> list[tuple[str, str, int]]:
    pairs = (("pie_severity", "PIE severity (red marks)", entry.pie_severity),
             ("pih_severity", "PIH severity (dark marks)", entry.pih_severity))  # fmt: skip
    return [(name, label, value) for name, label, value in pairs if value is not None]


def _severity(value: int) -> dict[str, str]:
    return coding("severity-scale", str(value), SEVERITY_WORDS.get(value, str(value)))
