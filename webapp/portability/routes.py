"""The patient's data, theirs to take away: GET /account/export.zip (the whole account, a ZIP
streamed as it is made) and POST /account/import (such a ZIP merged into this account);
docs/export.md describes both."""

from __future__ import annotations

from flask import (
    Response,
    current_app,
    g,
    render_template,
    request,
    stream_with_context,
)
from flask_login import current_user, login_required

from ..extensions import limiter
from . import archive, bp, export, importer

# An export reads every photo of the account: a few a minute is plenty for a patient, and keeps
# a stuck client's retries from tying up the workers. An import ingests every photo again.
EXPORT_LIMIT = "6 per minute"
IMPORT_LIMIT = "10 per hour"
NO_FILE = "Choose the ZIP file that 'Download all my data' saved, then import it."


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


@bp.post("/account/import")
@login_required
@limiter.limit(IMPORT_LIMIT)
def import_data():
    # An export of a long history is far above the app's usual upload limit (a few photos);
    # the archive's own limits (archive.Limits) bound what it may inflate to.
    request.max_content_length = archive.Limits().max_total_bytes
    upload = request.files.get("archive")
    if upload is None or not upload.filename:
        return _refused(NO_FILE)
    user = current_user._get_current_object()
    try:
        report = importer.import_archive(user, upload.stream, current_app.extensions["photo_store"])
    except importer.ImportRefused as refused:
        return _refused(str(refused))
    return render_template("portability/imported.html", report=report)


@bp.app_context_processor
def _import_error() -> dict[str, str | None]:
    """The refused import's message, for the account page's import form (_import.html)."""
    return {"import_error": g.get("import_error")}


def _refused(message: str):
    """The account page again, its import form saying why nothing was imported (422). The page
    is the auth blueprint's own view, so that its forms and lists are made in one place."""
    g.import_error = message
    page, _status = current_app.view_functions["auth.account"]()
    return page, 422
