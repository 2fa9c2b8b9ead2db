"""Fault tests of promotion: what changes while a candidate trains must stop it from serving.

The stand-in trainer (:class:`tests.training.fakes.FakeRunner`) runs ``during`` actions while
it "trains": another adapter is promoted, a correction is rejected, the lock is lost. Each time
the candidate, better on every score, must be rejected with that reason, and the adapter in
service must stay.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text

from storage.corrections import reject_correction
from storage.db import Database
from storage.models import Adapter, Lease, RetrainRun, utcnow
from storage.registry import active_adapter, add_adapter, promote_adapter
from tests.training.conftest import Conversations
from tests.training.fakes import FakeRunner
from training.config import RetrainConfig
from training.lock import ADVISORY_KEY, LOCK_NAME, retrain_lock
from training.pipeline import RetrainOutcome, run_retrain


def _teach(conversations: Conversations, n: int = 3) -> list[int]:
    return [
        conversations.corrected(f"kisti {i} kobe dite hobe?", "?", f"Kisti {i} maser 5 tarikhe.")
        for i in range(n)
    ]


@dataclass(frozen=True)
class TaughtRun:
    """A SQLite database where agents corrected three replies, ready to retrain."""

    database: Database
    config: RetrainConfig
    runner: FakeRunner
    corrections: list[int]

    def retrain(self, config: RetrainConfig | None = None) -> RetrainOutcome:
        """Retrain with the stand-in trainer; ``config``, when given, replaces the fixture's."""
        return run_retrain(self.database, config or self.config, runner=self.runner)


@pytest.fixture
def taught(
    sqlite_database: Database,
    conversations: Conversations,
    retrain_config: RetrainConfig,
    fake_runner: FakeRunner,
) -> TaughtRun:
    return TaughtRun(sqlite_database, retrain_config, fake_runner, _teach(conversations))


#: Advisory locks are PostgreSQL's: these tests take only that kind of the shared ``database``.
ON_POSTGRES = pytest.mark.parametrize("db_url", ["postgres"], indirect=True)


def _report(config: RetrainConfig, run_id: int | None) -> dict:
    path = config.reports_dir / str(run_id) / "report.json"
    return json.loads(path.read_text(encoding="utf-8"))


def _in_service(database: Database, version: str = "in-service") -> int:
    with database.write() as session:
        adapter = add_adapter(session, version=version, path="/nowhere", base_model="tiny")
        promote_adapter(session, adapter_id=adapter.id)
        return adapter.id


def _active(database: Database) -> str | None:
    with database.read() as session:
        found = active_adapter(session)
        return found.version if found else None


def _status(database: Database, version: str | None) -> str:
    with database.read() as session:
        return session.scalar(select(Adapter.status).where(Adapter.version == version)) or ""


# --- the active adapter does not load -------------------------------------------------------------


def test_an_active_adapter_that_does_not_load_is_replaced_by_comparing_with_the_base(
    taught: TaughtRun,
) -> None:
    _in_service(taught.database)
    taught.runner.incumbent_error = "adapter in-service: no weights file in /nowhere"

    outcome = taught.retrain()

    assert outcome.status == "succeeded" and outcome.decision == "promoted", outcome.reason
    assert "compared with the base model" in outcome.summary
    assert _active(taught.database) == outcome.candidate
    report = _report(taught.config, outcome.run_id)
    assert report["incumbent_error"] == taught.runner.incumbent_error
    assert report["metrics"]["active"] is None and report["models"]["active"] is None
    assert "no weights file" in report["incumbent_note"]
    html = (taught.config.reports_dir / str(outcome.run_id) / "report.html").read_text("utf-8")
    assert "compared with the base model" in html
    # The facts were asked of the base model too: that is what serving falls back to.
    assert report["facts"]["roles"]["incumbent"]["name"] == "base"
    with taught.database.read() as session:
        run = session.get(RetrainRun, outcome.run_id)
        assert run.metrics["active_is_base"] is True


# --- the world changes while the candidate trains -------------------------------------------------


def test_a_promotion_elsewhere_during_the_run_rejects_the_candidate(taught: TaughtRun) -> None:
    _in_service(taught.database, "r-old")
    taught.runner.during.append(lambda: _in_service(taught.database, "by-hand"))

    outcome = taught.retrain()

    assert outcome.decision == "rejected" and outcome.status == "succeeded"
    assert "the active adapter changed during the run (was r-old, now by-hand)" in outcome.reason
    assert _active(taught.database) == "by-hand"
    assert _status(taught.database, outcome.candidate) == "rejected"
    checks = {c["name"]: c for c in _report(taught.config, outcome.run_id)["gate"]["checks"]}
    assert checks["improvement"]["passed"] and not checks["current"]["passed"]


def test_a_correction_rejected_during_the_run_rejects_the_candidate(taught: TaughtRun) -> None:
    poison = taught.corrections[1]

    def poisoned() -> None:
        with taught.database.write() as session:
            reject_correction(session, correction_id=poison, actor_user_id=9)

    taught.runner.during.append(poisoned)
    outcome = taught.retrain()

    assert outcome.decision == "rejected"
    assert f"correction(s) {poison} were rejected during the run" in outcome.reason
    assert _active(taught.database) is None
    assert _status(taught.database, outcome.candidate) == "rejected"


