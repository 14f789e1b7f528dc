"""outputs' own titles; the PIN sent before the current one; wrong PINs counted per address

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("outputs", sa.Column("title_id", sa.Text(), nullable=True))
    op.add_column("outputs", sa.Column("title_en", sa.Text(), nullable=True))
    op.add_column("outputs", sa.Column("previous_pin_hash", sa.Text(), nullable=True))
    op.create_table(
        "wrong_pins",
        sa.Column("output_id", sa.Text(), nullable=False),
        sa.Column("client", sa.Text(), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("output_id", "client", "window_start", name=op.f("pk_wrong_pins")),
    )


def downgrade() -> None:
    op.drop_table("wrong_pins")
    op.drop_column("outputs", "previous_pin_hash")
    op.drop_column("outputs", "title_en")
    op.drop_column("outputs", "title_id")
