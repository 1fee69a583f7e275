"""Share links for a dermatologist: capability tokens, their scope, and who opened them.

A link is a random token of 256 bits from `secrets`; the database keeps only its SHA-256, so the
URL is shown to the patient once and a leaked table opens nothing. A link has an expiry, can be
revoked, and is scoped: a date range, photos yes/no, notes yes/no.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from ..extensions import db
from ..models import Entry, Photo, ShareLink, ShareView, token_digest, utcnow
from ..validation import Invalid

EXPIRY_CHOICES_DAYS = (1, 7, 30, 90)
DEFAULT_EXPIRY_DAYS = 30
MAX_LABEL_LENGTH = 120
# Longer than any token we make (43 characters): anything longer is a guess, never looked up.
MAX_TOKEN_LENGTH = 100
# Reloads by the same client within this window count as one visit in the view log.
VISIT_WINDOW = timedelta(minutes=30)


def new_token() -> str:
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class LinkRequest:
    label: str
    expires_in_days: int
    date_from: date | None
    date_to: date | None
    include_photos: bool
    include_notes: bool


def parse_link_request(form: Mapping[str, str]) -> LinkRequest:
    """Validate the patient's "new link" form; raises Invalid naming each bad field."""
    problems: dict[str, str] = {}
    label = (form.get("label") or "").strip()
    if not label:
        problems["label"] = "Give the link a name, e.g. your clinic's, so you can tell links apart."
    elif len(label) > MAX_LABEL_LENGTH:
        problems["label"] = f"Use at most {MAX_LABEL_LENGTH} characters."
    raw_expiry = form.get("expires_in_days") or str(DEFAULT_EXPIRY_DAYS)
    expires_in_days = int(raw_expiry) if raw_expiry.isdigit() else 0
    if expires_in_days not in EXPIRY_CHOICES_DAYS:
        problems["expires_in_days"] = "Choose 1, 7, 30 or 90 days."
    dates: dict[str, date | None] = {}
    for name in ("date_from", "date_to"):
        raw = (form.get(name) or "").strip()
        dates[name] = None
        if raw:
            try:
                dates[name] = date.fromisoformat(raw)
            except ValueError:
                problems[name] = "Use a date like 2026-11-20, or leave it empty."
    if dates["date_from"] and dates["date_to"] and dates["date_from"] > dates["date_to"]:
        problems["date_to"] = "The end date is before the start date."
    if problems:
        raise Invalid(problems)
    return LinkRequest(
        label=label,
        expires_in_days=expires_in_days,
        date_from=dates["date_from"],
        date_to=dates["date_to"],
        include_photos=form.get("include_photos") == "y",
        include_notes=form.get("include_notes") == "y",
    )


# --- The patient's links --------------------------------------------------------------------------


def create_link(
    user_id: int, request: LinkRequest, now: datetime | None = None
) -> tuple[ShareLink, str]:
    """A new link, saved, and its token: only the token's hash is kept on the row."""
    now = now or utcnow()
    token = new_token()
    link = ShareLink(
        user_id=user_id,
        label=request.label,
        token_hash=token_digest(token),
        created_at=now,
        expires_at=now + timedelta(days=request.expires_in_days),
        date_from=request.date_from,
        date_to=request.date_to,
        include_photos=request.include_photos,
        include_notes=request.include_notes,
    )
    db.session.add(link)
    db.session.commit()
    return link, token


def links_with_view_counts(user_id: int) -> list[tuple[ShareLink, int]]:
    """The patient's links, newest first, each with the number of visits logged."""
    rows = db.session.execute(
        db.select(ShareLink, db.func.count(ShareView.id))
        .outerjoin(ShareView, ShareView.share_link_id == ShareLink.id)
        .where(ShareLink.user_id == user_id)
        .group_by(ShareLink.id)
        .order_by(ShareLink.created_at.desc())
    ).all()
    return [(link, count) for link, count in rows]


def own_link(user_id: int, link_id: int) -> ShareLink | None:
    """The link `link_id` if it is this patient's: another patient's link is as good as absent."""
    return db.session.execute(
        db.select(ShareLink).where(ShareLink.id == link_id, ShareLink.user_id == user_id)
    ).scalar_one_or_none()


def revoke(link: ShareLink) -> None:
    """Stop the link working; revoking twice keeps the first time."""
    if link.revoked_at is None:
        link.revoked_at = utcnow()
        db.session.commit()


# --- The dermatologist's side ---------------------------------------------------------------------


def link_for_token(token: str) -> ShareLink | None:
    """The link whatever its status (the caller tells expired from revoked), or None."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    return db.session.execute(
        db.select(ShareLink).where(ShareLink.token_hash == token_digest(token))
    ).scalar_one_or_none()


def in_scope(link: ShareLink, day: date) -> bool:
    """Whether a record of `day` falls inside the link's date range."""
    if link.date_from is not None and day < link.date_from:
        return False
    return not (link.date_to is not None and day > link.date_to)


def shared_photo(link: ShareLink, photo_uuid: str) -> Photo | None:
    """A live photo of the patient's, of a live entry within the link's scope, or None."""
    if not link.include_photos:
        return None
    photo = db.session.execute(
        db.select(Photo)
        .join(Entry, Photo.entry_id == Entry.id)
        .where(
            Photo.uuid == photo_uuid,
            Photo.user_id == link.user_id,
            Photo.deleted_at.is_(None),
            Entry.deleted_at.is_(None),
        )
    ).scalar_one_or_none()
    if photo is None or not in_scope(link, photo.entry.date):
        return None
    return photo


def log_visit(link: ShareLink, client: str) -> None:
    """One row per visit: a reload by the same kind of client within the window is not new."""
    recent = db.session.execute(
        db.select(ShareView.id).where(
            ShareView.share_link_id == link.id,
            ShareView.client == client,
            ShareView.viewed_at > utcnow() - VISIT_WINDOW,
        )
    ).first()
    if recent is None:
        db.session.add(ShareView(share_link_id=link.id, client=client))
        db.session.commit()
