"""a change sequence per patient, tombstones without content, no stamps from the future

Revision ID: 4b1f0c9d2e7a
Revises: 77c95e11543a
Create Date: 2026-12-01 05:00:00

* `users.change_seq` and `change_seq` on every synced row: /changes follows writes in commit order
  (records.claim_changes). Existing rows are numbered per patient in the order they were last
  written, so a phone that syncs from the start gets them all.
* Treatment sessions' device and needle depth may be empty: a tombstone keeps no content. The
  content of rows deleted before this revision is erased now.
* A `client_updated_at` ahead of now (a phone with a broken clock) would win against every later
  edit forever; such stamps are brought back to now.
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "4b1f0c9d2e7a"
down_revision = "77c95e11543a"
branch_labels = None
depends_on = None

SYNCED = ("treatment_sessions", "entries", "photos")
RATINGS = ("redness", "swelling", "pain", "itching", "dryness", "bruising")


def upgrade():
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("change_seq", sa.BigInteger(), server_default="0", nullable=False)
        )
    for table in SYNCED:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("change_seq", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("treatment_sessions") as batch:
        batch.alter_column("device", existing_type=sa.String(length=16), nullable=True)
        batch.alter_column("needle_depth_mm", existing_type=sa.Float(), nullable=True)

    connection = op.get_bind()
    _number_existing_rows(connection)
    _erase_tombstones(connection)
    now = datetime.now(UTC).replace(tzinfo=None)  # UTCDateTime stores naive UTC
    for table in SYNCED:
        connection.execute(
            sa.text(f"UPDATE {table} SET client_updated_at = :now WHERE client_updated_at > :now"),
            {"now": now},
        )

    for table in SYNCED:
        with op.batch_alter_table(table) as batch:
            batch.alter_column("change_seq", existing_type=sa.BigInteger(), nullable=False)
            batch.create_index(f"ix_{table}_user_change", ["user_id", "change_seq"])


def _number_existing_rows(connection) -> None:
    rows = []
    for table in SYNCED:
        for row_id, user_id, updated_at in connection.execute(
            sa.text(f"SELECT id, user_id, updated_at FROM {table}")
        ):
            rows.append((user_id, updated_at, table, row_id))
    rows.sort()
    numbers: dict[int, int] = {}
    for user_id, _, table, row_id in rows:
        numbers[user_id] = numbers.get(user_id, 0) + 1
        connection.execute(
            sa.text(f"UPDATE {table} SET change_seq = :n WHERE id = :id"),
            {"n": numbers[user_id], "id": row_id},
        )
    for user_id, last in numbers.items():
        connection.execute(
            sa.text("UPDATE users SET change_seq = :n WHERE id = :id"), {"n": last, "id": user_id}
        )


def _erase_tombstones(connection) -> None:
    ratings = ", ".join(f"{name} = NULL" for name in RATINGS)
    connection.execute(
        sa.text(
            f"UPDATE entries SET {ratings}, pie_severity = NULL, pih_severity = NULL, "
            "red_flags = '[]', aftercare = '[]', notes = '' WHERE deleted_at IS NOT NULL"
        )
    )
    connection.execute(
        sa.text(
            "UPDATE treatment_sessions SET device = NULL, needle_depth_mm = NULL, areas = '[]', "
            "topicals = '[]', provider = '', notes = '' WHERE deleted_at IS NOT NULL"
        )
    )
    connection.execute(
        sa.text(
            "UPDATE photos SET lab_l = NULL, lab_a = NULL, lab_b = NULL, ita_deg = NULL, "
            "region = NULL, taken_at = NULL WHERE deleted_at IS NOT NULL"
        )
    )


def downgrade():
    for table in SYNCED:
        with op.batch_alter_table(table) as batch:
            batch.drop_index(f"ix_{table}_user_change")
            batch.drop_column("change_seq")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("change_seq")
    # Tombstones stay erased; their device and depth get placeholders to fit the old schema.
    op.execute(
        "UPDATE treatment_sessions SET device = 'other', needle_depth_mm = 0 WHERE device IS NULL"
    )
    with op.batch_alter_table("treatment_sessions") as batch:
        batch.alter_column("device", existing_type=sa.String(length=16), nullable=False)
        batch.alter_column("needle_depth_mm", existing_type=sa.Float(), nullable=False)
