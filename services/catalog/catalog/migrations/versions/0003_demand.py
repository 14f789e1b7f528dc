"""demand and inbox: applications per service and day, from applications' events

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05 08:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from mpp_shared.migration_steps import create_inbox

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "demand",
        sa.Column("service_id", sa.Text(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("applications", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("service_id", "day", name=op.f("pk_demand")),
    )
    op.create_index("ix_demand_day", "demand", ["day"], unique=False)
    create_inbox()


def downgrade() -> None:
    op.drop_table("inbox")
    op.drop_index("ix_demand_day", table_name="demand")
    op.drop_table("demand")
