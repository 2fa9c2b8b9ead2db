"""Grounded answers and safe adapters: knowledge topics, personal corrections, reply sources
``knowledge`` and ``unsure``, and the base-model fingerprint of every adapter.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 18:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_SOURCES = ("model", "memory", "fallback", "agent", "system")
NEW_SOURCES = ("model", "memory", "knowledge", "unsure", "fallback", "agent", "system")


def _sources(values: tuple[str, ...]) -> str:
    return "source IN ({})".format(", ".join(f"'{v}'" for v in values))


def upgrade() -> None:
    with op.batch_alter_table("knowledge") as batch:
        batch.add_column(sa.Column("topic", sa.String(length=64), nullable=True))
    with op.batch_alter_table("corrections") as batch:
        batch.add_column(
            sa.Column("personal", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    with op.batch_alter_table("adapters") as batch:
        batch.add_column(sa.Column("base_fingerprint", sa.String(length=128), nullable=True))
    with op.batch_alter_table("bot_replies") as batch:
        batch.drop_constraint(op.f("ck_bot_replies_source"), type_="check")
        batch.create_check_constraint(op.f("ck_bot_replies_source"), _sources(NEW_SOURCES))


def downgrade() -> None:
    op.execute("UPDATE bot_replies SET source = 'memory' WHERE source IN ('knowledge', 'unsure')")
    with op.batch_alter_table("bot_replies") as batch:
        batch.drop_constraint(op.f("ck_bot_replies_source"), type_="check")
        batch.create_check_constraint(op.f("ck_bot_replies_source"), _sources(OLD_SOURCES))
    with op.batch_alter_table("adapters") as batch:
        batch.drop_column("base_fingerprint")
    with op.batch_alter_table("corrections") as batch:
        batch.drop_column("personal")
    with op.batch_alter_table("knowledge") as batch:
        batch.drop_column("topic")
