"""`flask reminders send`: send the reminders due now. Run it every minute from cron or a systemd
timer (docs/deployment.md); any number may run at once, on any number of machines."""

from __future__ import annotations

from datetime import UTC, datetime

import click
from flask.cli import AppGroup

from .sender import send_due

reminders_cli = AppGroup("reminders", help="Reminders by Web Push.")


@reminders_cli.command("send")
@click.option(
    "--at",
    "at",
    type=click.DateTime(formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S"]),
    default=None,
    help="Act as if it were this time (ISO 8601, UTC unless an offset is given), to check a "
    "schedule; default: now.",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Pushes in flight at once: each waits on a push service's round trip.",
)
def send_command(at: datetime | None, workers: int) -> None:
    """Push every reminder that is due, and move each patient's next one on."""
    if at is not None and at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    report = send_due(at, workers=workers)
    for line in report.sent:
        click.echo(f"Sent {line}")
    for line in report.retrying:
        click.echo(f"Retrying {line}")
    for line in report.given_up:
        click.echo(f"Gave up for today on {line}")
    click.echo(
        f"{len(report.sent)} sent, {report.nothing_due} with nothing to send, "
        f"{report.removed_subscriptions} expired subscription(s) removed."
    )
    for line in report.errors:
        click.echo(f"Error: {line}", err=True)
    if report.errors:
        # Non-zero so that cron (or the systemd unit) reports it; retries are scheduled already.
        raise click.exceptions.Exit(1)
