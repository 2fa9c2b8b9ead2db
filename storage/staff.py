"""Staff (agents and operators) and the audit log."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.errors import InvalidValue, NotFound
from storage.models import ROLES, AuditLog, Staff


def add_staff(
    session: Session,
    *,
    telegram_user_id: int,
    role: str,
    display_name: str = "",
    actor_user_id: int | None = None,
) -> Staff:
    """Add a staff member, or change the role of an existing one; audited."""
    if role not in ROLES:
        raise InvalidValue(f"unknown role {role!r}; use one of: {', '.join(ROLES)}")
    if telegram_user_id <= 0:
        raise InvalidValue("a Telegram user id is a positive number")
    staff = session.scalar(select(Staff).where(Staff.telegram_user_id == telegram_user_id))
    if staff is None:
        staff = Staff(telegram_user_id=telegram_user_id, role=role, display_name=display_name)
        session.add(staff)
    else:
        staff.role = role
        staff.display_name = display_name or staff.display_name
    session.flush()
    audit(
        session,
        actor_user_id=actor_user_id,
        action="staff.add",
        target_type="staff",
        target_id=str(telegram_user_id),
        detail={"role": role},
    )
    return staff


def remove_staff(
    session: Session, *, telegram_user_id: int, actor_user_id: int | None = None
) -> None:
    """Remove a staff member; audited."""
    staff = session.scalar(select(Staff).where(Staff.telegram_user_id == telegram_user_id))
    if staff is None:
        raise NotFound(f"user {telegram_user_id} is not staff")
    session.delete(staff)
    audit(
        session,
        actor_user_id=actor_user_id,
        action="staff.remove",
        target_type="staff",
        target_id=str(telegram_user_id),
        detail={"role": staff.role},
    )
    session.flush()


def list_staff(session: Session) -> Sequence[Staff]:
    return session.scalars(select(Staff).order_by(Staff.role, Staff.telegram_user_id)).all()


def role_of(
    session: Session, *, telegram_user_id: int, admin_ids: Sequence[int] = ()
) -> str | None:
    """The role of a user by numeric id: ``operator`` for configured admins, else the table's."""
    if telegram_user_id in admin_ids:
        return "operator"
    return session.scalar(select(Staff.role).where(Staff.telegram_user_id == telegram_user_id))


def audit(
    session: Session,
    *,
    actor_user_id: int | None,
    action: str,
    target_type: str | None = None,
    target_id: str | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditLog:
    """Append one line to the audit log, in the caller's transaction."""
    entry = AuditLog(
        actor_user_id=actor_user_id,
        action=action,
        target_type=target_type,
        target_id=target_id,
        detail=detail or {},
    )
    session.add(entry)
    session.flush()
    return entry


def audit_entries(
    session: Session, *, action: str | None = None, limit: int = 100
) -> Sequence[AuditLog]:
    """The newest audit lines, optionally of one action."""
    query = select(AuditLog).order_by(AuditLog.id.desc()).limit(limit)
    if action is not None:
        query = query.where(AuditLog.action == action)
    return session.scalars(query).all()
