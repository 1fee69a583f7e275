"""What the account page's "Reminders" section shows: the settings form, the devices reminded,
and whether the patient has a calendar address."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..models import User, token_digest
from . import feeds, service, subscriptions
from .forms import ReminderSettingsForm


@dataclass(frozen=True)
class Device:
    """A device reminded, as its row in the list. `tag` is the SHA-256 of its endpoint: the
    page's script finds the row of the browser it runs in by it, without the endpoint (itself a
    capability to send to that browser) ever being written into the page."""

    id: int
    name: str
    created_at: datetime
    last_sent_at: datetime | None
    tag: str


@dataclass
class RemindersView:
    form: ReminderSettingsForm
    devices: list[Device]
    calendar_feed: bool  # read by templates/reminders/_calendar.html


def account_view(user: User, form: ReminderSettingsForm | None = None) -> RemindersView:
    """The section for `user`; `form` is a posted form to show again with its errors."""
    if form is None:
        settings = service.settings_for(user)
        form = ReminderSettingsForm(
            formdata=None,
            daily_enabled=settings.daily_enabled,
            remind_at=settings.remind_at,
            photo_days_enabled=settings.photo_days_enabled,
            session_due_enabled=settings.session_due_enabled,
        )
    devices = [
        Device(
            id=row.id,
            name=row.device,
            created_at=row.created_at,
            last_sent_at=row.last_sent_at,
            tag=token_digest(row.endpoint),
        )
        for row in subscriptions.subscriptions_of(user)
    ]
    return RemindersView(form=form, devices=devices, calendar_feed=feeds.has_feed(user))
