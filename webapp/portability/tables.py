"""The export archive's spreadsheet files and photo names, from data.json's rows (no Flask, no
database): sessions.csv and entries.csv say what data.json says, flattened for a spreadsheet.

A cell a spreadsheet would run as a formula (=, +, -, @, or a tab or carriage return first) is
written with a leading ' so that a note like "=HYPERLINK(...)" is shown, never run (OWASP's CSV
injection advice). Lists are joined with "; ".
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date
from typing import Any

from ..progress import Alignment
from ..vocabulary import RATINGS

SESSION_COLUMNS = (
    "number",
    "id",
    "date",
    "device",
    "needle_depth_mm",
    "areas",
    "topicals",
    "setting",
    "provider",
    "notes",
    "created_at",
    "updated_at",
)
ENTRY_COLUMNS = (
    "id",
    "date",
    "session_number",
    "days_since_session",
    *RATINGS,
    "pie_severity",
    "pih_severity",
    "red_flags",
    "aftercare",
    "notes",
    "created_at",
    "updated_at",
)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Rows written per chunk of bytes: a chunk of some tens of kB, whatever the history's length.
ROWS_PER_CHUNK = 200


def photo_file(day: date, area: str, photo_uuid: str) -> str:
    """A photo's path in the archive: photos/<date>_<area>_<uuid>.jpg. The area is a vocabulary
    code and the UUID checked at upload, so the name has no path separator."""
    return f"photos/{day.isoformat()}_{area}_{photo_uuid}.jpg"


def cell(value: Any) -> str | int | float:
    """A value as a spreadsheet cell: lists joined, None empty, formula-like text guarded."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return value
    if isinstance(value, list | tuple):
        value = "; ".join(str(item) for item in value)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def session_row(session: Mapping[str, Any], number: int) -> list[str | int | float]:
    """A data.json session as a sessions.csv row; `number` is 1 for the first session."""
    return [cell(number), *(cell(session[name]) for name in SESSION_COLUMNS[1:])]


def entry_row(entry: Mapping[str, Any], follows: Alignment) -> list[str | int | float]:
    """A data.json entry as an entries.csv row, with the session it follows (derived)."""
    values = {
        **entry,
        **entry["ratings"],
        "session_number": follows.session_number,
        "days_since_session": follows.days_since_session,
    }
    return [cell(values[name]) for name in ENTRY_COLUMNS]


def csv_chunks(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[bytes]:
    """The CSV file in chunks of bytes: a byte-order mark (Excel then reads UTF-8), the header,
    the rows; CRLF line ends as RFC 4180 has them."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write("\ufeff")
    writer.writerow(columns)
    for count, row in enumerate(rows, start=1):
        writer.writerow(row)
        if count % ROWS_PER_CHUNK == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()
