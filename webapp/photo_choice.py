"""Which photos the timeline shows: a short strip per area, and the pair compared by default;
and which photos are measured: their marks go into the curves only when the photo is good enough.

Plain data in, plain data out; no Flask here. The pairing rule is one for the timeline page, the
compare view and the shared view and PDF.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any, NamedTuple

from .progress import MARK_METRICS, MATCHED_DAY, Alignment

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
    lab_a: float | None = None  # the central mean colour (the compare captions; the region page
    ita_deg: float | None = None  # reads the photo itself for L*, b* and the region)
    # As stored and as the API returns them (serializers.photo_json); None for older photos.
    quality: Mapping[str, Any] | None = None  # {"verdict", "reasons", ...}
    marks: Mapping[str, Any] | None = None  # {"delta_a", "red_area", "delta_l", ...}
    # {"reference", "matrix", "score", "aligned"}: the photo laid onto its area's reference.
    # (Not `alignment`: that is its place in the series, below.)
    image_alignment: Mapping[str, Any] | None = None

    @property
    def alignment(self) -> Alignment:
        return Alignment(self.session_number, self.days_since_session)

    @property
    def short_label(self) -> str:
        """'day 3' after a session, 'before' the first one."""
        return "before" if self.session_number is None else f"day {self.days_since_session}"

    def rendition_key(self, rendition: str) -> str:
        return f"{self.storage_key}/{rendition}.jpg"

    @property
    def quality_label(self) -> str | None:
        """'Good', 'Fair' or 'Poor': the badge's words (never colour alone); None unmeasured."""
        verdict = self.quality.get("verdict") if self.quality else None
        return verdict.capitalize() if isinstance(verdict, str) and verdict else None

    @property
    def quality_note(self) -> str | None:
        """The badge's accessible text: 'Fair quality: Too dark, Blurred'."""
        label = self.quality_label
        if label is None:
            return None
        reasons = [str(reason) for reason in (self.quality or {}).get("reasons") or ()]
        return f"{label} quality" + (f": {', '.join(reasons)}" if reasons else "")

    def counts(self, *, include_poor: bool = False) -> bool:
        """Whether this photo's marks go into the measured curves (counts_for_measure)."""
        return counts_for_measure(
            self.quality, self.image_alignment, self.marks, include_poor=include_poor
        )


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


# --- Which photos are measured ------------------------------------------------------------------

# The marks' areas are fractions of the skin; the curves show them as percentages.
_PERCENT = frozenset({"red_area", "dark_area"})


def counts_for_measure(
    quality: Mapping[str, Any] | None,
    alignment: Mapping[str, Any] | None,
    marks: Mapping[str, Any] | None,
    *,
    include_poor: bool = False,
) -> bool:
    """Whether a photo's marks go into the measured curves: it has marks measured on some skin
    (none found: its 0% would read as clear skin), its quality is not "poor" (unless the patient
    asks for those too) and it was not found unaligned. Photos stored before quality or alignment
    were measured (None) count: nothing says they are worse."""
    if marks is None or marks.get("skin_fraction") == 0:
        return False
    if not include_poor and quality is not None and quality.get("verdict") == "poor":
        return False
    return alignment is None or alignment.get("aligned") is not False


def daily_marks(photos: Iterable[tuple[date, Mapping[str, Any]]]) -> dict[date, dict[str, float]]:
    """Each day's MARK_METRICS: the mean over that day's photos (`(date, marks)` of the photos
    that count) of each value they have, areas in % of the skin. A photo with no red mark has
    no Δa* but a red area of 0, so a day's Δa* is the mean over the photos that found some."""
    sums: dict[date, dict[str, list[float]]] = {}
    for day, marks in photos:
        totals = sums.setdefault(day, {})
        for key in MARK_METRICS:
            value = marks.get(key)
            if value is not None:
                total = totals.setdefault(key, [0.0, 0])
                total[0] += float(value) * (100 if key in _PERCENT else 1)
                total[1] += 1
    return {
        day: {key: total / count for key, (total, count) in totals.items()}
        for day, totals in sums.items()
    }
