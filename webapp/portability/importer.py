"""Importing an export archive (docs/export.md) into the signed-in account: merged by UUID, last
writer wins, photos ingested again, all or nothing.

In two steps, so the patient's write lock (on SQLite, the database's) is held only for the writes:

1. Read (archive.py, rows.py): the ZIP is checked, data.json's rows validated by the API's rules,
   every photo the account lacks is ingested from its JPEG as an upload is (sanitised, measured
   in its region, aligned to its area's reference) and its renditions put in the store. Nothing
   is written to the database.
2. Write (merge.py), in one transaction under the patient's lock: each session, entry and photo
   is created, updated (the archive's `client_updated_at` is newer) or left as it is; a UUID of
   another account refuses the whole import, as a date that already has another entry does.

Any refusal or failure rolls the transaction back and deletes every photo byte this import put
in the store (the store has no transaction). Importing the same archive again writes nothing.
"""

from __future__ import annotations

import logging
from typing import IO, Any

import numpy as np

from .. import imaging
from ..extensions import db
from ..models import Photo, User, utcnow
from ..records import latest_allowed_date
from ..records.alignment import REFERENCE_ALIGNMENT, ensure_reference
from ..storage import PhotoStore, StorageError, new_key
from . import archive
from .merge import ImportRefused, ImportReport, NewPhoto, refuse_foreign, with_uuids, write
from .rows import ExportRows, PhotoRow, parse_rows

log = logging.getLogger(__name__)

__all__ = ["ImportRefused", "ImportReport", "import_archive"]


def import_archive(
    user: User, fileobj: IO[bytes], store: PhotoStore, *, limits: archive.Limits | None = None
) -> ImportReport:
    """Merge the export archive `fileobj` into `user`'s account; ImportRefused (nothing imported)
    for an archive that is not a Skinlog export, is unsafe, or holds a row this account cannot
    take. Other errors (the database or the store down) are re-raised after the same clean-up.
    `limits`: what an archive may hold (archive.Limits by default)."""
    written: list[str] = []  # base keys of the photo bytes this import put in the store
    try:
        with archive.open_export(fileobj, limits) as export:
            rows = parse_rows(export.data(), latest_date=latest_allowed_date(), now=utcnow())
            for photo in rows.photos:
                if photo.file is not None and not export.has(photo.file):
                    raise ImportRefused(f"{photo.file}: missing from the ZIP ({_at(photo)}).")
            refuse_foreign(user, rows)  # before the costly ingest; again under the lock
            to_add = _photos_to_add(user, rows)
            references = {row.area: _account_reference(user, row.area, store) for row in to_add}
            # No transaction stays open while photos are ingested (minutes for years of them).
            db.session.rollback()
            new_photos = _ingest(export, to_add, references, store, written)
        report, unused = write(user, rows, new_photos)
    except BaseException as error:
        db.session.rollback()
        _forget(store, written)
        if isinstance(error, archive.ArchiveRefused):
            raise ImportRefused(str(error)) from None
        raise
    _forget(store, unused)
    for area in sorted({photo.row.area for photo in new_photos}):
        ensure_reference(user, area, store)  # none was found at ingest, or two now: pick one
    return report


# --- Step 1: read and ingest, no database writes ------------------------------------------------


def _photos_to_add(user: User, rows: ExportRows) -> list[PhotoRow]:
    """The photos with a file that this account does not hold yet: the ones to ingest, each
    area's reference in the archive first (so it stays the reference here)."""
    held = {photo.uuid for photo in with_uuids(Photo, {row.uuid for row in rows.photos})}
    wanted = [row for row in rows.photos if row.file is not None and row.uuid not in held]
    return sorted(wanted, key=lambda row: not row.was_reference)


def _ingest(
    export: archive.ExportArchive,
    photos: list[PhotoRow],
    references: dict[str, tuple[str, np.ndarray] | None],
    store: PhotoStore,
    written: list[str],
) -> list[NewPhoto]:
    """Each photo ingested from its file like an upload, aligned to its area's reference (the
    account's, else the archive's), and put in the store (its key added to `written` first, so
    a failure half-way still removes it)."""
    added = []
    for row in photos:
        assert row.file is not None  # noqa: S101 (only photos with a file are ingested)
        data = export.photo(row.file)
        try:
            ingested = imaging.ingest_photo(data)
            columns = _measures(ingested, row.region)
        except imaging.ImageRejected as rejected:
            raise ImportRefused(f"{row.file}: not a photo we can import ({rejected}).") from None
        reference = references[row.area]
        if reference is None and row.was_reference and ingested.quality.verdict != "poor":
            references[row.area] = (row.uuid, ingested.grey)
            columns["alignment"] = dict(REFERENCE_ALIGNMENT)
        elif reference is not None:
            ref_uuid, ref_grey = reference
            fit = imaging.align(ref_grey, ingested.grey).as_dict()
            columns["alignment"] = {"reference": ref_uuid, **fit}
        key = new_key()
        written.append(key)
        for name, rendition in ingested.renditions.items():
            store.put(f"{key}/{name}.jpg", rendition.data, imaging.CONTENT_TYPE)
        added.append(NewPhoto(row, key, columns))
    return added


def _measures(ingested: imaging.IngestedPhoto, region: list[float] | None) -> dict[str, Any]:
    """The photo's columns measured as an upload's, in its region if it has one (measured as
    the region page measures it: colour on the full rendition, marks on the analysis copy)."""
    colour, marks = ingested.colour, ingested.marks
    if region is not None:
        box = imaging.validate_region(region)
        colour = imaging.colour_metrics(ingested.renditions["full"].data, box)
        copy = imaging.analysis_copy(ingested.renditions["display"].data)
        marks = imaging.measure_marks(copy, box)
    return {
        "width": ingested.width,
        "height": ingested.height,
        "byte_size": len(ingested.renditions["full"].data),
        "sha256": ingested.sha256,
        "lab_l": colour.l_star,
        "lab_a": colour.a_star,
        "lab_b": colour.b_star,
        "ita_deg": colour.ita_deg,
        "region": region,
        "quality": ingested.quality.as_dict(),
        "marks": marks.as_dict(),
        "alignment": None,
    }


def _account_reference(user: User, area: str, store: PhotoStore) -> tuple[str, np.ndarray] | None:
    """The account's reference photo of `area` (uuid, grey analysis copy), if it has one whose
    pixels can be read: the imported photos of the area align to it."""
    live = db.session.execute(
        db.select(Photo).where(
            Photo.user_id == user.id, Photo.area == area, Photo.deleted_at.is_(None)
        )
    ).scalars()
    for photo in live:
        if isinstance(photo.alignment, dict) and photo.alignment.get("reference", 0) is None:
            try:
                data = store.read(photo.rendition_key("display"))
                return photo.uuid, imaging.analysis_grey(imaging.analysis_copy(data))
            except (KeyError, StorageError, imaging.ImageRejected):
                return None
    return None


def _at(photo: PhotoRow) -> str:
    return f"named by data.json {photo.where}"


def _forget(store: PhotoStore, keys: list[str]) -> None:
    """Remove photo bytes no row names, best effort: if the store is down, the sweep
    (housekeeping.sweep_photos) removes them later, as no photo row names them."""
    for key in keys:
        try:
            store.delete_prefix(key)
        except Exception:
            log.exception("could not delete imported photo bytes under %s; the sweep will", key)
