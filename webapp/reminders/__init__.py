"""Reminders that bring the patient back to log: their settings, Web Push subscriptions (one per
device), the sender that `flask reminders send` and `make run` drive, and the private calendar
feed (.ics) for browsers without push."""

from flask import Blueprint

bp = Blueprint("reminders", __name__)

from . import calendar_routes, routes  # noqa: E402, F401  (routes register themselves on bp)
