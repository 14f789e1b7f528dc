"""Steps every service's migrations take alike, each written as it was on the day its revisions
were (a migration does not change when the code does: a changed table gets a new step)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql


def create_outbox_parked() -> None:
    """`outbox_parked`: events the relay set aside because Kafka cannot take them
    (`mpp_shared.outbox`)."""
    op.create_table(
        "outbox_parked",
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("envelope", sa.Text(), nullable=False),
        sa.Column("trace", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "parked_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("position", name=op.f("pk_outbox_parked")),
    )


def create_inbox() -> None:
    """`inbox`: the ids of the events a service applied (`mpp_shared.inbox`), for a service that
    starts consuming after its first migration (the others made it in their first)."""
    op.create_table(
        "inbox",
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column("event_type", sa.Text(), nullable=False),
        sa.Column(
            "applied_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_inbox")),
    )
