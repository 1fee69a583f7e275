"""Share links: the patient's management pages, and the dermatologist's read-only view /s/<token>.

The public view needs no account. It answers 404 for an unknown token, 410 for an expired or
revoked one (page, photos and PDF alike), and never links into the patient's account. Only the
HTML page writes anything: one row in the view log per visit.
"""

from __future__ import annotations

import unicodedata
from urllib.parse import quote

import segno
from flask import (
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from sqlalchemy.orm import selectinload

from ..extensions import db, limiter
from ..models import Entry, Photo, ShareLink, ShareView, TreatmentSession, token_digest, utcnow
from ..progress import SessionCalendar
from ..responses import RENDITIONS, date_arg, photo_response, photo_url_builder
from ..templating import coarse_device
from ..timeline import build_timeline
from ..validation import Invalid
from ..vocabulary import AREAS
from . import bp
from . import links as sharing

# Guessing tokens is pointless (256 bits), but cheap to slow down: only unknown or malformed tokens
# count. A valid link's 404s (a photo deleted since, out of its scope) are not guesses, and counting
# them would lock a clinician out of a link that works.
GUESS_LIMIT = "20 per minute"


def _misses_only(response: Response) -> bool:
    return bool(g.get("share_token_missed"))


# --- The patient's side ---------------------------------------------------------------------------


@bp.get("/share")
@login_required
def links():
    return _links_page(
        {}, {"expires_in_days": str(sharing.DEFAULT_EXPIRY_DAYS), "include_photos": "y"}
    )


def _links_page(errors: dict[str, str], values: dict[str, str], status: int = 200):
    rows = db.session.execute(
        db.select(ShareLink, db.func.count(ShareView.id))
        .outerjoin(ShareView, ShareView.share_link_id == ShareLink.id)
        .where(ShareLink.user_id == current_user.id)
        .group_by(ShareLink.id)
        .order_by(ShareLink.created_at.desc())
    ).all()
    return render_template(
        "share/links.html",
        links=rows,
        errors=errors,
        values=values,
        expiry_choices=sharing.EXPIRY_CHOICES_DAYS,
        now=utcnow(),
    ), status


@bp.post("/share")
@login_required
def create():
    try:
        link_request = sharing.parse_link_request(request.form)
    except Invalid as invalid:
        return _links_page(invalid.fields, request.form.to_dict(), status=422)
    link, token = sharing.create_link(current_user.id, link_request)
    db.session.add(link)
    db.session.commit()
    url = url_for("share.public_view", token=token, _external=True)
    qr_svg = segno.make(url, error="m").svg_inline(scale=5, dark="#1f1a1c", light="#ffffff")
    # Shown once: the token is not stored, so this page is the only place it appears.
    response = Response(render_template("share/created.html", link=link, url=url, qr_svg=qr_svg))
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.get("/share/<int:link_id>")
@login_required
def detail(link_id: int):
    link = _own_link_or_404(link_id)
    return render_template("share/detail.html", link=link, now=utcnow())


@bp.post("/share/<int:link_id>/revoke")
@login_required
def revoke(link_id: int):
    link = _own_link_or_404(link_id)
    if link.revoked_at is None:
        link.revoked_at = utcnow()
        db.session.commit()
    flash(f"The link “{link.label}” no longer works.", "info")
    return redirect(url_for("share.links"))


def _own_link_or_404(link_id: int) -> ShareLink:
    link = db.session.execute(
        db.select(ShareLink).where(ShareLink.id == link_id, ShareLink.user_id == current_user.id)
    ).scalar_one_or_none()
    if link is None:
        abort(404)
    return link


# --- The dermatologist's side ---------------------------------------------------------------------


def _link_for(token: str) -> ShareLink:
    """The live link for this token; 404 if unknown, 410 if expired or revoked."""
    link = None
    if token and len(token) <= 100:
        link = db.session.execute(
            db.select(ShareLink).where(ShareLink.token_hash == token_digest(token))
        ).scalar_one_or_none()
    if link is None:
        g.share_token_missed = True  # counted by GUESS_LIMIT
        abort(404)
    if link.status() != "active":
        abort(_gone(link))
    return link


def _gone(link: ShareLink) -> Response:
    reason = "was revoked by the patient" if link.status() == "revoked" else "has expired"
    response = Response(render_template("share/gone.html", reason=reason), status=410)
    return response


@bp.after_request
def public_view_headers(response: Response) -> Response:
    if request.endpoint and request.endpoint.startswith("share.public"):
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Robots-Tag"] = "noindex, nofollow"
        response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/s/<token>")
@limiter.limit(GUESS_LIMIT, deduct_when=_misses_only)
def public_view(token: str):
    link = _link_for(token)
    _log_visit(link)
    context = shared_content(link)
    timeline = _timeline_for(link)
    area = request.args.get("area") if request.args.get("area") in AREAS else None
    area = area or timeline.measure_area
    left, right = timeline.default_pair(area) or (None, None)
    left = timeline.choose_photo(area, request.args.get("a"), date_arg("a_date")) or left
    right = timeline.choose_photo(area, request.args.get("b"), date_arg("b_date")) or right
    return render_template(
        "share/view.html",
        link=link,
        token=token,
        timeline=timeline,
        photo_url=photo_url_builder("share.public_photo", token=token),
        area=area,
        candidates=timeline.photos_by_area.get(area or "", []),
        left=left,
        right=right,
        **context,
    )


def _timeline_for(link: ShareLink):
    return build_timeline(
        link.user,
        date_from=link.date_from,
        date_to=link.date_to,
        include_photos=link.include_photos,
        metric=request.args.get("metric", "redness"),
        measure_area=request.args.get("area") if request.args.get("area") in AREAS else None,
    )


@bp.get("/s/<token>/photos/<photo_uuid>/<rendition>.jpg")
@limiter.limit(GUESS_LIMIT, deduct_when=_misses_only)
def public_photo(token: str, photo_uuid: str, rendition: str):
    link = _link_for(token)
    if not link.include_photos or rendition not in RENDITIONS:
        abort(404)
    photo = db.session.execute(
        db.select(Photo)
        .join(Entry, Photo.entry_id == Entry.id)
        .where(
            Photo.uuid == photo_uuid,
            Photo.user_id == link.user_id,
            Photo.deleted_at.is_(None),
            Entry.deleted_at.is_(None),
        )
    ).scalar_one_or_none()
    if photo is None or not sharing.in_scope(link, photo.entry.date):
        abort(404)
    response = photo_response(current_app.extensions["photo_store"], photo, rendition)
    return response


@bp.get("/s/<token>/report.pdf")
@limiter.limit(GUESS_LIMIT, deduct_when=_misses_only)
def public_report(token: str):
    from .report import build_report_pdf

    link = _link_for(token)
    context = shared_content(link)
    timeline = _timeline_for(link)
    charts = []
    if timeline.sessions:
        charts = [
            ("Recovery after each session", timeline.recovery_chart("pdf-recovery")),
            ("Across the series", timeline.series_chart("pdf-series")),
        ]
    pdf = build_report_pdf(
        link=link,
        store=current_app.extensions["photo_store"],
        charts=charts,
        summary=" ".join(timeline.summary),
        **context,
    )
    today = utcnow().date().isoformat()
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = _attachment(
        f"Skinlog report - {link.user.display_name} - {today}.pdf"
    )
    return response


def _attachment(filename: str) -> str:
    """A Content-Disposition header value for a download called `filename`, whatever it holds
    (names saved before names were checked may hold line breaks): control characters become
    spaces, the name goes in filename* as UTF-8 (RFC 5987) and an ASCII stand-in in filename."""
    filename = " ".join("".join(c if c.isprintable() else " " for c in filename).split())
    ascii_name = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode()
    ascii_name = ascii_name.replace('"', "'").replace("\\", "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _log_visit(link: ShareLink) -> None:
    """One row per visit: a reload by the same kind of client within the window is not new."""
    client = coarse_device(request.user_agent.string)
    recent = db.session.execute(
        db.select(ShareView.id).where(
            ShareView.share_link_id == link.id,
            ShareView.client == client,
            ShareView.viewed_at > utcnow() - sharing.VISIT_WINDOW,
        )
    ).first()
    if recent is None:
        db.session.add(ShareView(share_link_id=link.id, client=client))
        db.session.commit()


def shared_content(link: ShareLink) -> dict:
    """What a link shows: sessions, entries and photos within its scope."""
    sessions = list(
        db.session.execute(
            db.select(TreatmentSession)
            .where(TreatmentSession.user_id == link.user_id, TreatmentSession.deleted_at.is_(None))
            .order_by(TreatmentSession.date)
        ).scalars()
    )
    query = (
        db.select(Entry)
        .where(Entry.user_id == link.user_id, Entry.deleted_at.is_(None))
        .order_by(Entry.date)
    )
    if link.date_from is not None:
        query = query.where(Entry.date >= link.date_from)
    if link.date_to is not None:
        query = query.where(Entry.date <= link.date_to)
    if link.include_photos:
        query = query.options(selectinload(Entry.photos))
    entries = list(db.session.execute(query).scalars())
    return {
        "patient": link.user,
        "sessions": [s for s in sessions if sharing.in_scope(link, s.date)],
        "calendar": SessionCalendar([s.date for s in sessions]),
        "entries": entries,
    }


@bp.get("/robots.txt")
def robots():
    return Response("User-agent: *\nDisallow: /s/\n", mimetype="text/plain")
