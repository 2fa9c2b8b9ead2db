"""Agents' corrections through the audit log: list them, reject a bad (poisoned) one.

A rejected correction leaves correction memory at the next question (memory reloads when the
set of active corrections changes) and the next export; the reply goes back to the agents'
pending list, and the rejection itself is audited.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from operations.errors import Refused
from storage.corrections import (
    AuditedCorrection,
    Rejection,
    audited_corrections,
    reject_correction,
)
from storage.db import Database
from storage.errors import StorageError
from storage.models import CORRECTION_STATES

__all__ = ["Rejected", "list_corrections", "reject", "rejection_text"]


@dataclass(frozen=True)
class Rejected:
    """What a batch of rejections did: the ones done, and why the others were not."""

    done: list[Rejection] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def list_corrections(
    database: Database,
    *,
    agent_user_id: int | None = None,
    status: str | None = None,
    limit: int = 20,
) -> list[AuditedCorrection]:
    """The newest corrections as the audit log recorded them."""
    if status is not None and status not in CORRECTION_STATES:
        raise Refused(f"unknown status {status!r}; use one of: {', '.join(CORRECTION_STATES)}")
    with database.read() as session:
        return audited_corrections(session, agent_user_id=agent_user_id, status=status, limit=limit)


def reject(
    database: Database, correction_ids: list[int], *, actor_user_id: int | None, reason: str = ""
) -> Rejected:
    """Withdraw corrections, each in its own transaction (one bad id spoils no other)."""
    result = Rejected()
    for correction_id in correction_ids:
        try:
            with database.write() as session:
                result.done.append(
                    reject_correction(
                        session,
                        correction_id=correction_id,
                        actor_user_id=actor_user_id,
                        reason=reason,
                    )
                )
        except StorageError as exc:  # unknown, or rejected already
            result.errors.append(str(exc))
    return result


def rejection_text(rejection: Rejection, *, shell: bool = False) -> str:
    """What an operator is told after a rejection; ``shell`` names the CLI's commands."""
    # A retrain counts new pairs, not withdrawn ones, and may skip: only --force is sure to run.
    rollback = "`uttor adapters rollback`" if shell else "/rollback"
    retrain = "`uttor retrain --force`"
    lines = [
        f"Correction #{rejection.correction_id} (by {rejection.agent_user_id}, reply "
        f"#{rejection.reply_id}) is rejected: correction memory no longer uses it and the next "
        "export leaves it out."
    ]
    if rejection.was_active:
        lines.append(f"Reply #{rejection.reply_id} is back in /pending for an agent to answer.")
    if rejection.trained_in_run is not None:
        lines.append(
            f"Retrain run {rejection.trained_in_run} trained on it: the adapter in service may "
            f"have learned it. {rollback} to the adapter before, or {retrain} to train without it."
        )
    return "\n".join(lines)
