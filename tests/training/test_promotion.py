"""Fault tests of promotion: what changes while a candidate trains must stop it from serving.

The stand-in trainer (:class:`tests.training.fakes.FakeRunner`) runs ``during`` actions while
it "trains": another adapter is promoted, a correction is rejected, the lock is lost. Each time
the candidate, better on every score, must be rejected with that reason, and the adapter in
service must stay.
"""

from __future__ import annotations

import json
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
from training.pipeline import run_retrain


def _teach(conversations: Conversations, n: int = 3) -> list[int]:
    return [
        conversations.corrected(f"kisti {i} kobe dite hobe?", "?", f"Kisti {i} maser 5 tarikhe.")
        for i in range(n)
    ]


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
    sqlite_database: Database,
    conversations: Conversations,
    retrain_config: RetrainConfig,
    fake_runner: FakeRunner,
) -> None:
    _teach(conversations)
    _in_service(sqlite_database)
    fake_runner.incumbent_error = "adapter in-service: no weights file in /nowhere"

    outcome = run_retrain(sqlite_database, retrain_config, runner=fake_runner)

    assert outcome.status == "succeeded" and outcome.decision == "promoted", outcome.reason
    assert "compared with the base model" in outcome.summary
    assert _active(sqlite_database) == outcome.candidate
    report = _report(retrain_config, outcome.run_id)
    assert report["incumbent_error"] == fake_runner.incumbent_error
    assert report["metrics"]["active"] is None and report["models"]["active"] is None
    assert "no weights file" in report["incumbent_note"]
    html = (retrain_config.reports_dir / str(outcome.run_id) / "report.html").read_text("utf-8")
    assert "compared with the base model" in html
    # The facts were asked of the base model too: that is what serving falls back to.
    assert report["facts"]["roles"]["incumbent"]["name"] == "base"
    with sqlite_database.read() as session:
        run = session.get(RetrainRun, outcome.run_id)
        assert run.metrics["active_is_base"] is True


# --- the world changes while the candidate trains -------------------------------------------------


def test_a_promotion_elsewhere_during_the_run_rejects_the_candidate(
    sqlite_database: Database,
    conversations: Conversations,
    retrain_config: RetrainConfig,
    fake_runner: FakeRunner,
) -> None:
    _teach(conversations)
    _in_service(sqlite_database, "r-old")
    fake_runner.during.append(lambda: _in_service(sqlite_database, "by-hand"))

    outcome = run_retrain(sqlite_database, retrain_config, runner=fake_runner)

    assert outcome.decision == "rejected" and outcome.status == "succeeded"
    assert "the active adapter changed during the run (was r-old, now by-hand)" in outcome.reason
    assert _active(sqlite_database) == "by-hand"
    assert _status(sqlite_database, outcome.candidate) == "rejected"
    checks = {c["name"]: c for c in _report(retrain_config, outcome.run_id)["gate"]["checks"]}
    assert checks["improvement"]["passed"] and not checks["current"]["passed"]


def test_a_correction_rejected_during_the_run_rejects_the_candidate(
    sqlite_database: Database,
    conversations: Conversations,
    retrain_config: RetrainConfig,
    fake_runner: FakeRunner,
) -> None:
    corrections = _teach(conversations)

    def poisoned() -> None:
        with sqlite_database.write() as session:
            reject_correction(session, correction_id=corrections[1], actor_user_id=9)

    fake_runner.during.append(poisoned)
    outcome = run_retrain(sqlite_database, retrain_config, runner=fake_runner)

    assert outcome.decision == "rejected"
    assert f"correction(s) {corrections[1]} were rejected during the run" in outcome.reason
    assert _active(sqlite_database) is None
    assert _status(sqlite_database, outcome.candidate) == "rejected"


