"""photo quality, mark measures and alignment

Revision ID: 9c3e5a7b1d20
Revises: 4b1f0c9d2e7a
Create Date: 2026-12-01 07:30:00

Three JSON columns on `photos`, filled at ingest: `quality` (exposure, sharpness, colour cast and a
verdict), `marks` (red and dark marks against the skin around them) and `alignment` (the similarity
onto the area's reference photo). Photos stored before stay NULL until `flask photos remeasure`.
"""

import sqlalchemy as sa
from alembic import op

revision = "9c3e5a7b1d20"
down_revision = "4b1f0c9d2e7a"
branch_labels = None
depends_on = None

COLUMNS = ("quality", "marks", "alignment")


def upgrade():
    with op.batch_alter_table("photos") as batch:
        for name in COLUMNS:
            batch.add_column(sa.Column(name, sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table("photos") as batch:
        for name in reversed(COLUMNS):
            batch.drop_column(name)
