"""Command-line tools.

* `flask --app webapp demo` fills an account with a realistic series;
* `flask --app webapp photos sweep` removes photo bytes that no live photo needs (see
  webapp/housekeeping.py); run it from cron, e.g. hourly;
* `flask --app webapp photos measure` grades, maps and aligns photos stored before the app did
  that at upload; run it once after upgrading;
* `flask --app webapp reminders send` sends the reminders now due; run it every minute
  (docs/deployment.md). `make run` sends them from a thread instead.
"""

from __future__ import annotations

from datetime import timedelta

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from . import records
from .extensions import db
from .housekeeping import DEFAULT_GRACE, SweepReport, sweep_photos
from .storage import StorageError

photos_cli = AppGroup("photos", help="Photo housekeeping.")


@photos_cli.command("sweep")
@click.option(
    "--grace-minutes",
    type=click.IntRange(min=0),
    default=int(DEFAULT_GRACE.total_seconds() // 60),
    show_default=True,
    help="Leave bytes with no photo row alone until they are this old: an upload writes its "
    "bytes before its row. 0 only while nothing can be uploading.",
)
@click.option("--dry-run", is_flag=True, help="Count what would be removed; remove nothing.")
def sweep_command(grace_minutes: int, dry_run: bool) -> None:
    """Remove photo bytes that no photo row names, and the leftover bytes of deleted photos."""
    grace = timedelta(minutes=grace_minutes)
    try:
        report = sweep_photos(
            current_app.extensions["photo_store"], db.session, grace=grace, dry_run=dry_run
        )
    except StorageError as exc:
        raise click.ClickException(f"the photo store could not be listed: {exc}") from exc
    for line in describe(report, grace_minutes):
        click.echo(line)
    if report.failed:
        # Non-zero so that cron (or whatever runs it) reports it; details are in the log.
        raise click.exceptions.Exit(1)


@photos_cli.command("measure")
def measure_command() -> None:
    """Measure photos stored before quality and marks were, then align every area with a photo
    not yet aligned to its reference. Safe to run again: measured and aligned photos are kept."""
    store = current_app.extensions["photo_store"]
    click.echo(f"Measured {records.measure_unmeasured_photos(store)} photo(s).")
    click.echo(f"Aligned {records.align_unaligned_photos(store)} photo(s).")


def describe(report: SweepReport, grace_minutes: int) -> list[str]:
    """The sweep's result in words: counts only, never keys or anything of a photo."""
    verb = "Would remove" if report.dry_run else "Removed"
    lines = [
        f"Scanned {report.scanned} stored photo(s).",
        f"{verb} {report.orphans_removed} with no photo row, older than {grace_minutes} min.",
        f"{verb} {report.deleted_removed} left over from deleted photos.",
        f"Left {report.orphans_recent} with no photo row yet, younger than {grace_minutes} min "
        "(uploads in flight, or removed by a later sweep).",
    ]
    if report.failed:
        lines.append(f"Failed to remove {report.failed}: the store refused; see the log.")
    return lines


def init_app(app: Flask) -> None:
    @app.cli.command("demo")
    @click.option("--email", default="demo@skinlog.example", show_default=True)
    @click.option("--password", default="demo-password", show_default=True)
    @click.option("--days", default=60, show_default=True, help="Days of daily entries.")
    def demo_command(email: str, password: str, days: int) -> None:
        """Create (or refill) a demo account: 3 sessions and daily entries with photos."""
        from .demo import create_demo_account

        summary = create_demo_account(email=email, password=password, days=days)
        click.echo(summary)

    app.cli.add_command(photos_cli)

    # Imported here, not at the top: reminders reach templating, which reaches auth.
    from .reminders.commands import reminders_cli

    app.cli.add_command(reminders_cli)
