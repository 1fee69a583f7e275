"""HTTP responses shared by blueprints: streaming a stored photo."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from flask import Response, abort, request, stream_with_context, url_for

from . import imaging
from .models import Photo
from .storage import PhotoStore

RENDITIONS = ("full", "display", "thumb")


def photo_response(store: PhotoStore, photo: Photo, rendition: str) -> Response:
    """Stream a photo's bytes; private to this browser, never sniffed as anything but JPEG."""
    key = photo.rendition_key(rendition)
    try:
        size = store.size(key)
        chunks = store.open(key)
    except KeyError:
        abort(404)
    response = Response(stream_with_context(chunks), mimetype=imaging.CONTENT_TYPE)
    response.headers["Content-Length"] = str(size)
    response.headers["Cache-Control"] = "private, max-age=86400"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Disposition"] = "inline"
    # Photos are immutable under their id: the sha256 of the full image is a strong validator.
    response.set_etag(f"{photo.sha256[:32]}-{rendition}")
    return response.make_conditional(request)


def photo_url_template(endpoint: str, **values: str) -> str:
    """The URL of `endpoint` for any photo, with "{id}" and "{rendition}" standing in for them."""
    template = url_for(endpoint, photo_uuid="0photo0", rendition="0rendition0", **values)
    return template.replace("0photo0", "{id}").replace("0rendition0", "{rendition}")


def photo_url_builder(endpoint: str, **values: str) -> Callable[[object, str], str]:
    """photo_url(photo, rendition) for `endpoint`: url_for once, then string replacement, since
    a timeline page links hundreds of photos."""
    template = photo_url_template(endpoint, **values)

    def photo_url(photo, rendition: str) -> str:
        return template.replace("{id}", photo.uuid).replace("{rendition}", rendition)

    return photo_url


def date_arg(name: str) -> date | None:
    """A date from the query string, or None when absent or malformed."""
    try:
        return date.fromisoformat(request.args.get(name) or "")
    except ValueError:
        return None
