"""The adapter registry and retrain runs (named leases are :mod:`storage.leases`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.errors import Conflict, InvalidValue, NotFound
from storage.models import MAX_ROW_ID, RUN_STATES, Adapter, RetrainRun, utcnow
from storage.staff import audit


def add_adapter(
    session: Session,
    *,
    version: str,
    path: str,
    base_model: str,
    parent_id: int | None = None,
    metrics: dict[str, Any] | None = None,
    base_fingerprint: str | None = None,
) -> Adapter:
    """Register a trained adapter as a candidate."""
    adapter = Adapter(
        version=version,
        path=path,
        base_model=base_model,
        parent_id=parent_id,
        metrics=metrics or {},
        base_fingerprint=base_fingerprint,
    )
    session.add(adapter)
    try:
        session.flush()
    except IntegrityError as exc:
        raise InvalidValue(f"an adapter with version {version!r} exists already") from exc
    return adapter


def get_adapter(session: Session, *, adapter_id: int) -> Adapter | None:
    return session.get(Adapter, adapter_id)


def find_adapter(session: Session, *, ref: str) -> Adapter | None:
    """An adapter by numeric id or by version string."""
    if ref.isdecimal() and int(ref) <= MAX_ROW_ID:
        found = session.get(Adapter, int(ref))
        if found is not None:
            return found
    return session.scalar(select(Adapter).where(Adapter.version == ref))


def active_adapter(session: Session) -> Adapter | None:
    return session.scalar(select(Adapter).where(Adapter.status == "active"))


def list_adapters(session: Session) -> Sequence[Adapter]:
    return session.scalars(select(Adapter).order_by(Adapter.id.desc())).all()


def set_adapter_status(
    session: Session,
    *,
    adapter_id: int,
    status: str,
    reason: str | None = None,
    metrics: dict[str, Any] | None = None,
) -> Adapter:
    """Mark a candidate rejected (with its reasons) or update its metrics."""
    adapter = session.get(Adapter, adapter_id)
    if adapter is None:
        raise NotFound(f"no adapter with id {adapter_id}")
    if status == "active":
        raise InvalidValue("use promote_adapter to activate an adapter")
    adapter.status = status
    if reason is not None:
        adapter.reason = reason
    if metrics is not None:
        adapter.metrics = metrics
    session.flush()
    return adapter


def promote_adapter(
    session: Session, *, adapter_id: int, actor_user_id: int | None = None, reason: str = ""
) -> Adapter:
    """Make one adapter active and retire the previous one, in the caller's transaction."""
    adapter = session.get(Adapter, adapter_id)
    if adapter is None:
        raise NotFound(f"no adapter with id {adapter_id}")
    if adapter.status == "rejected":
        raise Conflict(
            f"adapter {adapter.version} was rejected ({adapter.reason or 'no reason given'})"
        )
    if adapter.status == "active":
        raise Conflict(f"adapter {adapter.version} is already active")
    previous = active_adapter(session)
    if previous is not None:
        previous.status = "retired"
        # Flush the retirement first so the "one active" rule never sees two at once.
        session.flush()
    adapter.status = "active"
    adapter.promoted_at = utcnow()
    session.flush()
    audit(
        session,
        actor_user_id=actor_user_id,
        action="adapter.promote",
        target_type="adapter",
        target_id=adapter.version,
        detail={"previous": previous.version if previous else None, "reason": reason},
    )
    return adapter


def rollback_adapter(session: Session, *, actor_user_id: int | None = None) -> Adapter | None:
    """Retire the active adapter and reactivate the one active before it (or the base model).

    Returns the adapter now active, or ``None`` when serving falls back to the base model.
    """
    current = active_adapter(session)
    if current is None:
        raise Conflict("no adapter is active; nothing to roll back")
    previous = session.scalar(
        select(Adapter)
        .where(Adapter.status == "retired", Adapter.promoted_at.is_not(None))
        .where(Adapter.id != current.id)
        .order_by(Adapter.promoted_at.desc(), Adapter.id.desc())
        .limit(1)
    )
    current.status = "rejected"
    current.reason = "rolled back by an operator"
    session.flush()
    if previous is not None:
        previous.status = "active"
        previous.promoted_at = utcnow()
        session.flush()
    audit(
        session,
        actor_user_id=actor_user_id,
        action="adapter.rollback",
        target_type="adapter",
        target_id=current.version,
        detail={"now_active": previous.version if previous else "base"},
    )
    return previous


def start_run(
    session: Session, *, trigger: str, pid: int | None = None, host: str | None = None
) -> RetrainRun:
    run = RetrainRun(trigger=trigger, pid=pid, host=host)
    session.add(run)
    session.flush()
    return run


def finish_run(session: Session, *, run_id: int, status: str, **fields: Any) -> RetrainRun:
    """Close a run with its outcome; ``fields`` are other columns (decision, metrics…)."""
    if status not in RUN_STATES or status == "running":
        raise InvalidValue(f"a finished run's status is not {status!r}")
    run = session.get(RetrainRun, run_id)
    if run is None:
        raise NotFound(f"no retrain run with id {run_id}")
    run.status = status
    run.ended_at = utcnow()
    for name, value in fields.items():
        if not hasattr(RetrainRun, name):
            raise InvalidValue(f"retrain runs have no field {name!r}")
        setattr(run, name, value)
    session.flush()
    return run


def get_run(session: Session, *, run_id: int) -> RetrainRun | None:
    return session.get(RetrainRun, run_id)


def latest_run(session: Session, *, trigger: str | None = None) -> RetrainRun | None:
    """The newest run (of ``trigger``, when given)."""
    query = select(RetrainRun).order_by(RetrainRun.id.desc()).limit(1)
    if trigger is not None:
        query = query.where(RetrainRun.trigger == trigger)
    return session.scalar(query)


def last_trained_run(session: Session) -> RetrainRun | None:
    """The newest run that finished training a candidate adapter (promoted or rejected)."""
    return session.scalar(
        select(RetrainRun)
        .where(RetrainRun.status == "succeeded", RetrainRun.candidate_adapter_id.is_not(None))
        .order_by(RetrainRun.id.desc())
        .limit(1)
    )


def list_runs(session: Session, *, limit: int = 20) -> Sequence[RetrainRun]:
    """The newest retrain runs first."""
    return session.scalars(select(RetrainRun).order_by(RetrainRun.id.desc()).limit(limit)).all()


def mark_interrupted_runs(session: Session, *, reason: str = "process ended mid-run") -> int:
    """Mark every run still ``running`` as ``interrupted``; call it when no run can be live."""
    result = session.execute(
        update(RetrainRun)
        .where(RetrainRun.status == "running")
        .values(status="interrupted", ended_at=utcnow(), error=reason)
    )
    return int(result.rowcount or 0)
