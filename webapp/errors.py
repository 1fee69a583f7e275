"""Errors that fit the client: JSON under /api, a plain page everywhere else."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from .extensions import db

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    410: "gone",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "rate_limited",
    500: "server_error",
}


def json_error(
    status: int, message: str, *, code: str | None = None, fields: dict[str, str] | None = None
):
    """The API's one error shape: {"error": {"code", "message", "fields"}}."""
    body = {"error": {"code": code or _CODES.get(status, "error"), "message": message}}
    body["error"]["fields"] = fields or {}
    response = jsonify(body)
    response.status_code = status
    return response


def wants_json() -> bool:
    return request.path.startswith("/api/")


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_failed(error: CSRFError):
        if wants_json():
            return json_error(
                403,
                "The security token is missing or stale: fetch /api/v1/csrf and retry.",
                code="csrf",
            )
        return render_template(
            "error.html",
            status=400,
            title="Please try again",
            message=(
                "The form expired or was sent from elsewhere. "
                "Go back, reload the page and send it again."
            ),
        ), 400

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(error: RequestEntityTooLarge):
        message = "That upload is too large: each photo may be at most 25 MB."
        if wants_json():
            return json_error(413, message)
        return render_template(
            "error.html", status=413, title="Upload too large", message=message
        ), 413

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if error.response is not None:  # abort(Response): the view made its own answer
            return error.response
        status = error.code or 500
        if wants_json():
            return json_error(status, error.description or error.name)
        return render_template(
            "error.html", status=status, title=error.name, message=error.description
        ), status

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception):
        db.session.rollback()
        app.logger.exception("Unhandled error")
        message = (
            "Something went wrong on our side. Nothing you saved before is lost; please try again."
        )
        if wants_json():
            return json_error(500, message)
        return render_template("error.html", status=500, title="Sorry", message=message), 500
