"""outbox_parked: events the outbox relay set aside because Kafka cannot take them

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04 18:30:00.000000
"""

from collections.abc import Sequence

from alembic import op

from mpp_shared.migration_steps import create_outbox_parked

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_outbox_parked()


def downgrade() -> None:
    op.drop_table("outbox_parked")
