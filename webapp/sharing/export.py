"""The FHIR download of a live link: its rows read within the link's scope, made into a Bundle.

The same scope as the page and the PDF: only live rows dated within the link's range, notes read
only when the link includes them, photos (the display rendition's bytes, from the photo store)
only when it includes photos, with their measured colour, marks and quality grade. Three queries:
sessions, entries, photos. fhir.py builds the Bundle.
"""

from __future__ import annotations

import json
from datetime import date

import sqlalchemy as sa

from ..extensions import db
from ..models import Entry, Photo, ShareLink, TreatmentSession, utcnow
from ..storage import PhotoStore
from ..vocabulary import RATINGS
from .fhir import FhirEntry, FhirPhoto, FhirRecords, FhirSession, build_bundle
from .public import Download

CONTENT_TYPE = "application/fhir+json; charset=utf-8"


def fhir_download(link: ShareLink, store: PhotoStore) -> Download:
    """The link's records as a FHIR Bundle in JSON, and the name to save it under."""
    bundle = build_bundle(read_records(link, store))
    today = utcnow().date().isoformat()
    filename = f"Skinlog records - {link.user.display_name} - {today}.fhir.json"
    return Download(filename, json.dumps(bundle, ensure_ascii=False).encode())


def read_records(link: ShareLink, store: PhotoStore) -> FhirRecords:
    return FhirRecords(
        patient_key=link.token_hash,
        patient_name=link.user.display_name,
        created_at=utcnow(),
        sessions=_sessions(link),
        entries=_entries(link),
        photos=_photos(link, store) if link.include_photos else [],
    )


def _notes(link: ShareLink, column: sa.ColumnElement[str]) -> sa.ColumnElement[str]:
    """The notes column, or "" when the link leaves notes out: then they are not even read."""
    return column if link.include_notes else sa.literal("")


def _within(link: ShareLink, query: sa.Select, column: sa.ColumnElement[date]) -> sa.Select:
    if link.date_from is not None:
        query = query.where(column >= link.date_from)
    if link.date_to is not None:
        query = query.where(column <= link.date_to)
    return query.order_by(column)


def _sessions(link: ShareLink) -> list[FhirSession]:
    query = sa.select(
        TreatmentSession.uuid,
        TreatmentSession.date,
        TreatmentSession.device,
        TreatmentSession.needle_depth_mm,
        TreatmentSession.areas,
        TreatmentSession.setting,
        _notes(link, TreatmentSession.notes),
    ).where(TreatmentSession.user_id == link.user_id, TreatmentSession.deleted_at.is_(None))
    return [
        FhirSession(uuid, day, device or "", depth or 0.0, tuple(areas or ()), setting, notes)
        for uuid, day, device, depth, areas, setting, notes in db.session.execute(
            _within(link, query, TreatmentSession.date)
        )
    ]


def _entries(link: ShareLink) -> list[FhirEntry]:
    ratings = [getattr(Entry, name) for name in RATINGS]
    query = sa.select(
        Entry.uuid,
        Entry.date,
        Entry.pie_severity,
        Entry.pih_severity,
        Entry.red_flags,
        Entry.aftercare,
        _notes(link, Entry.notes),
        *ratings,
    ).where(Entry.user_id == link.user_id, Entry.deleted_at.is_(None))
    entries = []
    for row in db.session.execute(_within(link, query, Entry.date)):
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


def _photos(link: ShareLink, store: PhotoStore) -> list[FhirPhoto]:
    """The live photos of live entries in range (as links.shared_photo allows), each with the
    bytes of its display rendition."""
    query = (
        sa.select(Photo, Entry.uuid, Entry.date)
        .join(Entry, Photo.entry_id == Entry.id)
        .where(
            Photo.user_id == link.user_id,
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
            jpeg=_display_rendition(store, photo),
            lab_l=photo.lab_l,
            lab_a=photo.lab_a,
            lab_b=photo.lab_b,
            ita_deg=photo.ita_deg,
            marks=photo.marks,
            quality=photo.quality,
        )
        for photo, entry_uuid, day in db.session.execute(
            _within(link, query, Entry.date).order_by(Photo.id)
        )
    ]


def _display_rendition(store: PhotoStore, photo: Photo) -> bytes | None:
    """The bytes of the photo's display rendition (1280 px long side), or None if the store has
    lost them: the Bundle then says so rather than failing the whole download."""
    try:
        return store.read(photo.rendition_key("display"))
    except KeyError:
        return None
