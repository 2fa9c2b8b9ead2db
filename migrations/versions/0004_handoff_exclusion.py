"""Agents can take a handoff answer out of training: ``handoff_pairs.excluded``.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 10:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("handoff_pairs") as batch:
        batch.add_column(
            sa.Column("excluded", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("handoff_pairs") as batch:
        batch.drop_column("excluded")
