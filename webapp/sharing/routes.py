"""Share links: the patient's management pages, and the dermatologist's read-only view /s/<token>.

The public view needs no account. It answers 404 for an unknown token, 410 for an expired or
revoked one (page, photos, PDF and FHIR download alike), and never links into the patient's
account. Only the HTML page writes anything: one row in the view log per visit.
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

from ..extensions import limiter
from ..models import ShareLink, utcnow
from ..responses import RENDITIONS, date_arg, photo_response, photo_url_builder
from ..templating import coarse_device
from ..timeline import compare as compare_photos
from ..validation import Invalid
from ..vocabulary import AREAS
from . import bp, export, links, public

# Guessing tokens is pointless (256 bits), but cheap to slow down: only unknown or malformed tokens
# count. A valid link's 404s (a photo deleted since, out of its scope) are not guesses, and counting
# them would lock a clinician out of a link that works.
GUESS_LIMIT = "20 per minute"


def _misses_only(response: Response) -> bool:
    return bool(g.get("share_token_missed"))


# --- The patient's side ---------------------------------------------------------------------------


@bp.get("/share", endpoint="links")
@login_required
def link_list():
    return _links_page(
        {}, {"expires_in_days": str(links.DEFAULT_EXPIRY_DAYS), "include_photos": "y"}
    )


def _links_page(errors: dict[str, str], values: dict[str, str], status: int = 200):
    return render_template(
        "share/links.html",
        links=links.links_with_view_counts(current_user.id),
        errors=errors,
        values=values,
        expiry_choices=links.EXPIRY_CHOICES_DAYS,
        now=utcnow(),
    ), status


@bp.post("/share")
@login_required
def create():
    try:
        link_request = links.parse_link_request(request.form)
    except Invalid as invalid:
        return _links_page(invalid.fields, request.form.to_dict(), status=422)
    link, token = links.create_link(current_user.id, link_request)
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
    links.revoke(link)
    flash(f"The link “{link.label}” no longer works.", "info")
    return redirect(url_for("share.links"))


def _own_link_or_404(link_id: int) -> ShareLink:
    link = links.own_link(current_user.id, link_id)
    if link is None:
        abort(404)
    return link


# --- The dermatologist's side ---------------------------------------------------------------------


def _live_link(token: str) -> ShareLink:
    """The live link for this token; 404 if unknown, 410 if expired or revoked."""
    link = links.link_for_token(token)
    if link is None:
        g.share_token_missed = True  # counted by GUESS_LIMIT
        abort(404)
    if link.status() != "active":
        reason = "was revoked by the patient" if link.status() == "revoked" else "has expired"
        abort(Response(render_template("share/gone.html", reason=reason), status=410))
    return link


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
    link = _live_link(token)
    page = public.visit(link, coarse_device(request.user_agent.string), _picks())
    timeline = page.shared.timeline
    return render_template(
        "share/view.html",
        link=link,
        token=token,
        patient=link.user,
        timeline=timeline,
        sessions=timeline.sessions,
        calendar=timeline.calendar,
        days=page.shared.days,
        photo_url=photo_url_builder("share.public_photo", token=token),
        area=page.area,
        candidates=page.candidates,
        left=page.left,
        right=page.right,
        framing=compare_photos.framing(page.left, page.right),
    )


def _picks() -> public.Picks:
    area = request.args.get("area")
    return public.Picks(
        metric=request.args.get("metric", "redness"),
        area=area if area in AREAS else None,
        a=request.args.get("a"),
        a_date=date_arg("a_date"),
        b=request.args.get("b"),
        b_date=date_arg("b_date"),
    )


@bp.get("/s/<token>/photos/<photo_uuid>/<rendition>.jpg")
@limiter.limit(GUESS_LIMIT, deduct_when=_misses_only)
def public_photo(token: str, photo_uuid: str, rendition: str):
    link = _live_link(token)
    photo = links.shared_photo(link, photo_uuid) if rendition in RENDITIONS else None
    if photo is None:
        abort(404)
    return photo_response(current_app.extensions["photo_store"], photo, rendition)


@bp.get("/s/<token>/report.pdf")
@limiter.limit(GUESS_LIMIT, deduct_when=_misses_only)
def public_report(token: str):
    link = _live_link(token)
    report = public.report(link, current_app.extensions["photo_store"])
    response = Response(report.data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = _attachment(report.filename)
    return response


def _attachment(filename: str) -> str:
    """A Content-Disposition header value for a download called `filename`, whatever it holds
    (names saved before names were checked may hold line breaks): control characters become
    spaces, the name goes in filename* as UTF-8 (RFC 5987) and an ASCII stand-in in filename."""
    filename = " ".join("".join(c if c.isprintable() else " " for c in filename).split())
    ascii_name = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode()
    ascii_name = ascii_name.replace('"', "'").replace("\\", "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


@bp.get("/robots.txt")
def robots():
    return Response("User-agent: *\nDisallow: /s/\nDisallow: /calendar/\n", mimetype="text/plain")


@bp.get("/s/<token>/fhir.json")
@limiter.limit(GUESS_LIMIT, deduct_when=_misses_only)
def public_fhir(token: str):
    """The link's records as a FHIR R5 Bundle, for a clinic's records system."""
    link = _live_link(token)
    download = export.fhir_download(link, current_app.extensions["photo_store"])
    response = Response(download.data, content_type=export.CONTENT_TYPE)
    response.headers["Content-Disposition"] = _attachment(download.filename)
    return response
