"""The progress timeline: its pages (routes.py) and the service that reads it (service.py).

Other features (the shared view, the PDF report) import `build_timeline` from here.
"""

from flask import Blueprint

from .service import build_timeline
from .view import Timeline

bp = Blueprint("timeline", __name__)

from . import routes  # noqa: E402, F401  (routes register themselves on bp)

__all__ = ["Timeline", "bp", "build_timeline"]
