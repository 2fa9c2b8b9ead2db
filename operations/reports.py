"""Retrain runs and their reports: find one, and the summary and charts it holds."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from operations.errors import Missing, Refused
from storage import registry
from storage.db import Database
from storage.models import RetrainRun
from training.report import REPORT_FILES, summary_text

#: Charts sent with a report, in this order (the first carries the summary as its caption).
CHARTS = ("rouge", "loss")


@dataclass(frozen=True)
class RunView:
    """One retrain run, detached from any session."""

    id: int
    trigger: str
    status: str
    decision: str | None
    reason: str | None
    error: str | None
    started_at: datetime
    ended_at: datetime | None
    metrics: dict[str, Any] | None
    report_path: str | None

    @classmethod
    def of(cls, run: RetrainRun) -> RunView:
        return cls(
            id=run.id,
            trigger=run.trigger,
            status=run.status,
            decision=run.decision,
            reason=run.reason,
            error=run.error,
            started_at=run.started_at,
            ended_at=run.ended_at,
            metrics=run.metrics,
            report_path=run.report_path,
        )

    def line(self) -> str:
        """``run 3 (schedule) 2026-12-01 02:00 UTC: done promoted``."""
        when = self.started_at.strftime("%Y-%m-%d %H:%M UTC")
        outcome = self.decision or self.error or ""
        return f"run {self.id} ({self.trigger}) {when}: {self.status} {outcome}".rstrip()


@dataclass(frozen=True)
class Report:
    """A run with what its report folder holds: a summary and up to two charts."""

    run: RunView
    summary: str
    """The report's summary lines, or one line about the run when it wrote no report."""
    charts: list[Path] = field(default_factory=list)
    written: bool = False
    """Whether the run wrote a report at all."""

    def as_json(self) -> dict[str, Any]:
        run = self.run
        return {
            "run_id": run.id,
            "trigger": run.trigger,
            "status": run.status,
            "decision": run.decision,
            "reason": run.reason,
            "error": run.error,
            "started_at": run.started_at.isoformat(),
            "ended_at": run.ended_at.isoformat() if run.ended_at else None,
            "metrics": run.metrics,
            "report": run.report_path,
            "summary": self.summary,
        }


def report_folder(report_path: str | Path | None) -> Path | None:
    """The folder of a report, from a path to it or to one of its files."""
    if not report_path:
        return None
    folder = Path(report_path)
    return folder.parent if folder.suffix else folder


def charts_in(folder: Path | None) -> list[Path]:
    """The report's charts that exist, in :data:`CHARTS` order."""
    if folder is None:
        return []
    return [
        folder / REPORT_FILES[name] for name in CHARTS if (folder / REPORT_FILES[name]).is_file()
    ]


def latest_run(database: Database) -> RunView | None:
    with database.read() as session:
        run = registry.latest_run(session)
        return RunView.of(run) if run else None


def find_report(database: Database, run_id: int | None = None) -> Report:
    """The report of run ``run_id`` (default: the latest run)."""
    with database.read() as session:
        run = (
            registry.latest_run(session)
            if run_id is None
            else registry.get_run(session, run_id=run_id)
        )
        if run is None:
            if run_id is None:
                raise Refused(
                    "no retrain runs yet; start one with `uttor retrain` (or /retrain in the "
                    "operators' chat), or wait for the nightly one"
                )
            raise Missing("retrain run", run_id)
        view = RunView.of(run)
    folder = report_folder(view.report_path)
    report_json = folder / REPORT_FILES["json"] if folder else None
    if report_json is None or not report_json.is_file():
        return Report(view, view.line() + "\n(no report was written for this run)")
    try:
        summary = summary_text(json.loads(report_json.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return Report(view, view.line() + "\n(its report cannot be read)")
    return Report(view, summary, charts_in(folder), written=True)
