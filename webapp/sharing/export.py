"""Records read for a FHIR Bundle within a scope: a share link's, or a whole account's.

A link's scope is the page's and the PDF's: only live rows dated within the link's range, notes
read only when the link includes them, photos (the display rendition's bytes, from the photo
store) only when it includes photos, with their measured colour, marks and quality grade. The
account export (portability.export) reads the whole account in stretches of dates, with notes,
its photos naming their files in the archive instead of carrying their bytes. Three queries per
scope: sessions, entries, photos. fhir.py builds the Bundle.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa

from ..extensions import db
from ..models import Entry, Photo, ShareLink, TreatmentSession, utcnow
from ..storage import PhotoStore
from ..vocabulary import RATINGS
from .fhir import FhirEntry, FhirPhoto, FhirRecords, FhirSession, build_bundle
from .public import Download

CONTENT_TYPE = "application/fhir+json; charset=utf-8"

# What a photo's DocumentReference holds, from the stored photo and its entry's date: FhirPhoto's
# `jpeg` (bytes or None) and, when it names its file instead, `file` (a path).
PhotoContent = Callable[[Photo, date], dict[str, Any]]


@dataclass(frozen=True)
class Scope:
    """Whose live rows, dated from/to (inclusive; None = open), and whether notes are read."""

    user_id: int
    date_from: date | None = None
    date_to: date | None = None
    include_notes: bool = True

    @classmethod
    def of_link(cls, link: ShareLink) -> Scope:
        return cls(link.user_id, link.date_from, link.date_to, link.include_notes)


def fhir_download(link: ShareLink, store: PhotoStore) -> Download:
    """The link's records as a FHIR Bundle in JSON, and the name to save it under."""
    bundle = build_bundle(read_records(link, store))
    today = utcnow().date().isoformat()
    filename = f"Skinlog records - {link.user.display_name} - {today}.fhir.json"
    return Download(filename, json.dumps(bundle, ensure_ascii=False).encode())


def read_records(link: ShareLink, store: PhotoStore) -> FhirRecords:
    scope = Scope.of_link(link)
    return FhirRecords(
        patient_key=link.token_hash,
        patient_name=link.user.display_name,
        created_at=utcnow(),
        sessions=read_sessions(scope),
        entries=read_entries(scope),
        photos=read_photos(scope, _embedded(store)) if link.include_photos else [],
    )


def _notes(scope: Scope, column: sa.ColumnElement[str]) -> sa.ColumnElement[str]:
    """The notes column, or "" when the scope leaves notes out: then they are not even read."""
    return column if scope.include_notes else sa.literal("")


def _within(scope: Scope, query: sa.Select, column: sa.ColumnElement[date]) -> sa.Select:
    if scope.date_from is not None:
        query = query.where(column >= scope.date_from)
    if scope.date_to is not None:
        query = query.where(column <= scope.date_to)
    return query.order_by(column)


def read_sessions(scope: Scope) -> list[FhirSession]:
    query = sa.select(
        TreatmentSession.uuid,
        TreatmentSession.date,
        TreatmentSession.device,
        TreatmentSession.needle_depth_mm,
        TreatmentSession.areas,
        TreatmentSession.setting,
        _notes(scope, TreatmentSession.notes),
    ).where(TreatmentSession.user_id == scope.user_id, TreatmentSession.deleted_at.is_(None))
    return [
        FhirSession(uuid, day, device or "", depth or 0.0, tuple(areas or ()), setting, notes)
        for uuid, day, device, depth, areas, setting, notes in db.session.execute(
            _within(scope, query, TreatmentSession.date)
        )
    ]


def read_entries(scope: Scope) -> list[FhirEntry]:
    ratings = [getattr(Entry, name) for name in RATINGS]
    query = sa.select(
        Entry.uuid,
        Entry.date,
        Entry.pie_severity,
        Entry.pih_severity,
        Entry.red_flags,
        Entry.aftercare,
        _notes(scope, Entry.notes),
        *ratings,
    ).where(Entry.user_id == scope.user_id, Entry.deleted_at.is_(None))
    entries = []
    for row in db.session.execute(_within(scope, query, Entry.date)):
        uuid, day, pie, pih, red_flags, aftercare, notes, *values = row
        entries.append(
            FhirEntry(
                uuid=uuid,
                date=day,
                ratings=dict(zip(RATINGS, values, strict=True)),
                pie_severity=pie,
                pih_severity=pih,
                red_flags=tuple(red_flags or ()),
                aftercare=tuple(aftercare or ()),
                notes=notes,
            )
        )
    return entries


def read_photos(scope: Scope, content: PhotoContent) -> list[FhirPhoto]:
    """The live photos of live entries in range (as links.shared_photo allows), each with what
    `content` gives it: its bytes, or where its file is."""
    query = (
        sa.select(Photo, Entry.uuid, Entry.date)
        .join(Entry, Photo.entry_id == Entry.id)
        .where(
            Photo.user_id == scope.user_id,
            Photo.deleted_at.is_(None),
            Entry.deleted_at.is_(None),
        )
    )
    return [
        FhirPhoto(
            uuid=photo.uuid,
            entry_uuid=entry_uuid,
            date=day,
            area=photo.area,
            lab_l=photo.lab_l,
            lab_a=photo.lab_a,
            lab_b=photo.lab_b,
            ita_deg=photo.ita_deg,
            marks=photo.marks,
            quality=photo.quality,
            **content(photo, day),
        )
        for photo, entry_uuid, day in db.session.execute(
            _within(scope, query, Entry.date).order_by(Photo.id)
        )
    ]


def _embedded(store: PhotoStore) -> PhotoContent:
    """The bytes of each photo's display rendition (1280 px long side), or None if the store has
    lost them: the Bundle then says so rather than failing the whole download."""

    def content(photo: Photo, day: date) -> dict[str, Any]:
        try:
            return {"jpeg": store.read(photo.rendition_key("display"))}
        except KeyError:
            return {"jpeg": None}

    return content
