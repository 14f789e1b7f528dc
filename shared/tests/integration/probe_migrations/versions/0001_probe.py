"""A probe service's tables: the outbox, the inbox and a counter.

Revision ID: 0001
Revises: -
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from mpp_shared import db, inbox, outbox

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    metadata = db.metadata()
    outbox.table(metadata)
    inbox.table(metadata)
    sa.Table(
        "totals",
        metadata,
        sa.Column("counter_id", sa.Text, primary_key=True),
        sa.Column("total", sa.Integer, nullable=False),
    )
    metadata.create_all(op.get_bind())


def downgrade() -> None:
    pass