def test_a_change_between_the_report_and_the_commit_is_caught_in_the_transaction(
    taught: TaughtRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The last check runs inside the promoting transaction, not only before the report."""
    from training import pipeline

    write = pipeline._Run.write
    calls = []

    def write_then_promote(self: pipeline._Run) -> dict[str, Path]:
        written = write(self)
        calls.append(1)
        if len(calls) == 1:  # the first report says "promoted"; then an operator acts
            _in_service(taught.database, "operator-choice")
        return written

    monkeypatch.setattr(pipeline._Run, "write", write_then_promote)
    outcome = taught.retrain()

    assert outcome.decision == "rejected" and "now operator-choice" in outcome.reason
    assert _active(taught.database) == "operator-choice"
    assert len(calls) == 2  # the report was written again, with the final decision
    assert _report(taught.config, outcome.run_id)["decision"] == "rejected"


# --- the lock is lost -----------------------------------------------------------------------------


def test_a_run_whose_lease_was_taken_over_stops_before_promotion(taught: TaughtRun) -> None:
    _in_service(taught.database)

    def taken_over() -> None:  # the lease expired during a stall and another host took it
        with taught.database.write() as session:
            lease = session.get(Lease, LOCK_NAME)
            lease.holder, lease.expires_at = "other-host:1:beef", utcnow() + timedelta(hours=1)

    taught.runner.during.append(taken_over)
    outcome = taught.retrain()

    assert outcome.status == "interrupted" and outcome.decision == "rejected"
    assert "stopped before promotion: the retrain lease was taken over" in outcome.reason
    assert _active(taught.database) == "in-service"
    with taught.database.read() as session:
        assert session.get(Lease, LOCK_NAME).holder == "other-host:1:beef"  # not stolen back
        assert session.get(RetrainRun, outcome.run_id).status == "interrupted"


def test_lease_checks(sqlite_database: Database) -> None:
    with retrain_lock(sqlite_database) as lock:
        with sqlite_database.read() as session:
            assert lock.check(session) is None
        with sqlite_database.write() as session:
            session.get(Lease, LOCK_NAME).expires_at = utcnow() - timedelta(seconds=1)
        with sqlite_database.read() as session:
            assert "expired" in (lock.check(session) or "")
        with sqlite_database.write() as session:
            session.delete(session.get(Lease, LOCK_NAME))
        with sqlite_database.read() as session:
            assert "taken over (now held by nobody)" in (lock.check(session) or "")


def _drop_lock_connection(url: str) -> None:
    """Kill the server session that holds the retrain advisory lock (a dropped connection)."""
    engine = create_engine(url)
    with engine.connect() as connection:
        killed = connection.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' "
                "AND classid::bigint = :high AND objid::bigint = :low"
            ),
            {"high": ADVISORY_KEY >> 32, "low": ADVISORY_KEY & 0xFFFFFFFF},
        ).all()
        connection.commit()
    engine.dispose()
    assert killed == [(True,)]


@ON_POSTGRES
def test_a_run_whose_lock_connection_dropped_stops_before_promotion(
    database: Database, db_url: str, retrain_config: RetrainConfig
) -> None:
    _teach(Conversations(database))
    runner = FakeRunner()
    runner.during.append(lambda: _drop_lock_connection(db_url))
    outcome = run_retrain(database, retrain_config, runner=runner)

    assert outcome.status == "interrupted" and outcome.decision == "rejected", outcome.reason
    assert "connection holding the retrain lock was lost" in outcome.reason
    assert _active(database) is None
    # The lock is free again (the server dropped it with the connection): the next run runs.
    again = run_retrain(database, retrain_config, runner=FakeRunner(), force=True)
    assert again.decision == "promoted", again.reason


@ON_POSTGRES
def test_advisory_lock_checks(database: Database, db_url: str) -> None:
    with retrain_lock(database) as lock:
        assert lock.acquired and lock.backend_pid
        with database.read() as session:
            assert lock.check(session) is None
        _drop_lock_connection(db_url)
        with database.read() as session:
            assert "lost" in (lock.check(session) or "")
    with retrain_lock(database) as again:  # released by the server, taken afresh
        assert again.acquired


# --- facts in the pipeline ------------------------------------------------------------------------


def test_a_candidate_that_loses_facts_is_rejected_and_the_report_shows_them(
    taught: TaughtRun,
) -> None:
    taught.runner.facts = "worse"
    outcome = taught.retrain()

    assert outcome.decision == "rejected" and "fact accuracy falls" in outcome.reason
    assert outcome.facts["incumbent"]["accuracy"] == 0.5
    assert outcome.facts["candidate"]["accuracy"] == 0.0
    assert "fact accuracy: incumbent 50.0%" in outcome.summary
    report = _report(taught.config, outcome.run_id)
    assert set(report["facts"]["roles"]) == {"incumbent", "candidate"}
    assert report["facts"]["changed"] and not report["facts"]["changed"][0]["candidate_right"]
    html = (taught.config.reports_dir / str(outcome.run_id) / "report.html").read_text("utf-8")
    assert "Fact accuracy" in html and "fact accuracy" in html
    with taught.database.read() as session:
        candidate = session.scalar(select(Adapter).where(Adapter.version == outcome.candidate))
        assert candidate.metrics["facts"]["accuracy"] == 0.0
    spec = taught.runner.specs[0]
    assert spec.facts == taught.config.facts
    assert not Path(spec.facts_database or "").exists()  # the scratch copy is gone


def test_a_bad_fact_set_fails_the_run_before_training(taught: TaughtRun, tmp_path: Path) -> None:
    from dataclasses import replace

    bad = tmp_path / "facts.jsonl"
    bad.write_text("{not json\n", encoding="utf-8")
    outcome = taught.retrain(replace(taught.config, facts=replace(taught.config.facts, file=bad)))
    assert outcome.status == "failed" and "facts.jsonl" in outcome.reason
    assert not taught.runner.specs
