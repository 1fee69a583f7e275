"""The sender: finds the patients whose reminder is due, pushes it to their devices, and moves
`next_due_at` on. `flask reminders send` (cron, a systemd timer) and `make run`'s thread call
`send_due`; any number of them may run at once, on any number of machines.

One patient at a time, in three steps:

1. **Claim** (one transaction): the earliest due row, `FOR UPDATE SKIP LOCKED` on PostgreSQL so
   concurrent senders take different patients instead of queueing on one. What is due is decided
   here (schedule.reminder_for), and `next_due_at` moves to the next local day's reminder time
   by a compare-and-set on the value read: `UPDATE ... WHERE next_due_at = <read>`. That is what
   makes a reminder go out once on every database: SQLite has no row locks and ignores
   FOR UPDATE, but it serialises writers, so of two senders that read the same row the second
   one's UPDATE matches nothing (the first moved it) and it leaves the patient alone.
2. **Push** (no transaction held): one request per device, with a timeout.
3. **Record** (one transaction): a success on any device counts as sent (`last_sent_on`, so at most
   one reminder per local day); 404/410 deletes that subscription; 5xx/429 or no answer moves
   `next_due_at` back to a retry with exponential backoff (at least the push service's
   Retry-After), within the reminder's own local day and at most MAX_ATTEMPTS tries.

A sender killed between 1 and 3 loses that one patient's reminder for the day (the claim is
committed, the result is not); nothing committed is ever sent twice.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from email.utils import parsedate_to_datetime

import requests
from flask import current_app
from py_vapid import Vapid02
from pywebpush import WebPushException, webpush
from requests_hardened import Config, HTTPSession
from requests_hardened.ip_filter import InvalidIPAddress

from ..extensions import db
from ..models import PushSubscription, ReminderSettings, User, utcnow
from . import schedule, service
from .calendar import zone_of
from .vapid import load_vapid

TITLE = "Skinlog"
OPEN_URL = "/log"
# A reminder is for today: a phone that is off longer than this does not get it late.
TTL_SECONDS = 6 * 60 * 60
# (connect, read) seconds per push request: one slow push service must not stall everyone.
REQUEST_TIMEOUT = (5, 10)
# Failed tries before the day's reminder is given up, and the first retry's delay (then doubled).
MAX_ATTEMPTS = 4
FIRST_RETRY = timedelta(minutes=1)
GONE = {404, 410}

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Device:
    id: int
    endpoint: str
    p256dh: str
    auth: str


@dataclass(frozen=True)
class Claim:
    """A due patient, claimed by this sender: what to send for which local day, to which devices."""

    settings_id: int
    user_id: int
    day: date
    reminder: schedule.Reminder
    devices: tuple[Device, ...]


@dataclass
class Delivery:
    """What the push service answered for each device of one claim."""

    delivered: list[int] = field(default_factory=list)
    gone: list[int] = field(default_factory=list)
    # Worth another try later (5xx, 429, no answer); the longest Retry-After asked for.
    retryable: list[str] = field(default_factory=list)
    retry_after: timedelta = timedelta(0)
    # Refused for good (another 4xx): reported, not retried.
    refused: list[str] = field(default_factory=list)


@dataclass
class SendReport:
    """One run of the sender, for `flask reminders send` to print (no health detail in it)."""

    sent: list[str] = field(default_factory=list)
    nothing_due: int = 0
    retrying: list[str] = field(default_factory=list)
    given_up: list[str] = field(default_factory=list)
    removed_subscriptions: int = 0
    errors: list[str] = field(default_factory=list)

    @classmethod
    def combined(cls, reports: Sequence[SendReport]) -> SendReport:
        """The report of several workers' runs as one."""
        total = cls()
        for report in reports:
            total.sent += report.sent
            total.nothing_due += report.nothing_due
            total.retrying += report.retrying
            total.given_up += report.given_up
            total.removed_subscriptions += report.removed_subscriptions
            total.errors += report.errors
        return total


