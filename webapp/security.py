"""Security headers on every response, and the login loader that makes logout final."""

from __future__ import annotations

from flask import Flask, Response, current_app, request

from .extensions import db, login_manager
from .models import LoginSession, User, token_digest

# No inline script or style anywhere: every script is a file under static/js.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' blob: data:",
        "connect-src 'self'",
        "worker-src 'self'",
        "manifest-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def init_app(app: Flask) -> None:
    app.after_request(_security_headers)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to see that page."
    login_manager.login_message_category = "info"
    login_manager.user_loader(load_user_for_login)


def load_user_for_login(login_token: str) -> User | None:
    """Flask-Login's loader: the cookie names a login; a deleted login is refused."""
    login = db.session.execute(
        db.select(LoginSession).where(LoginSession.token_hash == token_digest(login_token))
    ).scalar_one_or_none()
    if login is None:
        return None
    user = login.user
    user.current_login_token = login_token
    return user


def _security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers["X-Content-Type-Options"] = "nosniff"
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Permissions-Policy", "geolocation=(), microphone=(), camera=(self)")
    if current_app.config.get("SESSION_COOKIE_SECURE"):
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    # Health data: pages for a logged-in patient are never kept by shared caches.
    if request.endpoint != "static" and "Cache-Control" not in headers:
        headers["Cache-Control"] = "private, no-cache"
    return response
