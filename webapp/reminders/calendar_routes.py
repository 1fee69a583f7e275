"""The private calendar address: made and shown once, revoked, and the public feed it serves.

GET /calendar/<token>.ics needs no login (calendar apps fetch it on their own). It answers 404 for
an unknown, replaced or revoked token alike, so nothing tells an address ever existed, and the
answer is never kept by a cache nor sent on as a referrer. Only misses count towards the rate
limit: a calendar app fetching a live address every few minutes is not guessing.
"""

from __future__ import annotations

from flask import Response, abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from ..extensions import limiter
from . import bp, feeds

# Guessing a 256-bit token is pointless, but cheap to slow down, per client address.
GUESS_LIMIT = "20 per minute"
FILENAME = "skinlog-reminders.ics"


def _misses_only(response: Response) -> bool:
    return bool(g.get("calendar_token_missed"))


@bp.post("/account/calendar-address")
@login_required
def create_calendar_feed():
    token = feeds.create_feed(current_user)
    url = url_for("reminders.calendar_feed", token=token, _external=True)
    # Shown once: the token is not stored, so this page is the only place it appears.
    response = Response(
        render_template(
            "reminders/calendar_created.html",
            url=url,
            webcal_url="webcal://" + url.split("://", 1)[1],
        )
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.post("/account/calendar-address/revoke")
@login_required
def revoke_calendar_feed():
    if feeds.revoke_feed(current_user):
        flash("Your calendar address no longer works. Remove the calendar from your app.", "info")
    else:
        flash("You had no calendar address.", "info")
    return redirect(url_for("auth.account"))


@bp.get("/calendar/<token>.ics")
@limiter.limit(GUESS_LIMIT, deduct_when=_misses_only)
def calendar_feed(token: str):
    feed = feeds.feed_for_token(token)
    if feed is None:
        g.calendar_token_missed = True  # counted by GUESS_LIMIT
        abort(404)
    body = feeds.calendar_of(feed, log_url=url_for("diary.log_entry", _external=True))
    response = Response(body, content_type="text/calendar; charset=utf-8")
    response.headers["Content-Disposition"] = f'inline; filename="{FILENAME}"'
    return response


@bp.after_request
def calendar_feed_headers(response: Response) -> Response:
    """The feed's answers, found or not: private, never cached, no referrer, not indexed."""
    if request.endpoint == "reminders.calendar_feed":
        response.headers["Cache-Control"] = "private, no-store"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response
