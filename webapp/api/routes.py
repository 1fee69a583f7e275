"""JSON API under /api/v1, used by the offline sync (documented in docs/api.md).

Every write is an idempotent PUT by client-made UUID; DELETE leaves a tombstone. Conflicts are
settled by last writer wins on `client_updated_at`, and every answer carries the stored version, so
the phone can show what the server kept. Errors are always JSON (errors.json_error).
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import current_app, jsonify, request
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from .. import imaging, records
from ..errors import json_error
from ..models import Entry, Photo, TreatmentSession
from ..progress import SessionCalendar
from ..pwa.account import account_tag
from ..responses import RENDITIONS, photo_response
from ..serializers import entry_json, photo_json, session_json
from ..timeline.region import carry_region_to
from ..validation import (
    Invalid,
    parse_area,
    parse_client_stamp,
    parse_entry,
    parse_session,
    parse_uuid,
)
from . import bp

CHANGES_PAGE_SIZE = 500


@bp.get("/csrf")
def csrf_token():
    """A fresh CSRF token: a phone that was offline for days fetches one before replaying.

    `account` tags the current login (null when logged out), so a shared phone never uploads items
    queued under one account into another.
    """
    account = None
    if current_user.is_authenticated:
        account = account_tag(current_app.config["SECRET_KEY"], current_user.id)
    response = jsonify({"csrf_token": generate_csrf(), "account": account})
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.before_request
def require_login():
    if request.endpoint == "api.csrf_token":
        return None
    if not current_user.is_authenticated:
        return json_error(401, "Please log in again; your entries wait on the phone until then.")
    return None


@bp.after_request
def no_store(response):
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def _store():
    return current_app.extensions["photo_store"]


class ApiError(Exception):
    """An answer other than success; raised anywhere in a route, answered as JSON."""

    def __init__(
        self, status: int, message: str, code: str | None = None, fields: dict | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.code, self.fields = status, message, code, fields


NOT_FOUND = "Not found."


@bp.errorhandler(ApiError)
def api_error(error: ApiError):
    return json_error(error.status, error.message, code=error.code, fields=error.fields)


@bp.errorhandler(Invalid)
def invalid_input(invalid: Invalid):
    return json_error(422, "Some fields are not valid.", fields=invalid.fields)


@bp.errorhandler(records.UuidTaken)
def someone_elses_uuid(_: records.UuidTaken):
    # Another user's UUID: the same answer as a UUID that does not exist.
    return json_error(404, NOT_FOUND)


@bp.errorhandler(imaging.ImageRejected)
def rejected_photo(rejected: imaging.ImageRejected):
    message = str(rejected)
    return json_error(rejected.status, message, code=rejected.code, fields={"file": message})


def _json_body():
    if not request.is_json:
        raise ApiError(415, "Send JSON with Content-Type: application/json.")
    try:
        payload = request.get_json(silent=True)
    except RecursionError:
        # json.loads gives up on deep nesting (100,000 "[") with RecursionError, not ValueError,
        # which get_json(silent=True) does not catch.
        payload = None
    if payload is None:
        raise ApiError(400, "The body is not valid JSON.", code="malformed_json")
    return payload


def _uuid(raw: str) -> str:
    try:
        return parse_uuid(raw)
    except Invalid:
        raise ApiError(404, NOT_FOUND) from None


def _owned(model, raw_id: str, *, include_deleted: bool = False):
    row = records.owned(model, current_user, _uuid(raw_id), include_deleted=include_deleted)
    if row is None:
        raise ApiError(404, NOT_FOUND)
    return row


def _timestamp_arg(name: str, status: int, message: str, *, now: datetime) -> datetime | None:
    """A client's edit stamp in the query string, by the rules of the body's `client_updated_at`
    (validation.parse_client_stamp; `now` is the server's clock)."""
    raw = request.args.get(name)
    if not raw:
        return None
    try:
        return parse_client_stamp(raw, now=now, name=name)
    except Invalid as invalid:
        raise ApiError(status, message, fields=invalid.fields) from None


def _calendar() -> SessionCalendar:
    return SessionCalendar([session.date for session in records.live_sessions(current_user)])


# --- Entries -------------------------------------------------------------------------------------


@bp.get("/entries/<entry_id>")
def get_entry(entry_id: str):
    return jsonify(entry_json(_owned(Entry, entry_id), _calendar()))


@bp.put("/entries/<entry_id>")
def put_entry(entry_id: str):
    entry_uuid = _uuid(entry_id)
    data = parse_entry(
        _json_body(), latest_date=records.latest_allowed_date(), now=datetime.now(UTC)
    )
    try:
        result = records.save_entry(current_user, entry_uuid, data)
    except records.DateTaken as taken:
        response = json_error(
            409,
            f"There is already an entry for {taken.existing.date.isoformat()}.",
            code="date_taken",
            fields={"date": "an entry exists for this date"},
        )
        body = response.get_json()
        body["error"]["existing_id"] = taken.existing.uuid
        body["existing"] = entry_json(taken.existing, _calendar())
        response.set_data(jsonify(body).get_data())
        return response
    return jsonify(entry_json(result.row, _calendar())), 201 if result.created else 200


@bp.delete("/entries/<entry_id>")
def delete_entry(entry_id: str):
    return _delete(Entry, entry_id)


# --- Treatment sessions --------------------------------------------------------------------------


@bp.get("/sessions/<session_id>")
def get_session(session_id: str):
    return jsonify(session_json(_owned(TreatmentSession, session_id)))


@bp.put("/sessions/<session_id>")
def put_session(session_id: str):
    session_uuid = _uuid(session_id)
    data = parse_session(
        _json_body(), latest_date=records.latest_allowed_date(), now=datetime.now(UTC)
    )
    result = records.save_session(current_user, session_uuid, data)
    return jsonify(session_json(result.row)), 201 if result.created else 200


@bp.delete("/sessions/<session_id>")
def delete_session(session_id: str):
    return _delete(TreatmentSession, session_id)


def _delete(model, raw_id: str):
    row = _owned(model, raw_id, include_deleted=True)
    stamp = _timestamp_arg(
        "client_updated_at", 422, "Some fields are not valid.", now=datetime.now(UTC)
    )
    records.delete_row(row, _store(), stamp)
    body = entry_json(row, _calendar()) if isinstance(row, Entry) else session_json(row)
    return jsonify(body)


# --- Photos --------------------------------------------------------------------------------------


@bp.put("/entries/<entry_id>/photos/<photo_id>")
def put_photo(entry_id: str, photo_id: str):
    photo_uuid = _uuid(photo_id)
    entry = records.owned(Entry, current_user, _uuid(entry_id))
    if entry is None:
        raise ApiError(404, "No such entry: sync the entry before its photos.")
    upload = request.files.get("file")
    if upload is None:
        raise ApiError(422, "Send the photo as multipart field 'file'.", fields={"file": "missing"})
    area = parse_area(request.form.get("area"))
    data = upload.stream.read(imaging.MAX_UPLOAD_BYTES + 1)
    try:
        photo, created = records.add_photo(current_user, entry, photo_uuid, area, data, _store())
    except records.TooManyPhotos:
        raise ApiError(409, "An entry holds at most 6 photos.", code="too_many_photos") from None
    if created:
        carry_region_to(photo, _store())
    return jsonify(photo_json(photo)), 201 if created else 200


@bp.delete("/entries/<entry_id>/photos/<photo_id>")
def delete_photo(entry_id: str, photo_id: str):
    photo = _owned(Photo, photo_id, include_deleted=True)
    if photo.entry.uuid != entry_id.lower():
        raise ApiError(404, NOT_FOUND)
    records.delete_photo(photo, _store())
    return jsonify(photo_json(photo))


@bp.get("/photos/<photo_uuid>/<rendition>.jpg")
def photo_bytes(photo_uuid: str, rendition: str):
    if rendition not in RENDITIONS:
        raise ApiError(404, NOT_FOUND)
    return photo_response(_store(), _owned(Photo, photo_uuid), rendition)


# --- Changes for a second device -----------------------------------------------------------------


@bp.get("/changes")
def changes():
    """Everything changed after `since`, the cursor of the previous answer (records.changes_since).

    The cursor is a number of the patient's change sequence: it follows writes in commit order,
    so following it never skips a row, whatever the clocks of the phones or the servers say.
    """
    since = _cursor_arg()
    page = records.changes_since(current_user, since, CHANGES_PAGE_SIZE)
    calendar = _calendar()
    return jsonify(
        sessions=[session_json(row) for row in page.sessions],
        entries=[entry_json(row, calendar) for row in page.entries],
        photos=[photo_json(row, with_entry=True) for row in page.photos],
        cursor=str(page.cursor),
        more=page.more,
    )


def _cursor_arg() -> int:
    raw = request.args.get("since", "")
    if not raw:
        return 0
    # Digits only, and few enough to be a change number (a BIGINT on PostgreSQL).
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 18):
        raise ApiError(
            400, "since must be a cursor from a previous answer.", fields={"since": "invalid"}
        )
    return int(raw)
