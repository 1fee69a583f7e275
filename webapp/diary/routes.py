"""The patient's pages: today, the daily log form, entries, treatment sessions, photos.

Plain HTML forms that work without JavaScript; the offline client (static/js) posts the same data
through the API instead. Thin: parse, authorise, call `validation` / `records`, render.
"""

from __future__ import annotations

import uuid
from datetime import date

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from .. import imaging, records
from ..auth.forms import ConfirmForm
from ..models import Entry, Photo, TreatmentSession
from ..progress import SessionCalendar
from ..responses import RENDITIONS, photo_response
from ..serializers import entry_json, session_json
from ..timeline.region import carry_region_to
from ..validation import Invalid, parse_area, parse_entry, parse_session
from ..vocabulary import MAX_PHOTOS_PER_ENTRY, RED_FLAG_ADVICE, tracks_pie, tracks_pih
from . import bp
from .form_fields import entry_payload, form_values_from_entry, session_payload
from .phone_copy import phone_copy
from .usual import last_entry_before, last_photo_by_area, usual_areas

# Photo slots on the form start with the areas patients photograph most.
SLOT_AREAS = ("front", "left_cheek", "right_cheek", "forehead", "chin", "other")


@bp.before_request
@login_required
def require_login():
    """Every diary page belongs to a logged-in patient."""


def _store():
    return current_app.extensions["photo_store"]


def _calendar() -> SessionCalendar:
    return SessionCalendar([session.date for session in records.live_sessions(current_user)])


@bp.get("/")
def today():
    today_date = records.user_today(current_user)
    sessions = records.live_sessions(current_user)
    calendar = SessionCalendar([session.date for session in sessions])
    return render_template(
        "diary/today.html",
        today=today_date,
        alignment=calendar.align(today_date),
        todays_entry=records.entry_on(current_user, today_date),
        recent_entries=records.entries_with_photos(current_user)[:5],
        calendar=calendar,
        session_count=len(sessions),
    )


# --- Daily entries -------------------------------------------------------------------------------


@bp.route("/log", methods=["GET", "POST"])
def log_entry():
    """Log a day. Logging again for a day edits that day's entry."""
    today_date = records.user_today(current_user)
    if request.method == "POST":
        return _save_entry_from_form(today_date)
    chosen = _date_arg(request.args.get("date"), default=today_date)
    if chosen > today_date:
        flash("You can only log today or earlier.", "error")
        chosen = today_date
    # ?shell=1 is the blank form the service worker keeps for logging offline (any date). It
    # carries the phone's copy of the last month, so a day that has an entry opens with it.
    shell = bool(request.args.get("shell"))
    entry = None if shell else records.entry_on(current_user, chosen)
    values = form_values_from_entry(entry_json(entry)) if entry else {"date": chosen.isoformat()}
    # ?same=last: "Same as yesterday" without JavaScript, the last entry's ratings and aftercare.
    last = last_entry_before(current_user, chosen) if entry is None else None
    if last and request.args.get("same") == "last":
        values.update(last["values"])
    copy = phone_copy(current_user, today=today_date) if shell else None
    return _render_entry_form(entry, values, {}, today_date, copy=copy)


def _save_entry_from_form(today_date: date):
    payload = entry_payload(request.form)
    try:
        existing = records.entry_on(current_user, date.fromisoformat(payload["date"]))
    except ValueError:
        existing = None
    # The entry the form was opened with ("new" for none). A form opened for one day whose date
    # was changed to a day holding another entry would replace that entry's ratings and note:
    # show that entry instead. (Forms cached before this field existed do not send it.)
    loaded = request.form.get("loaded_entry")
    if existing is not None and loaded is not None and loaded != existing.uuid:
        flash(
            f"Nothing was saved: you already have an entry for {existing.date:%d %b %Y}, shown "
            "below. Make your changes to it and save again.",
            "error",
        )
        values = form_values_from_entry(entry_json(existing))
        return _render_entry_form(existing, values, {}, today_date, status=409)
    try:
        data = parse_entry(payload, latest_date=today_date)
    except Invalid as invalid:
        values = dict(payload, **payload["ratings"])
        entry = existing if "date" not in invalid.fields else None
        return _render_entry_form(entry, values, invalid.fields, today_date, status=422)
    entry_uuid = existing.uuid if existing else str(uuid.uuid4())
    entry = records.save_entry(current_user, entry_uuid, data).row
    photo_errors = _apply_photo_changes(entry)
    if photo_errors:
        status = max(code for _, code in photo_errors)
        values = form_values_from_entry(entry_json(entry))
        errors = {"photos": " ".join(message for message, _ in photo_errors)}
        flash("Your entry was saved, but some photos were not: see below.", "error")
        return _render_entry_form(entry, values, errors, today_date, status=status)
    if entry.red_flags:
        flash(RED_FLAG_ADVICE, "warning")
    else:
        flash("Saved.", "success")
    return redirect(url_for("diary.entry_detail", entry_uuid=entry.uuid))


