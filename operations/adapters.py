"""The adapter registry as operators see it: list, promote (after a file check), roll back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from model.fingerprint import adapter_fingerprint, fingerprint_of_dir, mismatch
from operations.errors import Missing, Refused
from storage import registry
from storage.db import Database
from storage.errors import StorageError
from storage.models import Adapter
from training.results import AdapterMetrics


@dataclass(frozen=True)
class AdapterView:
    """One adapter of the registry, detached from any session."""

    id: int
    version: str
    status: str
    path: str
    base_model: str
    metrics: AdapterMetrics
    reason: str | None
    parent_id: int | None
    created_at: datetime
    promoted_at: datetime | None

    @classmethod
    def of(cls, adapter: Adapter) -> AdapterView:
        return cls(
            id=adapter.id,
            version=adapter.version,
            status=adapter.status,
            path=adapter.path,
            base_model=adapter.base_model,
            metrics=AdapterMetrics.from_json(adapter.metrics),
            reason=adapter.reason,
            parent_id=adapter.parent_id,
            created_at=adapter.created_at,
            promoted_at=adapter.promoted_at,
        )

    @property
    def rouge_l(self) -> float | None:
        return self.metrics.rouge_l

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "version": self.version,
            "status": self.status,
            "path": self.path,
            "base_model": self.base_model,
            "metrics": self.metrics.as_json(),
            "reason": self.reason,
            "parent_id": self.parent_id,
            "created_at": self.created_at.isoformat(),
            "promoted_at": self.promoted_at.isoformat() if self.promoted_at else None,
        }


@dataclass(frozen=True)
class RolledBack:
    """What a rollback retired and what serves now (``None``: the base model)."""

    retired: str
    active: AdapterView | None


def list_adapters(database: Database) -> list[AdapterView]:
    """Every adapter, newest first."""
    with database.read() as session:
        return [AdapterView.of(a) for a in registry.list_adapters(session)]


def active_adapter(database: Database) -> AdapterView | None:
    with database.read() as session:
        found = registry.active_adapter(session)
        return AdapterView.of(found) if found else None


def find_adapter(database: Database, ref: str) -> AdapterView:
    """The adapter with id or version ``ref``."""
    with database.read() as session:
        found = registry.find_adapter(session, ref=ref)
        if found is None:
            raise Missing("adapter", ref)
        return AdapterView.of(found)


def promote(
    database: Database,
    ref: str,
    *,
    actor_user_id: int | None = None,
    via: str = "CLI",
    base_model: str | None = None,
) -> AdapterView:
    """Put an adapter in service by hand, once its files prove loadable.

    Serving would refuse an unreadable adapter after the registry already said "active", so
    the files are checked first; a rejected adapter is refused whatever its files hold, and
    so is one trained on another base than ``base_model`` (the base in service).
    """
    from training.verify import AdapterInvalid, verify_adapter

    adapter = find_adapter(database, ref)
    if adapter.status == "rejected":
        raise Refused(
            f"adapter {adapter.version} was rejected ({adapter.reason or 'no reason recorded'})"
        )
    if base_model is not None and adapter_fingerprint(adapter.path) is not None:
        foreign = mismatch(adapter.version, adapter.path, fingerprint_of_dir(base_model))
        if foreign is not None:
            raise Refused(foreign)
    try:
        verify_adapter(Path(adapter.path), version=adapter.version)
    except AdapterInvalid as exc:
        raise Refused(str(exc)) from exc
    try:
        with database.write() as session:
            promoted = registry.promote_adapter(
                session,
                adapter_id=adapter.id,
                actor_user_id=actor_user_id,
                reason=f"promoted by hand ({via})",
            )
            return AdapterView.of(promoted)
    except StorageError as exc:  # already active, or rejected meanwhile
        raise Refused(str(exc)) from exc


def rollback(database: Database, *, actor_user_id: int | None = None) -> RolledBack:
    """Retire the active adapter and bring back the one before it (or the base model)."""
    try:
        with database.write() as session:
            current = registry.active_adapter(session)
            retired = current.version if current else ""
            now = registry.rollback_adapter(session, actor_user_id=actor_user_id)
            return RolledBack(retired=retired, active=AdapterView.of(now) if now else None)
    except StorageError as exc:  # nothing active
        raise Refused(str(exc)) from exc
