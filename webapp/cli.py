"""Command-line tools: `flask --app webapp demo` fills an account with a realistic series."""

from __future__ import annotations

import click
from flask import Flask


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
