"""What a second device asks for: a patient's rows written after a cursor, in commit order."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import joinedload, selectinload

from ..extensions import db
from ..models import Entry, Photo, TreatmentSession, User


@dataclass
class Changes:
    """One page of a patient's changes, oldest first, and the cursor to ask from next."""

    sessions: list[TreatmentSession]
    entries: list[Entry]
    photos: list[Photo]
    cursor: int
    more: bool


def changes_since(user: User, cursor: int, page_size: int) -> Changes:
    """The user's rows written after change number `cursor`, tombstones included.

    Correct in commit order by construction (claim_changes): first read the patient's last
    committed change number; every row numbered up to it has committed, and nothing numbered
    later can commit below it. So the answer holds every row in (cursor, last]; a row rewritten
    meanwhile has a newer number and comes with a later call. A page holds at most `page_size`
    rows in all: the cut falls after the page_size-th number, and every kind was read up to it
    (a kind that filled its own page reached at least that far).
    """
    last = db.session.execute(db.select(User.change_seq).where(User.id == user.id)).scalar_one()
    fetched: list[Entry | TreatmentSession | Photo] = []
    more = False
    for model in (TreatmentSession, Entry, Photo):
        query = (
            db.select(model)
            .where(model.user_id == user.id, model.change_seq > cursor, model.change_seq <= last)
            .order_by(model.change_seq)
            .limit(page_size)
        )
        if model is Entry:
            query = query.options(selectinload(Entry.photos))
        if model is Photo:
            query = query.options(joinedload(Photo.entry))
        rows = list(db.session.execute(query).scalars())
        more = more or len(rows) == page_size  # this kind may have more after its page
        fetched.extend(rows)
    fetched.sort(key=lambda row: row.change_seq)
    more = more or len(fetched) > page_size
    page = fetched[:page_size]
    return Changes(
        sessions=[row for row in page if isinstance(row, TreatmentSession)],
        entries=[row for row in page if isinstance(row, Entry)],
        photos=[row for row in page if isinstance(row, Photo)],
        # Past the end, `last`: a cursor from beyond it (a restored database) heals itself.
        cursor=page[-1].change_seq if more else last,
        more=more,
    )
