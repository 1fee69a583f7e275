"""The patient's data, theirs to take away: GET /account/export.zip (the whole account, a ZIP
streamed as it is made; docs/export.md)."""

from __future__ import annotations

from flask import Response, current_app, stream_with_context
from flask_login import current_user, login_required

from ..extensions import limiter
from . import bp, export

# An export reads every photo of the account: a few a minute is plenty for a patient, and keeps
# a stuck client's retries from tying up the workers.
EXPORT_LIMIT = "6 per minute"


@bp.get("/account/export.zip")
@login_required
@limiter.limit(EXPORT_LIMIT)
def export_zip():
    user = current_user._get_current_object()
    filename, chunks = export.export_archive(user, current_app.extensions["photo_store"])
    # The rows are read while the answer streams, in this request's database session.
    response = Response(stream_with_context(chunks), mimetype="application/zip")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response
