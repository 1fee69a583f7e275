"""Housekeeping: remove photo bytes that no live photo needs.

Two kinds of leftovers reach the store. Nothing serves them (photos are served by their row), but
they are still patients' pictures at rest:

* orphans: `records.add_photo` writes a photo's renditions before it commits the row, so that a
  row never names missing bytes. A worker killed in between, or a commit that failed, leaves bytes
  that no row names. They are removed only once older than a grace period, because an upload in
  flight looks exactly like this until its commit;
* a deleted photo's bytes: the tombstone commits first and the bytes are deleted after; if the
  store was down then, they stay (records logs it). A tombstone is final (a photo is never
  brought back), so these go at once.

`sweep_photos` finds both in one pass over the store's listing, asking the database about a batch
of keys at a time, so its cost grows with the number of stored photos, not with the tombstones
kept for sync. It works across all users: it is an operator's tool (`flask photos sweep`), never
reached from a request.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, scoped_session

from .extensions import db
from .models import Photo, utcnow
from .storage import PhotoStore, StorageError, batched

__all__ = ["DEFAULT_GRACE", "SweepReport", "sweep_photos"]

log = logging.getLogger(__name__)

# Far longer than any upload takes from its first rendition to its commit (seconds).
DEFAULT_GRACE = timedelta(hours=1)
# Keys per database query: well below every database's limit on bound parameters.
BATCH_SIZE = 500


@dataclass
class SweepReport:
    """What one sweep did (or, with dry_run, would have done): counts only."""

    scanned: int = 0  # photo prefixes in the store
    orphans_removed: int = 0  # bytes that no photo row names, older than the grace period
    deleted_removed: int = 0  # bytes of deleted (tombstoned) photos
    orphans_recent: int = 0  # no row yet, but younger than the grace period: left alone
    failed: int = 0  # the store refused to delete; the next sweep tries again
    dry_run: bool = False


def sweep_photos(
    store: PhotoStore,
    session: Session | scoped_session[Session],
    *,
    grace: timedelta = DEFAULT_GRACE,
    now: datetime | None = None,
    dry_run: bool = False,
    batch_size: int = BATCH_SIZE,
) -> SweepReport:
    """Delete the bytes of photos that have no row and are older than `grace`, and the bytes of
    deleted photos. With `dry_run`, count them and delete nothing.

    Only reads the database. A prefix the store fails to delete is counted in `failed` and logged;
    the sweep goes on. Raises StorageError if the store cannot be listed at all.
    """
    if grace < timedelta(0):
        raise ValueError("the grace period cannot be negative")
    cutoff = (now or utcnow()) - grace
    report = SweepReport(dry_run=dry_run)
    for batch in batched(store.list_prefixes(), batch_size):
        report.scanned += len(batch)
        rows = _rows_naming(session, [prefix.base_key for prefix in batch])
        for prefix in batch:
            orphan = prefix.base_key not in rows
            if not orphan and rows[prefix.base_key] is None:
                continue  # a live photo
            if orphan and prefix.modified_at > cutoff:
                report.orphans_recent += 1  # perhaps an upload between its bytes and its row
                continue
            if not dry_run and not _delete(store, prefix.base_key):
                report.failed += 1
            elif orphan:
                report.orphans_removed += 1
            else:
                report.deleted_removed += 1
    return report


def _rows_naming(
    session: Session | scoped_session[Session], keys: list[str]
) -> dict[str, datetime | None]:
    """storage_key -> deleted_at for the photo rows, live or deleted, that name these keys."""
    found = session.execute(
        db.select(Photo.storage_key, Photo.deleted_at).where(Photo.storage_key.in_(keys))
    )
    return {key: deleted_at for key, deleted_at in found}


def _delete(store: PhotoStore, base_key: str) -> bool:
    try:
        store.delete_prefix(base_key)
    except StorageError:
        log.exception("sweep: could not delete photo bytes under %s", base_key)
        return False
    return True
