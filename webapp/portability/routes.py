"""Routes: filled in by the helper that owns this file."""

from . import bp  # noqa: F401
