"""which agency handles which citizen's application (from applications.events): what lets an
agency's staff read that citizen's identity

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-10 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "handled_applications",
        sa.Column("application_id", sa.Text(), nullable=False),
        sa.Column("citizen_id", sa.Text(), nullable=False),
        sa.Column("agency", sa.Text(), nullable=False),
        sa.Column("requires_full_nik", sa.Boolean(), nullable=False),
        sa.Column("open", sa.Boolean(), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("application_id", name=op.f("pk_handled_applications")),
    )
    op.create_index(
        "ix_handled_applications_citizen_id_agency",
        "handled_applications",
        ["citizen_id", "agency"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_handled_applications_citizen_id_agency", table_name="handled_applications")
    op.drop_table("handled_applications")