def test_a_change_between_the_report_and_the_commit_is_caught_in_the_transaction(
    sqlite_database: Database,
    conversations: Conversations,
    retrain_config: RetrainConfig,
    fake_runner: FakeRunner,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The last check runs inside the promoting transaction, not only before the report."""
    from training import pipeline

    _teach(conversations)
    write = pipeline._Run.write
    calls = []

    def write_then_promote(self: pipeline._Run) -> dict[str, Path]:
        written = write(self)
        calls.append(1)
        if len(calls) == 1:  # the first report says "promoted"; then an operator acts
            _in_service(sqlite_database, "operator-choice")
        return written

    monkeypatch.setattr(pipeline._Run, "write", write_then_promote)
    outcome = run_retrain(sqlite_database, retrain_config, runner=fake_runner)

    assert outcome.decision == "rejected" and "now operator-choice" in outcome.reason
    assert _active(sqlite_database) == "operator-choice"
    assert len(calls) == 2  # the report was written again, with the final decision
    assert _report(retrain_config, outcome.run_id)["decision"] == "rejected"


# --- the lock is lost -----------------------------------------------------------------------------


def test_a_run_whose_lease_was_taken_over_stops_before_promotion(
    sqlite_database: Database,
    conversations: Conversations,
    retrain_config: RetrainConfig,
    fake_runner: FakeRunner,
) -> None:
    _teach(conversations)
    _in_service(sqlite_database)

    def taken_over() -> None:  # the lease expired during a stall and another host took it
        with sqlite_database.write() as session:
            lease = session.get(Lease, LOCK_NAME)
            lease.holder, lease.expires_at = "other-host:1:beef", utcnow() + timedelta(hours=1)

    fake_runner.during.append(taken_over)
    outcome = run_retrain(sqlite_database, retrain_config, runner=fake_runner)

    assert outcome.status == "interrupted" and outcome.decision == "rejected"
    assert "stopped before promotion: the retrain lease was taken over" in outcome.reason
    assert _active(sqlite_database) == "in-service"
    with sqlite_database.read() as session:
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


def test_a_run_whose_lock_connection_dropped_stops_before_promotion(
    postgres_url: str, retrain_config: RetrainConfig
) -> None:
    from migrations.runner import upgrade

    upgrade(postgres_url)
    database = Database(postgres_url)
    try:
        _teach(Conversations(database))
        runner = FakeRunner()
        runner.during.append(lambda: _drop_lock_connection(postgres_url))
        outcome = run_retrain(database, retrain_config, runner=runner)

        assert outcome.status == "interrupted" and outcome.decision == "rejected", outcome.reason
        assert "connection holding the retrain lock was lost" in outcome.reason
        assert _active(database) is None
        # The lock is free again (the server dropped it with the connection): the next run runs.
        again = run_retrain(database, retrain_config, runner=FakeRunner(), force=True)
        assert again.decision == "promoted", again.reason
    finally:
        database.dispose()


def test_advisory_lock_checks(postgres_url: str) -> None:
    from migrations.runner import upgrade

    upgrade(postgres_url)
    database = Database(postgres_url)
    try:
        with retrain_lock(database) as lock:
            assert lock.acquired and lock.backend_pid
            with database.read() as session:
                assert lock.check(session) is None
            _drop_lock_connection(postgres_url)
            with database.read() as session:
                assert "lost" in (lock.check(session) or "")
        with retrain_lock(database) as again:  # released by the server, taken afresh
            assert again.acquired
    finally:
        database.dispose()


# --- facts in the pipeline ------------------------------------------------------------------------


def test_a_candidate_that_loses_facts_is_rejected_and_the_report_shows_them(
    sqlite_database: Database,
    conversations: Conversations,
    retrain_config: RetrainConfig,
    fake_runner: FakeRunner,
) -> None:
    _teach(conversations)
    fake_runner.facts = "worse"
    outcome = run_retrain(sqlite_database, retrain_config, runner=fake_runner)

    assert outcome.decision == "rejected" and "fact accuracy falls" in outcome.reason
    assert outcome.facts["incumbent"]["accuracy"] == 0.5
    assert outcome.facts["candidate"]["accuracy"] == 0.0
    assert "fact accuracy: incumbent 50.0%" in outcome.summary
    report = _report(retrain_config, outcome.run_id)
    assert set(report["facts"]["roles"]) == {"incumbent", "candidate"}
    assert report["facts"]["changed"] and not report["facts"]["changed"][0]["candidate_right"]
    html = (retrain_config.reports_dir / str(outcome.run_id) / "report.html").read_text("utf-8")
    assert "Fact accuracy" in html and "fact accuracy" in html
    with sqlite_database.read() as session:
        candidate = session.scalar(select(Adapter).where(Adapter.version == outcome.candidate))
        assert candidate.metrics["facts"]["accuracy"] == 0.0
    spec = fake_runner.specs[0]
    assert spec.facts == retrain_config.facts
    assert not Path(spec.facts_database or "").exists()  # the scratch copy is gone


def test_a_bad_fact_set_fails_the_run_before_training(
    sqlite_database: Database,
    conversations: Conversations,
    retrain_config: RetrainConfig,
    fake_runner: FakeRunner,
    tmp_path: Path,
) -> None:
    from dataclasses import replace

    _teach(conversations)
    bad = tmp_path / "facts.jsonl"
    bad.write_text("{not json\n", encoding="utf-8")
    config = replace(retrain_config, facts=replace(retrain_config.facts, file=bad))
    outcome = run_retrain(sqlite_database, config, runner=fake_runner)
    assert outcome.status == "failed" and "facts.jsonl" in outcome.reason
    assert not fake_runner.specs
