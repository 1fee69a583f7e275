"""The patient's data, theirs to take away: the complete export (a streamed ZIP) and its import
into an account."""

from flask import Blueprint

bp = Blueprint("portability", __name__)

from . import routes  # noqa: E402, F401  (routes register themselves on bp)
