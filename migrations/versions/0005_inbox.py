"""The durable inbox: every Telegram update stored before it is acknowledged.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "inbox",
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("chat_key", sa.BigInteger(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_by", sa.String(length=128), nullable=True),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("verdict", sa.String(length=8), nullable=True),
        sa.CheckConstraint("verdict IN ('allow', 'note', 'drop')", name=op.f("ck_inbox_verdict")),
        sa.PrimaryKeyConstraint("update_id", name=op.f("pk_inbox")),
    )
    op.create_index("ix_inbox_chat_update", "inbox", ["chat_key", "update_id"])
    op.create_index("ix_inbox_done_update", "inbox", ["done_at", "update_id"])


def downgrade() -> None:
    op.drop_index("ix_inbox_done_update", table_name="inbox")
    op.drop_index("ix_inbox_chat_update", table_name="inbox")
    op.drop_table("inbox")
