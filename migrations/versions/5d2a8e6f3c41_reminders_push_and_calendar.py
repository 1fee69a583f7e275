"""reminders: settings, push subscriptions and calendar feeds

Revision ID: 5d2a8e6f3c41
Revises: 9c3e5a7b1d20
Create Date: 2026-12-01 11:20:00

`reminder_settings` (one row per patient: the local reminder time, which nudges, and `next_due_at`
in UTC, indexed, the one column the sender queries), `push_subscriptions` (one per browser the
patient subscribed) and `calendar_feeds` (the hashed token of the private .ics address).
"""

import sqlalchemy as sa
from alembic import op

revision = "5d2a8e6f3c41"
down_revision = "9c3e5a7b1d20"
branch_labels = None
depends_on = None


def _user_id(unique: bool = False) -> sa.Column:
    return sa.Column(
        "user_id",
        sa.Integer(),
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
        unique=unique,
    )


def upgrade():
    op.create_table(
        "reminder_settings",
        sa.Column("id", sa.Integer(), primary_key=True),
        _user_id(unique=True),
        sa.Column("daily_enabled", sa.Boolean(), nullable=False),
        sa.Column("remind_at", sa.Time(), nullable=False),
        sa.Column("photo_days_enabled", sa.Boolean(), nullable=False),
        sa.Column("session_due_enabled", sa.Boolean(), nullable=False),
        sa.Column("next_due_at", sa.DateTime(), nullable=True),
        sa.Column("last_sent_on", sa.Date(), nullable=True),
        sa.Column("session_due_sent_for", sa.String(36), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
    )
    op.create_index("ix_reminder_settings_next_due_at", "reminder_settings", ["next_due_at"])
    op.create_table(
        "push_subscriptions",
        sa.Column("id", sa.Integer(), primary_key=True),
        _user_id(),
        sa.Column("endpoint", sa.String(1024), nullable=False, unique=True),
        sa.Column("p256dh", sa.String(200), nullable=False),
        sa.Column("auth", sa.String(64), nullable=False),
        sa.Column("device", sa.String(80), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_sent_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_push_subscriptions_user_id", "push_subscriptions", ["user_id"])
    op.create_table(
        "calendar_feeds",
        sa.Column("id", sa.Integer(), primary_key=True),
        _user_id(unique=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )


def downgrade():
    op.drop_table("calendar_feeds")
    op.drop_index("ix_push_subscriptions_user_id", "push_subscriptions")
    op.drop_table("push_subscriptions")
    op.drop_index("ix_reminder_settings_next_due_at", "reminder_settings")
    op.drop_table("reminder_settings")
