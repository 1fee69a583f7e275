"""Timeline maths: which session an entry belongs to, and how many days after it.

An entry belongs to the latest session on or before its date; an entry on a session's day is day 0;
entries before the first session are baseline (no session). Derived every time from the live
sessions, so deleting or moving a session re-aligns its entries. No Flask here.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Alignment:
    session_number: int | None  # 1-based, in date order; None before the first session
    days_since_session: int | None

    @property
    def label(self) -> str:
        if self.session_number is None:
            return "Before first session"
        return f"Day {self.days_since_session} after session {self.session_number}"


class SessionCalendar:
    """The dates of a patient's live sessions, for aligning many entries cheaply."""

    def __init__(self, session_dates: Sequence[date]) -> None:
        self.dates = sorted(session_dates)

    def align(self, entry_date: date) -> Alignment:
        index = bisect.bisect_right(self.dates, entry_date)
        if index == 0:
            return Alignment(None, None)
        session_date = self.dates[index - 1]
        return Alignment(index, (entry_date - session_date).days)

    def number_of(self, session_date: date) -> int:
        """1-based number of the session held on `session_date` (first of that day)."""
        return bisect.bisect_left(self.dates, session_date) + 1
