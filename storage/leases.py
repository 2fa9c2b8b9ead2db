"""Named leases: at most one holder of a name at a time, until the lease expires.

A lease is a row, so it works on SQLite as on PostgreSQL; :mod:`training.lock` keeps one
retrain at a time with it.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from storage.models import Lease, utcnow


def acquire_lease(session: Session, *, name: str, holder: str, ttl: timedelta) -> bool:
    """Take a named lease if it is free or expired; run inside a write (immediate) session."""
    now = utcnow()
    lease = session.get(Lease, name)
    if lease is not None and lease.expires_at > now and lease.holder != holder:
        return False
    if lease is None:
        session.add(Lease(name=name, holder=holder, acquired_at=now, expires_at=now + ttl))
    else:
        lease.holder, lease.acquired_at, lease.expires_at = holder, now, now + ttl
    session.flush()
    return True


def lease_holder(session: Session, *, name: str) -> str | None:
    """Who holds the named lease (expired or not), or ``None`` when there is none."""
    lease = session.get(Lease, name)
    return lease.holder if lease is not None else None


def release_lease(session: Session, *, name: str, holder: str) -> None:
    session.execute(delete(Lease).where(Lease.name == name, Lease.holder == holder))
