"""One retrain run end to end: lock, export, train, evaluate, gate, promote, report.

::

    retrain lock ──> mark runs left "running" as interrupted ──> start run row
      ──> export (redacted DB pairs + shipped data) ──> enough new pairs? (else: skipped)
      ──> scratch copy of knowledge + corrections (fact-check questions are asked there)
      ──> child process: QLoRA train candidate, score base / incumbent / candidate, canaries,
          fact-check set through the answering pipeline for incumbent and candidate
      ──> register candidate ──> gate (paired bootstrap intervals) ──> re-check: lock still
          held, active adapter unchanged, no exported correction rejected meanwhile
      ──> report (JSON, HTML, charts) ──> promote (one transaction, re-checked inside it) or
          reject with reasons ──> finish run row ──> release lock

Any failure after the run row exists finishes the run as ``failed`` with the error and still
writes a report, so operators see what happened. A process killed mid-run leaves its row
``running``; the next run (or the scheduler's start) marks it ``interrupted``.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from model.fingerprint import adapter_fingerprint
from storage.corrections import mark_corrections_used
from storage.db import Database
from storage.models import Correction
from storage.registry import (
    active_adapter,
    add_adapter,
    finish_run,
    last_trained_run,
    mark_interrupted_runs,
    promote_adapter,
    set_adapter_status,
    start_run,
)
from training.config import RetrainConfig
from training.data import TEST_FILE, TRAIN_FILE
from training.evaluate import EvalResult
from training.export import Export, build_export, read_manifest, write_export
from training.facts import fact_scratch
from training.gate import Decision, current, decide_job
from training.job import AdapterSpec, JobSpec, JobStopped, spawn_job
from training.knowledge_prompts import export_knowledge
from training.lock import LockState, retrain_lock
from training.report import write_report
from training.results import AdapterMetrics, JobResult
from training.run_report import RetrainOutcome, fill_report, outcome, run_metrics
from training.runs import ran_within, recover_interrupted

log = logging.getLogger(__name__)

__all__ = ["RetrainOutcome", "Runner", "recover_interrupted", "report_dir", "run_retrain"]

#: How the heavy half runs: ``spawn_job`` (a child process) in production; tests may pass an
#: in-process runner with the same signature.
Runner = Callable[..., JobResult]

DATA_DIR_NAME = "data"
JOB_DIR_NAME = "job"


def run_retrain(
    database: Database,
    config: RetrainConfig,
    *,
    trigger: str = "manual",
    force: bool = False,
    runner: Runner | None = None,
    once_within: timedelta | None = None,
) -> RetrainOutcome:
    """Run the retrain pipeline now (see the module docstring); never runs two at once.

    ``runner`` runs the training-and-evaluation job; ``None`` means :func:`spawn_job` (a child
    process), looked up at call time. ``once_within``: nothing runs (and nothing is recorded)
    when a run of this trigger started less than that long ago: every replica's scheduler
    fires at 02:00, and the one that takes the lock after the first finished must not run
    the night's job a second time.
    """
    runner = runner or spawn_job
    with retrain_lock(database) as lock:
        if not lock.acquired:
            reason = f"another retrain is running ({lock.other or 'unknown holder'})"
            log.info("retrain skipped: %s", reason)
            return RetrainOutcome(run_id=None, status="skipped", decision="skipped", reason=reason)
        ran = ran_within(database, trigger, once_within)
        if ran is not None:
            log.info("retrain skipped: %s", ran)
            return RetrainOutcome(run_id=None, status="skipped", decision="skipped", reason=ran)
        with database.write() as session:
            interrupted = mark_interrupted_runs(session)
            run = start_run(session, trigger=trigger, pid=os.getpid(), host=socket.gethostname())
            run_id, started_at = run.id, run.started_at
        if interrupted:
            log.warning("marked %d retrain run(s) left running as interrupted", interrupted)
        run = _Run(database, config, run_id, started_at, trigger, force, runner, lock)
        try:
            return run.execute()
        except JobStopped as exc:
            log.warning("retrain run %d stopped: %s", run_id, exc)
            return run.fail(exc, status="interrupted")
        except Exception as exc:
            log.exception("retrain run %d failed", run_id)
            return run.fail(exc)


class _Run:
    """The state of one run while it executes; each step is a method, in order."""

    def __init__(
        self,
        database: Database,
        config: RetrainConfig,
        run_id: int,
        started_at: datetime,
        trigger: str,
        force: bool,
        runner: Runner,
        lock: LockState,
    ) -> None:
        self.database = database
        self.lock = lock
        self.config = config
        self.run_id = run_id
        self.trigger = trigger
        self.force = force
        self.runner = runner
        self.clock = time.perf_counter()
        self.dir = report_dir(config, run_id)
        self.report: dict[str, Any] = {
            "run_id": run_id,
            "trigger": trigger,
            "forced": force,
            "status": "running",
            "started_at": started_at.isoformat(),
            "base_model": config.base_model,
            "gate_metric": config.gate.metric,
            "min_new_pairs": config.min_new_pairs,
        }
        self.counts: dict[str, Any] = {}
        self.knowledge_file: str | None = None

    # --- steps --------------------------------------------------------------------------------

    def execute(self) -> RetrainOutcome:
        export = self.export()
        new_pairs = self.count_new(export)
        if new_pairs < self.config.min_new_pairs and not self.force:
            return self.skip(
                f"{new_pairs} new pairs since the last trained run; "
                f"{self.config.min_new_pairs} needed (uttor retrain --force trains anyway)"
            )
        incumbent = self.incumbent()
        version = f"r{self.run_id:04d}-{datetime.now(UTC):%Y%m%d-%H%M%S}"
        adapter_dir = self.config.adapters_dir / version
        spec = JobSpec(
            base_model=self.config.base_model,
            quantization=self.config.quantization,
            train_file=str(self.dir / DATA_DIR_NAME / "mydata.json"),
            test_file=str(self.dir / DATA_DIR_NAME / "mytest.json"),
            adapter_dir=str(adapter_dir),
            version=version,
            incumbent=incumbent,
            device=self.config.device,
            prompt=self.config.prompt,
            train=self.config.train,
            eval=self.config.eval,
            canaries=self.config.gate.canaries,
            metadata={"run_id": self.run_id, "export": export.summary},
            knowledge_file=self.knowledge_file,
            memory=self.config.facts.memory,
        )
        with fact_scratch(self.database, self.config) as facts_database:
            if facts_database is not None:
                spec = replace(spec, facts=self.config.facts, facts_database=facts_database)
            log.info("retrain run %d: training %s", self.run_id, version)
            result = self.runner(
                spec,
                self.dir / JOB_DIR_NAME,
                timeout_s=self.config.timeout_s,
                nice=self.config.nice,
            )
        return self.judge(result, export, incumbent)

    def export(self) -> Export:
        with self.database.read() as session:
            export = build_export(
                session,
                config=self.config.export,
                train_file=self.config.train_file or TRAIN_FILE,
                test_file=self.config.test_file or TEST_FILE,
            )
        write_export(export, self.dir / DATA_DIR_NAME)
        with self.database.read() as session:
            folder, config = self.dir / DATA_DIR_NAME, self.config
            self.knowledge_file = export_knowledge(session, folder, config.base_model, config.facts)
        self.report["export"] = export.summary
        self.counts["export"] = export.summary
        return export

    def count_new(self, export: Export) -> int:
        """Database pairs not in the export of the last run that trained a candidate."""
        with self.database.read() as session:
            previous = last_trained_run(session)
            previous_id = previous.id if previous else None
        seen = (
            read_manifest(self.config.reports_dir / str(previous_id) / DATA_DIR_NAME)
            if previous_id
            else set()
        )
        new_pairs = len(set(export.db_keys) - seen)
        self.report["new_pairs"] = new_pairs
        self.report["previous_trained_run"] = previous_id
        self.counts["new_pairs"] = new_pairs
        return new_pairs

    def incumbent(self) -> AdapterSpec | None:
        with self.database.read() as session:
            active = active_adapter(session)
            if active is None:
                return None
            return AdapterSpec(id=active.id, version=active.version, path=active.path)

    def judge(
        self, result: JobResult, export: Export, incumbent: AdapterSpec | None
    ) -> RetrainOutcome:
        """Register the candidate, gate it, re-check, report, promote or reject, finish."""
        evals = {role: EvalResult.from_dict(data) for role, data in result.eval.items()}
        incumbent_eval = evals.get("active") or evals["base"]
        candidate_eval = evals.get("candidate")
        decision = decide_job(result, incumbent_eval, candidate_eval, self.config)
        metrics = run_metrics(evals, incumbent_eval, candidate_eval, result, self.config)
        facts = metrics.get("facts")
        with self.database.write() as session:
            adapter_id = add_adapter(
                session,
                version=result.version,
                path=result.adapter_dir,
                base_model=self.config.base_model,
                parent_id=incumbent.id if incumbent and "active" in evals else None,
                metrics=AdapterMetrics(
                    metrics.get("candidate"), self.run_id, (facts or {}).get("candidate")
                ).as_json(),
                base_fingerprint=adapter_fingerprint(result.adapter_dir),
            ).id
        train = result.train
        self.counts["train"] = {
            "examples": train.examples,
            "skipped": train.skipped,
            "steps": train.steps,
        }
        # Checked before the report is written (it states the outcome), and again inside the
        # transaction that promotes, so nothing can change in between.
        with self.database.read() as session:
            decision, lost = self.recheck(session, decision, incumbent, export)
        fill_report(
            self.report,
            result,
            evals,
            incumbent_eval,
            candidate_eval,
            decision,
            metrics,
            sample_size=self.config.eval.sample_size,
        )
        self.report.update(candidate=result.version, candidate_adapter_id=adapter_id)
        self.settle(decision, status="interrupted" if lost else "succeeded")
        written = self.write()
        with self.database.write() as session:
            final, lost = self.recheck(session, decision, incumbent, export)
            status = "interrupted" if lost else "succeeded"
            name = self.settle(final, status=status)
            if final.promote:
                promote_adapter(session, adapter_id=adapter_id, reason=final.reason)
            else:
                set_adapter_status(
                    session, adapter_id=adapter_id, status="rejected", reason=final.reason
                )
            mark_corrections_used(session, correction_ids=export.correction_ids, run_id=self.run_id)
            finish_run(
                session,
                run_id=self.run_id,
                status=status,
                decision=name,
                reason=final.reason,
                metrics=metrics,
                counts=self.counts,
                report_path=str(written["html"]),
                candidate_adapter_id=adapter_id,
            )
        if final != decision:  # changed at the last moment: the report says what happened
            try:
                written = self.write()
            except OSError:
                log.exception("run %d: could not rewrite the report", self.run_id)
        log.info("retrain run %d: %s (%s)", self.run_id, name, final.reason)
        return self.outcome(
            status, name, final.reason, metrics, written, candidate=result.version, facts=facts
        )

    def recheck(
        self,
        session: Session,
        decision: Decision,
        incumbent: AdapterSpec | None,
        export: Export,
    ) -> tuple[Decision, str | None]:
        """Whether the comparison still holds: this run still holds the retrain lock, the
        active adapter is the one the candidate was compared with, and no correction the
        export used was rejected meanwhile. Returns the decision with that check added, and
        why the lock was lost (``None`` while held)."""
        lost = self.lock.check(session)
        active = active_adapter(session)
        # Rejections are rare: all of them, intersected here, beat an IN list of every export.
        rejected = set(
            session.scalars(select(Correction.id).where(Correction.status == "rejected"))
        )
        check = current(
            lost=lost,
            compared=incumbent.version if incumbent else None,
            active=active.version if active else None,
            rejected=sorted(rejected & set(export.correction_ids)),
            exported=len(export.correction_ids),
        )
        checks = [c for c in decision.checks if c.name != check.name] + [check]
        promote = all(c.passed for c in checks)
        return replace(decision, promote=promote, checks=checks), lost

    def settle(self, decision: Decision, *, status: str) -> str:
        """Record the decision in the report; returns ``promoted`` or ``rejected``."""
        name = "promoted" if decision.promote else "rejected"
        self.report.update(
            status=status, decision=name, reason=decision.reason, gate=decision.as_dict()
        )
        return name

    def skip(self, reason: str) -> RetrainOutcome:
        self.report.update(status="succeeded", decision="skipped", reason=reason)
        written = self.write()
        with self.database.write() as session:
            finish_run(
                session,
                run_id=self.run_id,
                status="succeeded",
                decision="skipped",
                reason=reason,
                counts=self.counts,
                report_path=str(written["html"]),
            )
        log.info("retrain run %d skipped: %s", self.run_id, reason)
        return self.outcome("succeeded", "skipped", reason, {}, written)

    def fail(self, exc: BaseException, *, status: str = "failed") -> RetrainOutcome:
        error = " ".join(f"{type(exc).__name__}: {exc}".split())[:1000]
        self.report.update(status=status, decision="failed", reason=error, error=error)
        written: dict[str, Path] = {}
        try:
            written = self.write()
        except Exception:
            log.exception("could not write the report of failed run %d", self.run_id)
        with self.database.write() as session:
            finish_run(
                session,
                run_id=self.run_id,
                status=status,
                decision="failed",
                reason=error,
                error=error,
                counts=self.counts,
                report_path=str(written["html"]) if written else None,
            )
        return self.outcome(status, "failed", error, {}, written)

    # --- helpers ------------------------------------------------------------------------------

    def outcome(self, *args: Any, **kwargs: Any) -> RetrainOutcome:
        return outcome(self.run_id, self.report, *args, **kwargs)

    def write(self) -> dict[str, Path]:
        self.report["ended_at"] = datetime.now(UTC).isoformat()
        self.report["seconds"] = round(time.perf_counter() - self.clock, 1)
        return write_report(self.report, self.dir)


def report_dir(config: RetrainConfig, run_id: int) -> Path:
    """Where run ``run_id`` keeps its report, data and job log."""
    return config.reports_dir / str(run_id)
