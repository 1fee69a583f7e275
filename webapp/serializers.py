"""The JSON of each resource, written in one place: entries, treatment sessions, photos, share
links. The sync API, its changes feed, the account export and the pages' form values all use
these, so a field is named the same way everywhere (docs/api.md describes the shapes).

Tombstones say only what a second device needs to delete its copy: `id`, `deleted`, the stamps
and, for entries and sessions, `date`. Photo URLs come from url_for, hence Flask here.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import url_for

from .models import (
    Entry,
    Photo,
    PushSubscription,
    ShareLink,
    SyncedMixin,
    TreatmentSession,
    iso_utc,
)
from .progress import SessionCalendar


def sync_stamps(row: SyncedMixin) -> dict[str, Any]:
    """What every synced row says of itself, and all that a tombstone says besides its date."""
    return {
        "id": row.uuid,
        "client_updated_at": iso_utc(row.client_updated_at),
        "created_at": iso_utc(row.created_at),
        "updated_at": iso_utc(row.updated_at),
        "deleted": row.deleted_at is not None,
    }


def session_json(session: TreatmentSession) -> dict[str, Any]:
    if session.deleted_at is not None:
        return {"date": session.date.isoformat(), **sync_stamps(session)}
    return {
        "date": session.date.isoformat(),
        "device": session.device,
        "needle_depth_mm": session.needle_depth_mm,
        "areas": list(session.areas),
        "topicals": list(session.topicals),
        "setting": session.setting,
        "provider": session.provider,
        "notes": session.notes,
        **sync_stamps(session),
    }


def entry_json(entry: Entry, calendar: SessionCalendar | None = None) -> dict[str, Any]:
    """The entry as the patient wrote it. With the patient's `calendar` (the API's answers), also
    the session it follows, days since, and its photos."""
    if entry.deleted_at is not None:
        # A tombstone keeps no content, and belongs to no session.
        return {"date": entry.date.isoformat(), **sync_stamps(entry)}
    data = {
        "date": entry.date.isoformat(),
        "ratings": entry.ratings,
        "pie_severity": entry.pie_severity,
        "pih_severity": entry.pih_severity,
        "red_flags": list(entry.red_flags),
        "aftercare": list(entry.aftercare),
        "notes": entry.notes,
        **sync_stamps(entry),
    }
    if calendar is not None:
        alignment = calendar.align(entry.date)
        data["session_number"] = alignment.session_number
        data["days_since_session"] = alignment.days_since_session
        data["photos"] = [photo_json(photo) for photo in entry.photos]
    return data


def photo_json(photo: Photo, *, with_entry: bool = False) -> dict[str, Any]:
    """The photo as the API answers it; `with_entry` adds its entry's id (the changes feed, where
    a photo comes without its entry)."""
    if photo.deleted_at is not None:  # a tombstone: which photo, and that it is gone
        data = {"id": photo.uuid, "deleted": True, "updated_at": iso_utc(photo.updated_at)}
    else:
        data = {
            "id": photo.uuid,
            "area": photo.area,
            "url": _api_photo_url(photo, "display"),
            "full_url": _api_photo_url(photo, "full"),
            "thumb_url": _api_photo_url(photo, "thumb"),
            "width": photo.width,
            "height": photo.height,
            "sha256": photo.sha256,
            "lab": photo.lab,
            "quality": photo.quality,
            "marks": photo.marks,
            "alignment": photo.alignment,
            "deleted": False,
            "updated_at": iso_utc(photo.updated_at),
        }
    if with_entry:
        data["entry_id"] = photo.entry.uuid
    return data


def exported_photo_json(photo: Photo, entry_uuid: str, file: str | None) -> dict[str, Any]:
    """A live photo in the account export (docs/export.md): every stored field, and the name of
    its JPEG in the archive (None if its bytes were lost); the import reads it back."""
    return {
        "id": photo.uuid,
        "entry_id": entry_uuid,
        "area": photo.area,
        "file": file,
        "width": photo.width,
        "height": photo.height,
        "sha256": photo.sha256,
        "byte_size": photo.byte_size,
        # The camera's own clock, local and without an offset: stored naive.
        "taken_at": photo.taken_at.isoformat() if photo.taken_at else None,
        "region": photo.region,
        "lab": photo.lab,
        "quality": photo.quality,
        "marks": photo.marks,
        "alignment": photo.alignment,
        "created_at": iso_utc(photo.created_at),
        "updated_at": iso_utc(photo.updated_at),
        "client_updated_at": iso_utc(photo.client_updated_at),
    }


def _api_photo_url(photo: Photo, rendition: str) -> str:
    return url_for("api.photo_bytes", photo_uuid=photo.uuid, rendition=rendition)


def share_link_json(link: ShareLink) -> dict[str, Any]:
    """A share link as its owner sees it; never its token (only the hash is stored anyway)."""
    return {
        "id": link.id,
        "label": link.label,
        "status": link.status(),
        "created_at": iso_utc(link.created_at),
        "expires_at": iso_utc(link.expires_at),
        "revoked_at": iso_utc(link.revoked_at),
        "date_from": link.date_from.isoformat() if link.date_from else None,
        "date_to": link.date_to.isoformat() if link.date_to else None,
        "include_photos": link.include_photos,
        "include_notes": link.include_notes,
    }


def push_subscription_json(subscription: PushSubscription) -> dict[str, Any]:
    """A device subscribed to reminders, as its owner sees it: never its keys, and the endpoint
    only as the push service's host (the full URL is itself a capability to send to it)."""
    return {
        "id": subscription.id,
        "device": subscription.device,
        "push_service": urlsplit(subscription.endpoint).hostname or "",
        "created_at": iso_utc(subscription.created_at),
        "last_sent_at": iso_utc(subscription.last_sent_at),
    }
