"""check codes of applications and complaints, asked for by the public tracking pages

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-12 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# `applications.numbers.CHECK_ALPHABET` as it was written here (a migration does not change
# when the code does).
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
# Bytes of a version 4 UUID that are all random (6 and 8 hold its version and variant), two
# per symbol: 65,536 values over 31 symbols leave each within 0.01% of its fair share.
PAIRS = ((0, 1), (2, 3), (4, 5), (9, 10), (11, 12), (13, 14))


def _random_code(random_bytes: sa.ColumnElement[bytes]) -> sa.ColumnElement[str]:
    """A check code drawn from the bytes of a UUID PostgreSQL's strong generator made."""
    return sa.func.concat(
        *(
            sa.func.substr(
                ALPHABET,
                sa.func.mod(
                    sa.func.get_byte(random_bytes, hi) * 256 + sa.func.get_byte(random_bytes, lo),
                    len(ALPHABET),
                )
                + 1,
                1,
            )
            for hi, lo in PAIRS
        )
    )


def upgrade() -> None:
    for name in ("applications", "complaints"):
        op.add_column(name, sa.Column("check_code", sa.Text(), nullable=True))
        # Those made before codes existed get one too; their applicants read it signed in.
        table = sa.table(name, sa.column("id", sa.Text()), sa.column("check_code", sa.Text()))
        drawn = sa.select(
            table.c.id, sa.func.uuid_send(sa.func.gen_random_uuid()).label("bytes")
        ).subquery("drawn")
        op.execute(
            sa.update(table)
            .values(check_code=_random_code(drawn.c.bytes))
            .where(table.c.id == drawn.c.id)
        )
        op.alter_column(name, "check_code", nullable=False)


def downgrade() -> None:
    op.drop_column("complaints", "check_code")
    op.drop_column("applications", "check_code")
