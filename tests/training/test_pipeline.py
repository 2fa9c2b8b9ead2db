"""The retrain pipeline with a stand-in trainer: promote, reject, skip, fail, recover."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select

from storage.db import Database
from storage.models import Adapter, Correction, RetrainRun
from storage.registry import active_adapter, get_run, start_run
from tests.training.conftest import Conversations
from tests.training.fakes import FakeRunner
from training.config import RetrainConfig
from training.pipeline import recover_interrupted, run_retrain


def _teach(conversations: Conversations, n: int, offset: int = 0) -> list[int]:
    return [
        conversations.corrected(f"kisti {i} kobe dite hobe?", "?", f"Kisti {i} maser 5 tarikhe.")
        for i in range(offset, offset + n)
    ]


def test_a_better_candidate_is_promoted_and_reported(
    sqlite_database: Database,
    conversations: Conversations,
    retrain_config: RetrainConfig,
    fake_runner: FakeRunner,
) -> None:
    corrections = _teach(conversations, 3)
    outcome = run_retrain(sqlite_database, retrain_config, runner=fake_runner)

    assert outcome.status == "succeeded" and outcome.decision == "promoted", outcome.reason
    assert outcome.metrics["candidate"]["rougeL"] == pytest.approx(1.0)
    assert outcome.metrics["active"]["rougeL"] < 1.0  # the base model: no adapter yet
    report_dir = retrain_config.reports_dir / str(outcome.run_id)
    for name in ("report.json", "report.html", "rouge.png", "loss.png"):
        assert (report_dir / name).is_file(), name
    assert outcome.report == str(report_dir / "report.html")
    assert outcome.photo == report_dir / "rouge.png"
    report = json.loads((report_dir / "report.json").read_text(encoding="utf-8"))
    assert report["decision"] == "promoted" and report["gate"]["promote"]
    assert report["samples"] and report["languages"]["counts"]
    assert set(report["difference"]) == {"rouge1", "rouge2", "rougeL", "rougeLsum"}

    spec = fake_runner.specs[0]
    assert spec.incumbent is None and spec.train == retrain_config.train
    assert Path(spec.adapter_dir).parent == retrain_config.adapters_dir
    exported = json.loads(Path(spec.train_file).read_text(encoding="utf-8"))
    assert any(p["text"].startswith("kisti") for p in exported)
    with sqlite_database.read() as session:
        active = active_adapter(session)
        assert active is not None and active.version == outcome.candidate
        run = get_run(session, run_id=outcome.run_id)
        assert run.status == "succeeded" and run.decision == "promoted"
        assert run.candidate_adapter_id == active.id and run.report_path == outcome.report
        assert run.metrics["candidate"]["rougeL"] == pytest.approx(1.0)
        used = session.scalars(
            select(Correction.retrain_run_id).where(Correction.id.in_(corrections))
        ).all()
        assert set(used) == {outcome.run_id}


def test_a_worse_candidate_is_rejected_and_the_active_adapter_stays(
    sqlite_database: Database,
    conversations: Conversations,
    retrain_config: RetrainConfig,
    fake_runner: FakeRunner,
) -> None:
    _teach(conversations, 3)
    first = run_retrain(sqlite_database, retrain_config, runner=fake_runner)
    assert first.decision == "promoted"

    _teach(conversations, 3, offset=10)
    fake_runner.candidate = "worse"
    second = run_retrain(sqlite_database, retrain_config, runner=fake_runner)

    assert second.decision == "rejected" and "lower bound is not above" in second.reason
    assert fake_runner.specs[1].incumbent.version == first.candidate
    with sqlite_database.read() as session:
        assert active_adapter(session).version == first.candidate
        rejected = session.scalar(select(Adapter).where(Adapter.version == second.candidate))
        assert rejected.status == "rejected" and "lower bound is not above" in rejected.reason
        assert rejected.parent_id == active_adapter(session).id


def test_a_candidate_in_the_wrong_script_is_rejected(
    sqlite_database: Database,
    conversations: Conversations,
    retrain_config: RetrainConfig,
    fake_runner: FakeRunner,
) -> None:
    _teach(conversations, 3)
    fake_runner.canary_answers = {"bn": "Your order will come soon."}
    outcome = run_retrain(sqlite_database, retrain_config, runner=fake_runner)
    assert outcome.decision == "rejected"
    assert "canary failed: bn" in outcome.reason


def test_an_adapter_that_does_not_load_is_rejected(
    sqlite_database: Database,
    conversations: Conversations,
    retrain_config: RetrainConfig,
    fake_runner: FakeRunner,
) -> None:
    _teach(conversations, 3)
    fake_runner.loads = False
    outcome = run_retrain(sqlite_database, retrain_config, runner=fake_runner)
    assert outcome.decision == "rejected"
    assert outcome.reason.startswith("adapter did not load")
    with sqlite_database.read() as session:
        assert active_adapter(session) is None


def test_too_few_new_pairs_skips_unless_forced(
    sqlite_database: Database,
    conversations: Conversations,
    retrain_config: RetrainConfig,
    fake_runner: FakeRunner,
) -> None:
    _teach(conversations, 1)
    skipped = run_retrain(sqlite_database, retrain_config, runner=fake_runner)
    assert skipped.decision == "skipped" and skipped.status == "succeeded"
    assert skipped.reason.startswith("1 new pairs since the last trained run; 2 needed")
    assert not fake_runner.specs
    html = Path(skipped.report).read_text(encoding="utf-8")
    assert "2 needed" in html

    forced = run_retrain(sqlite_database, retrain_config, runner=fake_runner, force=True)
    assert forced.decision == "promoted"
    # Everything in the database was in that run's export: nothing new since.
    again = run_retrain(sqlite_database, retrain_config, runner=fake_runner)
    assert again.decision == "skipped" and again.reason.startswith("0 new pairs")
    _teach(conversations, 2, offset=50)
    assert run_retrain(sqlite_database, retrain_config, runner=fake_runner).decision in (
        "promoted",
        "rejected",
    )


def test_a_failing_trainer_fails_the_run_and_frees_the_lock(
    sqlite_database: Database, retrain_config: RetrainConfig, fake_runner: FakeRunner
) -> None:
    def broken(spec, work_dir, **kwargs):
        raise RuntimeError("CUDA out of memory\nmore lines")

    failed = run_retrain(sqlite_database, retrain_config, runner=broken, force=True)
    assert failed.status == "failed" and failed.decision == "failed"
    assert failed.reason == "RuntimeError: CUDA out of memory more lines"
    with sqlite_database.read() as session:
        run = get_run(session, run_id=failed.run_id)
        assert run.status == "failed" and "CUDA out of memory" in run.error
    assert Path(failed.report).is_file()
    assert run_retrain(sqlite_database, retrain_config, runner=fake_runner, force=True).decision


def test_runs_left_running_are_marked_interrupted(
    sqlite_database: Database, retrain_config: RetrainConfig, fake_runner: FakeRunner
) -> None:
    with sqlite_database.write() as session:
        stale = start_run(session, trigger="schedule", pid=999999, host="gone").id
    assert recover_interrupted(sqlite_database) == 1
    with sqlite_database.read() as session:
        assert get_run(session, run_id=stale).status == "interrupted"
    assert recover_interrupted(sqlite_database) == 0


KILLED_RUN = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from storage.db import Database
    from training.config import RetrainConfig
    from training.pipeline import run_retrain

    def hang(spec, work_dir, **kwargs):
        Path(sys.argv[2]).write_text("training")
        time.sleep(600)

    config = RetrainConfig(home=Path(sys.argv[3]), base_model="tiny-base",
                           train_file=Path(sys.argv[4]), test_file=Path(sys.argv[5]))
    run_retrain(Database(sys.argv[1]), config, runner=hang, force=True)
    """
)


def test_a_killed_run_is_recovered_by_the_next_one(
    sqlite_database: Database,
    retrain_config: RetrainConfig,
    fake_runner: FakeRunner,
    tmp_path: Path,
) -> None:
    marker = tmp_path / "started"
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            KILLED_RUN,
            sqlite_database.url,
            str(marker),
            str(retrain_config.home),
            str(retrain_config.train_file),
            str(retrain_config.test_file),
        ],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    try:
        for _ in range(1200):
            if marker.exists() or child.poll() is not None:
                break
            time.sleep(0.05)
        assert marker.exists(), "the child run never reached training"
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()

    # The killed process still holds the lease; being dead on this host, it is taken over.
    outcome = run_retrain(sqlite_database, replace(retrain_config), runner=fake_runner, force=True)
    assert outcome.decision == "promoted", outcome.reason
    with sqlite_database.read() as session:
        runs = session.scalars(select(RetrainRun).order_by(RetrainRun.id)).all()
        assert [r.status for r in runs] == ["interrupted", "succeeded"]
        assert runs[0].pid == child.pid and runs[0].error == "process ended mid-run"
