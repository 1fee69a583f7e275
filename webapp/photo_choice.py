"""Which photos the timeline shows: a short strip per area, and the pair compared by default.

Plain data in, plain data out; no Flask here. The pairing rule is one for the timeline page, the
compare view and the shared view and PDF.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from datetime import date
from typing import NamedTuple

from .progress import MATCHED_DAY, Alignment

# The photo strip shows, per cycle, the photo nearest each of these days; the rest are a tap away.
KEY_DAYS = (0, 3, 7, 14, 28)


class PhotoItem(NamedTuple):
    """A photo as the timeline shows it: plain data, so any view can give it its own URLs.
    (A named tuple: a two-year history has thousands, and these are cheap to make.)"""

    uuid: str
    area: str
    date: date
    session_number: int | None
    days_since_session: int | None
    width: int
    height: int
    storage_key: str  # where its renditions are (the PDF report reads the compared pair's images)
    lab_a: float | None = None  # the measured colour the views show (the region page reads
    ita_deg: float | None = None  # the photo itself for L*, b* and the region)

    @property
    def alignment(self) -> Alignment:
        return Alignment(self.session_number, self.days_since_session)

    @property
    def short_label(self) -> str:
        """'day 3' after a session, 'before' the first one."""
        return "before" if self.session_number is None else f"day {self.days_since_session}"

    def rendition_key(self, rendition: str) -> str:
        return f"{self.storage_key}/{rendition}.jpg"


def key_photos(items: Sequence[PhotoItem], key_days: Sequence[int] = KEY_DAYS) -> list[PhotoItem]:
    """A short chronological strip: the last photo before the first session (the baseline), then
    per session the photo nearest each key day. `items` are one area's photos, oldest first."""
    chosen: dict[str, PhotoItem] = {}
    baseline = [item for item in items if item.session_number is None]
    if baseline:
        chosen[baseline[-1].uuid] = baseline[-1]
    by_session: dict[int, dict[int, PhotoItem]] = {}
    for item in items:
        if item.session_number is not None and item.days_since_session is not None:
            # The first photo of each day (items are oldest first).
            by_session.setdefault(item.session_number, {}).setdefault(item.days_since_session, item)
    for by_day in by_session.values():
        days = sorted(by_day)
        for target in key_days:
            index = bisect.bisect_left(days, target)
            near = [days[i] for i in (index - 1, index) if 0 <= i < len(days)]
            best = min(near, key=lambda day: (abs(day - target), day))
            chosen.setdefault(by_day[best].uuid, by_day[best])
    return sorted(chosen.values(), key=lambda item: (item.date, item.uuid))


def default_pair(items: Sequence[PhotoItem]) -> tuple[PhotoItem, PhotoItem] | None:
    """Two photos of one area to compare: after the first and after the latest session, at the
    same day offset (the shared day nearest MATCHED_DAY) when both cycles have one, else the
    closest days available. With one session only: its first and its latest photo."""
    sessions = sorted({item.session_number for item in items if item.session_number})
    if not sessions:
        return (items[0], items[-1]) if len(items) >= 2 else None
    first = {i.days_since_session: i for i in items if i.session_number == sessions[0]}
    latest = {i.days_since_session: i for i in items if i.session_number == sessions[-1]}
    if len(sessions) == 1:
        before = [item for item in items if item.session_number is None]
        days = sorted(first)
        if before:
            return before[-1], first[days[-1]]
        return (first[days[0]], first[days[-1]]) if len(days) >= 2 else None
    common = set(first) & set(latest)
    if common:
        day = min(common, key=lambda offset: (abs((offset or 0) - MATCHED_DAY), -(offset or 0)))
        return first[day], latest[day]
    first_day = min(first, key=lambda offset: abs((offset or 0) - MATCHED_DAY))
    latest_day = min(latest, key=lambda offset: abs((offset or 0) - (first_day or 0)))
    return first[first_day], latest[latest_day]