def send_due(now: datetime | None = None, *, workers: int = 1) -> SendReport:
    """Send every reminder due at `now` (default: the current time); runs in an app context.

    A push waits on a push service's round trip, so `workers` threads can push at once: each
    claims its own patients exactly as separate senders do (see the module's docstring)."""
    now = now or utcnow()
    app = current_app._get_current_object()
    vapid = load_vapid(app.config["VAPID_PRIVATE_KEY"], app.instance_path)
    subject = app.config["VAPID_SUBJECT"]
    loopback = app.config["PUSH_ALLOW_LOOPBACK"]
    if workers <= 1:
        return _drain(now, vapid, subject, loopback)

    def work() -> SendReport:
        with app.app_context():  # its own database session
            return _drain(now, vapid, subject, loopback)

    with ThreadPoolExecutor(workers, thread_name_prefix="reminders-sender") as pool:
        reports = [future.result() for future in [pool.submit(work) for _ in range(workers)]]
    return SendReport.combined(reports)


def _push_session(*, allow_loopback: bool = False) -> requests.Session:
    """The HTTP session pushes go through. An endpoint is a URL a browser handed us: the session
    connects only to public addresses, checked on the address it connects to (a public-looking
    name may resolve to this server's network), and follows no redirect."""
    config = Config(
        ip_filter_enable=True,
        ip_filter_allow_loopback_ips=allow_loopback,
        never_redirect=True,
        default_timeout=REQUEST_TIMEOUT,
    )
    return HTTPSession(config)


def _drain(now: datetime, vapid: Vapid02, subject: str, loopback: bool) -> SendReport:
    """Claim, push and record due patients one at a time until none is left."""
    report = SendReport()
    seen: set[int] = set()
    with _push_session(allow_loopback=loopback) as http:
        while (due := _next_due_row(now)) is not None:
            if due.id in seen:
                # Every claim moves next_due_at past `now`, so a row can come back only if its
                # compare-and-set can never match: stop rather than spin; the next run retries.
                log.error("Reminder settings %d stayed due after a claim", due.id)
                db.session.rollback()
                break
            seen.add(due.id)
            claim = _claim(due, now)
            if claim is None:
                report.nothing_due += 1
                continue
            delivery = _push(claim, vapid, subject, http)
            _record(claim, delivery, now, report)
    return report


def payload(reminder: schedule.Reminder) -> bytes:
    """What the service worker shows; it passes through the browser vendor's push service, so it
    says no more than the reminder's one line."""
    message = {"title": TITLE, "body": reminder.body, "url": OPEN_URL}
    return json.dumps(message, separators=(",", ":")).encode()


def _next_due_row(now: datetime) -> ReminderSettings | None:
    return db.session.execute(
        db.select(ReminderSettings)
        .where(ReminderSettings.next_due_at <= now)
        .order_by(ReminderSettings.next_due_at)
        .limit(1)
        .with_for_update(skip_locked=True)
    ).scalar_one_or_none()


def _claim(row: ReminderSettings, now: datetime) -> Claim | None:
    """Decide the row's reminder and move its `next_due_at` past its day; commits. None when
    another sender claimed it first or there is nothing to push."""
    user = db.session.get(User, row.user_id)
    if user is None:  # the account is being deleted (its settings go with it)
        db.session.rollback()
        return None
    zone = zone_of(user.timezone)
    read = row.next_due_at
    day = schedule.local_day(read, zone)
    # Sent on its own local day or not at all: after an outage, yesterday's "day 3" is wrong.
    # Most patients have no device: their day is passed over without reading their records.
    devices = _devices(user.id) if day == schedule.local_day(now, zone) else ()
    reminder = service.reminder_due(user, row, day) if devices else None
    claimed = db.session.execute(
        db.update(ReminderSettings)
        .where(ReminderSettings.id == row.id, ReminderSettings.next_due_at == read)
        .values(
            next_due_at=service.next_due_for(row, user.timezone, now, handled=day),
            # A retry keeps its count; a day with nothing to push starts the next afresh.
            attempts=row.attempts if reminder else 0,
        ),
        execution_options={"synchronize_session": False},
    ).rowcount
    db.session.commit()
    if not (claimed and reminder):
        return None
    return Claim(row.id, user.id, day, reminder, devices)


def _devices(user_id: int) -> tuple[Device, ...]:
    rows = db.session.execute(
        db.select(PushSubscription).where(PushSubscription.user_id == user_id)
    ).scalars()
    return tuple(Device(row.id, row.endpoint, row.p256dh, row.auth) for row in rows)


