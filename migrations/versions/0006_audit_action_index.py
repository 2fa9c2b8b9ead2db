"""Index ``audit_log`` by action and id: serving reads the newest knowledge change per question.

``storage.knowledge.knowledge_stamp`` asks for ``max(id)`` of the knowledge actions before
every lookup; with only ``(action, created_at)`` indexed that scanned every knowledge audit
line, a cost that grew with each edit. ``(action, id)`` answers it from the index's end.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 22:45:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_audit_log_action_id", "audit_log", ["action", "id"])


def downgrade() -> None:
    op.drop_index("ix_audit_log_action_id", table_name="audit_log")
