"""Retrain now, on an operator's word (the CLI waits; Telegram runs it in a thread)."""

from __future__ import annotations

from storage.db import Database
from training.config import RetrainConfig
from training.pipeline import RetrainOutcome, run_retrain

__all__ = ["retrain_now"]


def retrain_now(
    database: Database, config: RetrainConfig, *, trigger: str, force: bool = False
) -> RetrainOutcome:
    """Export, train, evaluate, gate, promote and report; a lock keeps it one at a time."""
    return run_retrain(database, config, trigger=trigger, force=force)