def _push(claim: Claim, vapid: Vapid02, subject: str, http: requests.Session) -> Delivery:
    delivery = Delivery()
    data = payload(claim.reminder)
    for device in claim.devices:
        try:
            webpush(
                {
                    "endpoint": device.endpoint,
                    "keys": {"p256dh": device.p256dh, "auth": device.auth},
                },
                data,
                vapid_private_key=vapid,
                # pywebpush adds "aud" (the endpoint's origin) and "exp" to the dict it is given.
                vapid_claims={"sub": subject},
                ttl=TTL_SECONDS,
                # The body is the encrypted record (RFC 8291); some push services read it only
                # when labelled so, as the web-push libraries do.
                headers={"Content-Type": "application/octet-stream"},
                timeout=REQUEST_TIMEOUT,
                requests_session=http,
            )
        except WebPushException as exc:
            _sort_failure(delivery, device, exc.status_code, exc.retry_after)
        except InvalidIPAddress:
            delivery.refused.append("the push service's address is not public")
        except requests.RequestException as exc:
            delivery.retryable.append(f"no answer from the push service ({type(exc).__name__})")
        else:
            delivery.delivered.append(device.id)
    return delivery


def _sort_failure(
    delivery: Delivery, device: Device, status: int | None, retry_after: str | None
) -> None:
    if status in GONE:
        delivery.gone.append(device.id)
    elif status is None:  # refused before any request: the stored keys are unusable
        delivery.refused.append("the device's keys could not be used")
    elif status == 429 or status >= 500:
        delivery.retryable.append(f"push service answered {status}")
        delivery.retry_after = max(delivery.retry_after, _retry_after(retry_after))
    else:
        delivery.refused.append(f"push service refused with {status}")


def _retry_after(value: str | None) -> timedelta:
    """Retry-After in seconds or as an HTTP date (RFC 9110); zero when absent or unreadable."""
    if not value:
        return timedelta(0)
    if value.strip().isdigit():
        return timedelta(seconds=int(value))
    try:
        return max(parsedate_to_datetime(value) - utcnow(), timedelta(0))
    except (TypeError, ValueError):
        return timedelta(0)


def _record(claim: Claim, delivery: Delivery, now: datetime, report: SendReport) -> None:
    """Store what the push service answered for one claim; commits."""
    row = db.session.get(ReminderSettings, claim.settings_id)
    who = f"patient {claim.user_id}"
    if delivery.gone:
        db.session.execute(
            db.delete(PushSubscription).where(PushSubscription.id.in_(delivery.gone))
        )
        report.removed_subscriptions += len(delivery.gone)
    report.errors += [f"{who}: {problem}" for problem in delivery.retryable + delivery.refused]
    if row is None:  # the account was deleted meanwhile
        db.session.commit()
        return
    if delivery.delivered:
        _mark_sent(row, claim, delivery.delivered, now)
        report.sent.append(f"{who}: {claim.reminder.body!r} to {len(delivery.delivered)} device(s)")
    elif delivery.retryable:
        _retry_or_give_up(row, claim, delivery.retry_after, now, report, who)
    db.session.commit()


def _mark_sent(
    row: ReminderSettings, claim: Claim, delivered: Sequence[int], now: datetime
) -> None:
    row.last_sent_on = claim.day
    row.attempts = 0
    if claim.reminder.session_uuid is not None:
        row.session_due_sent_for = claim.reminder.session_uuid
    db.session.execute(
        db.update(PushSubscription)
        .where(PushSubscription.id.in_(delivered))
        .values(last_sent_at=now),
        execution_options={"synchronize_session": False},
    )


def _retry_or_give_up(
    row: ReminderSettings,
    claim: Claim,
    retry_after: timedelta,
    now: datetime,
    report: SendReport,
    who: str,
) -> None:
    attempts = row.attempts + 1
    retry_at = now + max(FIRST_RETRY * 2 ** (attempts - 1), retry_after)
    zone = zone_of(row.user.timezone)
    if attempts >= MAX_ATTEMPTS or schedule.local_day(retry_at, zone) != claim.day:
        # The claim already moved next_due_at to the next day's reminder.
        row.attempts = 0
        report.given_up.append(f"{who}: after {attempts} tries")
        return
    row.attempts = attempts
    row.next_due_at = retry_at
    report.retrying.append(f"{who}: try {attempts + 1} at {retry_at:%H:%M:%S} UTC")
