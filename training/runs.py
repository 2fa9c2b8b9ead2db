"""Book-keeping of retrain runs around the lock: runs a killed process left behind, and a
firing another process already ran."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from storage.db import Database
from storage.registry import latest_run, mark_interrupted_runs
from training.lock import retrain_lock

__all__ = ["ran_within", "recover_interrupted"]


def recover_interrupted(database: Database) -> int:
    """Mark runs left ``running`` by a killed process as ``interrupted``, when none can be live.

    Only under the retrain lock: a run that holds it elsewhere is alive and stays untouched.
    Returns how many runs were marked.
    """
    with retrain_lock(database) as lock:
        if not lock.acquired:
            return 0
        with database.write() as session:
            return mark_interrupted_runs(session)


def ran_within(database: Database, trigger: str, within: timedelta | None) -> str | None:
    """Why not to run: a run of ``trigger`` started less than ``within`` ago."""
    if within is None:
        return None
    with database.read() as session:
        last = latest_run(session, trigger=trigger)
        if last is None or last.started_at <= datetime.now(UTC) - within:
            return None
        return f"run {last.id} of this {trigger} already started at {last.started_at}"