def _apply_photo_changes(entry: Entry) -> list[tuple[str, int]]:
    """Remove ticked photos, then add uploaded ones. Returns (message, status) per failure."""
    errors: list[tuple[str, int]] = []
    remove = set(request.form.getlist("remove_photo"))
    for photo in list(entry.photos):
        if photo.uuid in remove:
            records.delete_photo(photo, _store())
    for slot in range(1, MAX_PHOTOS_PER_ENTRY + 1):
        upload = request.files.get(f"photo_{slot}")
        if upload is None or not upload.filename:
            continue
        label = f"Photo {slot}"
        try:
            area = parse_area(request.form.get(f"photo_{slot}_area"))
            data = upload.stream.read(imaging.MAX_UPLOAD_BYTES + 1)
            photo, _ = records.add_photo(
                current_user, entry, str(uuid.uuid4()), area, data, _store()
            )
            carry_region_to(photo, _store())
        except Invalid:
            errors.append((f"{label}: choose which area it shows.", 422))
        except imaging.ImageRejected as rejected:
            errors.append((f"{label} ({upload.filename}): {rejected}", rejected.status))
        except records.TooManyPhotos:
            errors.append((f"{label}: an entry holds at most {MAX_PHOTOS_PER_ENTRY} photos.", 422))
    return errors


def _render_entry_form(entry, values, errors, today_date, status=200, copy=None):
    alignment = None
    shown = None
    calendar = _calendar()
    if values.get("date"):
        try:
            shown = date.fromisoformat(values["date"])
            alignment = calendar.align(shown)
        except ValueError:
            alignment = None
    free_slots = MAX_PHOTOS_PER_ENTRY - (len(entry.photos) if entry else 0)
    areas = usual_areas(current_user, SLOT_AREAS)
    last = last_entry_before(current_user, shown) if shown and entry is None else None
    # The camera's ghost: each area's last photo, as its display rendition (static/js/camera).
    ghosts = {
        area: url_for("diary.photo", photo_uuid=photo_uuid, rendition="display")
        for area, photo_uuid in last_photo_by_area(current_user).items()
    }
    return render_template(
        "diary/log.html",
        entry=entry,
        values=values,
        errors=errors,
        today=today_date,
        alignment=alignment,
        ask_pie=tracks_pie(current_user.track),
        ask_pih=tracks_pih(current_user.track),
        photo_slots=[(slot, areas[(slot - 1) % len(areas)]) for slot in range(1, free_slots + 1)],
        phone_copy=copy,
        last_entry=last,
        session_dates=[day.isoformat() for day in calendar.dates],
        ghosts=ghosts,
    ), status


@bp.get("/entries")
def entries():
    all_entries = records.entries_with_photos(current_user)
    return render_template("diary/entries.html", entries=all_entries, calendar=_calendar())


@bp.get("/entries/<entry_uuid>")
def entry_detail(entry_uuid: str):
    entry = _owned_or_404(Entry, entry_uuid)
    return render_template(
        "diary/entry.html",
        entry=entry,
        alignment=_calendar().align(entry.date),
        confirm_form=ConfirmForm(),
    )


@bp.post("/entries/<entry_uuid>/delete")
def delete_entry(entry_uuid: str):
    entry = _owned_or_404(Entry, entry_uuid)
    if ConfirmForm().validate_on_submit():
        records.delete_row(entry, _store())
        flash(f"The entry for {entry.date:%d %b %Y} was deleted.", "info")
    return redirect(url_for("diary.entries"))


# --- Treatment sessions --------------------------------------------------------------------------


@bp.get("/sessions")
def sessions():
    return render_template(
        "diary/sessions.html", sessions=list(reversed(records.live_sessions(current_user)))
    )


@bp.route("/sessions/new", methods=["GET", "POST"])
def new_session():
    return _session_form(None)


@bp.route("/sessions/<session_uuid>/edit", methods=["GET", "POST"])
def edit_session(session_uuid: str):
    return _session_form(_owned_or_404(TreatmentSession, session_uuid))


def _session_form(session: TreatmentSession | None):
    today_date = records.user_today(current_user)
    if request.method == "GET":
        values = (
            session_json(session)
            if session
            else {"date": today_date.isoformat(), "setting": "clinic", "needle_depth_mm": 0.5}
        )
        return render_template(
            "diary/session_form.html", session=session, values=values, errors={}, today=today_date
        )
    payload = session_payload(request.form)
    try:
        data = parse_session(payload, latest_date=today_date)
    except Invalid as invalid:
        return render_template(
            "diary/session_form.html",
            session=session,
            values=payload,
            errors=invalid.fields,
            today=today_date,
        ), 422
    session_uuid = session.uuid if session else str(uuid.uuid4())
    records.save_session(current_user, session_uuid, data)
    flash("Treatment session saved.", "success")
    return redirect(url_for("diary.sessions"))


@bp.post("/sessions/<session_uuid>/delete")
def delete_session(session_uuid: str):
    session = _owned_or_404(TreatmentSession, session_uuid)
    if ConfirmForm().validate_on_submit():
        records.delete_row(session, _store())
        flash(f"The session of {session.date:%d %b %Y} was deleted.", "info")
    return redirect(url_for("diary.sessions"))


# --- Photos --------------------------------------------------------------------------------------


@bp.get("/photos/<photo_uuid>/<rendition>.jpg")
def photo(photo_uuid: str, rendition: str):
    if rendition not in RENDITIONS:
        abort(404)
    photo = _owned_or_404(Photo, photo_uuid)
    return photo_response(_store(), photo, rendition)


def _owned_or_404(model, row_uuid: str):
    row = records.owned(model, current_user, row_uuid)
    if row is None:
        abort(404)
    return row


def _date_arg(raw: str | None, *, default: date) -> date:
    if not raw:
        return default
    try:
        return date.fromisoformat(raw)
    except ValueError:
        abort(400, "The date must look like 2026-11-20.")
