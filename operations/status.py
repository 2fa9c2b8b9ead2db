"""What an operator asks first: the adapter in service, the last run, what waits."""

from __future__ import annotations

from dataclasses import dataclass

from operations.adapters import AdapterView
from operations.reports import RunView
from storage import registry
from storage.conversations import count_pending_replies
from storage.corrections import count_untrained_corrections
from storage.db import Database


@dataclass(frozen=True)
class Status:
    active: AdapterView | None
    """``None``: the base model answers."""
    last_run: RunView | None
    corrections_waiting: int
    """Corrections no retrain has trained on yet."""
    flagged_waiting: int
    """Flagged replies waiting for an agent."""


def status(database: Database) -> Status:
    with database.read() as session:
        active = registry.active_adapter(session)
        run = registry.latest_run(session)
        return Status(
            active=AdapterView.of(active) if active else None,
            last_run=RunView.of(run) if run else None,
            corrections_waiting=count_untrained_corrections(session),
            flagged_waiting=count_pending_replies(session),
        )
