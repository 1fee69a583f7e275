"""HTTP responses shared by blueprints: streaming a stored photo."""

from __future__ import annotations

from flask import Response, abort, request, stream_with_context

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
