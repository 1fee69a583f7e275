"""When a reminder is due: pure date and time maths, no Flask, no database.

Days after a session on which a photo is worth taking (docs/domain.md: the first week shows how a
session heals, day 28 whether the marks fade).
"""

from __future__ import annotations

PHOTO_DAYS: tuple[int, ...] = (1, 3, 7, 14, 28)
