"""What operators did to the shipped sample since ``uttor init`` loaded it (from the audit
log that every knowledge change writes, :mod:`storage.knowledge`)."""

from __future__ import annotations

from sqlalchemy import String, cast, func, select
from sqlalchemy.orm import Session

from storage.knowledge import SHIPPED
from storage.models import AuditLog, Knowledge

__all__ = ["shipped_changed_by_operator"]


def shipped_changed_by_operator(session: Session) -> bool:
    """Whether an operator removed or edited entries of the shipped sample since it was last
    loaded (by ``uttor init`` or an import into it): ``uttor init`` then keeps the knowledge
    base as the operator left it.

    Removal shows as fewer shipped entries than the last load left (a whole-source removal
    included); an edit as a ``knowledge.edit`` audit line, after that load, of an entry that is
    still shipped. Before the first load nothing was changed.
    """
    loaded = session.execute(
        select(AuditLog.id, AuditLog.detail)
        .where(
            AuditLog.action.in_(("knowledge.replace", "knowledge.import")),
            AuditLog.target_type == "knowledge_source",
            AuditLog.target_id == SHIPPED,
        )
        .order_by(AuditLog.id.desc())
        .limit(1)
    ).first()
    if loaded is None:
        return False
    load_id, detail = loaded
    present = session.scalar(select(func.count(Knowledge.id)).where(Knowledge.source == SHIPPED))
    if int(present or 0) < int((detail or {}).get("entries", 0)):
        return True
    shipped_ids = select(cast(Knowledge.id, String)).where(Knowledge.source == SHIPPED)
    edited = session.scalar(
        select(func.count(AuditLog.id)).where(
            AuditLog.id > load_id,
            AuditLog.action == "knowledge.edit",
            AuditLog.target_id.in_(shipped_ids),
        )
    )
    return bool(edited)
