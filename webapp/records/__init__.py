"""Reading and writing a patient's records: the rules shared by the HTML pages and the sync API.

Every query here takes the owner and is scoped to them; a row of another user is simply not found.
Writes are idempotent by the client-made UUID and settle conflicts by last writer wins on
`client_updated_at`, so a replayed or late upload never duplicates or clobbers newer data.

sync.py holds the rules every write follows (owner scope, the patient's lock and change numbers,
last writer wins); entries.py, photos.py and changes.py apply them; alignment.py lays each new
photo onto its area's reference photo. Callers use this package's
names: `from webapp import records`, then `records.save_entry(...)`.
"""

from .alignment import backfill as align_unaligned_photos
from .changes import Changes, changes_since
from .entries import (
    DateTaken,
    SaveResult,
    delete_row,
    entries_with_photos,
    entry_on,
    live_sessions,
    recent_entries,
    save_entry,
    save_session,
)
from .photos import TooManyPhotos, add_photo, delete_photo, measure_unmeasured_photos
from .sync import UuidTaken, claim_changes, latest_allowed_date, owned, user_today

__all__ = [
    "Changes",
    "DateTaken",
    "SaveResult",
    "TooManyPhotos",
    "UuidTaken",
    "add_photo",
    "align_unaligned_photos",
    "changes_since",
    "claim_changes",
    "delete_photo",
    "delete_row",
    "entries_with_photos",
    "entry_on",
    "latest_allowed_date",
    "live_sessions",
    "measure_unmeasured_photos",
    "owned",
    "recent_entries",
    "save_entry",
    "save_session",
    "user_today",
]
