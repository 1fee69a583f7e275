"""Reminder settings, the device list and the push subscription API (docs/api.md).

The account page's forms post here and come back to it; they work without JavaScript. The API
under /api/v1 is what the page's "Remind me on this device" button calls once the browser has a
push subscription: JSON in and out, the CSRF token in the X-CSRFToken header, errors as
errors.json_error, 401 (not a redirect) when logged out, and another patient's device is 404.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import abort, current_app, flash, jsonify, redirect, request, url_for
from flask_login import current_user, login_required

from .. import templating
from ..errors import json_error
from ..serializers import push_subscription_json
from ..validation import Invalid
from . import bp, service, subscriptions
from .account import account_view
from .forms import ReminderSettingsForm

API = "/api/v1"


# --- The account page's forms --------------------------------------------------------------------


@bp.post("/account/reminders")
@login_required
def update_reminders():
    form = ReminderSettingsForm()
    if not form.validate_on_submit():
        # The whole account page again, the section showing what is wrong. Auth owns the page,
        # and its routes import this package (account_view), hence the import here.
        from ..auth import routes as auth_pages

        return auth_pages._account_page(reminders=account_view(current_user, form), status=422)
    service.update_settings(
        current_user,
        daily_enabled=form.daily_enabled.data,
        remind_at=form.remind_at.data,
        photo_days_enabled=form.photo_days_enabled.data,
        session_due_enabled=form.session_due_enabled.data,
    )
    flash("Your reminder settings are saved.", "success")
    return redirect(url_for("auth.account"))


@bp.post("/account/reminders/devices/<int:subscription_id>/remove")
@login_required
def remove_device(subscription_id: int):
    if not subscriptions.remove(current_user, subscription_id):
        abort(404)
    flash("That device will not be reminded any more.", "success")
    return redirect(url_for("auth.account"))


# --- The subscription API ------------------------------------------------------------------------


def _api_login_required(view: Callable) -> Callable:
    """login_required for JSON: a 401 the page's script can read, not a redirect to a form."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if current_user.is_authenticated:
            response = current_app.make_response(view(*args, **kwargs))
        else:
            response = json_error(401, "Please log in again.")
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    return wrapper


@bp.get(f"{API}/push/key")
@_api_login_required
def push_key():
    """The VAPID public key, as pushManager.subscribe's applicationServerKey."""
    config = current_app.config
    return jsonify(
        key=subscriptions.server_key(config["VAPID_PRIVATE_KEY"], current_app.instance_path)
    )


@bp.get(f"{API}/push-subscriptions")
@_api_login_required
def list_push_subscriptions():
    devices = subscriptions.subscriptions_of(current_user)
    return jsonify(subscriptions=[push_subscription_json(device) for device in devices])


@bp.post(f"{API}/push-subscriptions")
@_api_login_required
def create_push_subscription():
    if not request.is_json:
        return json_error(415, "Send JSON with Content-Type: application/json.")
    try:
        payload = request.get_json(silent=True)
    except RecursionError:  # deep nesting: json gives up with this, which silent=True lets by
        payload = None
    if payload is None:
        return json_error(400, "The body is not valid JSON.", code="malformed_json")
    try:
        data = subscriptions.parse_subscription(
            payload, allow_loopback=current_app.config["PUSH_ALLOW_LOOPBACK"]
        )
    except Invalid as invalid:
        return json_error(422, "Some fields are not valid.", fields=invalid.fields)
    try:
        row, created = subscriptions.subscribe(
            current_user, data, templating.coarse_device(request.user_agent.string)
        )
    except subscriptions.TooManyDevices:
        return json_error(
            409,
            f"You are reminded on {subscriptions.MAX_DEVICES} devices already: "
            "remove one on your account page first.",
            code="too_many_devices",
        )
    return jsonify(push_subscription_json(row)), 201 if created else 200


@bp.delete(f"{API}/push-subscriptions/<int:subscription_id>")
@_api_login_required
def delete_push_subscription(subscription_id: int):
    if not subscriptions.remove(current_user, subscription_id):
        return json_error(404, "Not found.")
    return "", 204
