"""Brotli/gzip for text answers (Flask-Compress, configured in config.COMPRESSION).

Flask-Compress swaps a streamed answer's body (a static file) for a compressing generator and so
drops the file's close(): the file stays open until garbage collection. Handing that close() to
the response keeps the file closed as soon as the answer is sent.
"""

from __future__ import annotations

from flask import Flask, Response

from .extensions import compress


def init_app(app: Flask) -> None:
    compress.init_app(app)
    # Registered after Flask-Compress, so it runs before it (Flask runs after_request in reverse).
    app.after_request(_close_the_original_body)


def _close_the_original_body(response: Response) -> Response:
    close = getattr(response.response, "close", None)
    if response.is_streamed and close is not None:
        response.call_on_close(close)
    return response
