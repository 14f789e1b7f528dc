"""citizens' names, from identity events, for the officer's inbox and the application page

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
        "citizen_names",
        sa.Column("citizen_id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("citizen_id", name=op.f("pk_citizen_names")),
    )


def downgrade() -> None:
    op.drop_table("citizen_names")
