"""One retrain at a time: the database lock, and two concurrent runs (one runs, one skips)."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from datetime import timedelta

from sqlalchemy import func, select

from storage.db import Database
from storage.models import Lease, RetrainRun, utcnow
from tests.training.conftest import Conversations
from tests.training.fakes import FakeRunner
from training.config import RetrainConfig
from training.lock import LOCK_NAME, retrain_lock
from training.pipeline import run_retrain


def test_a_second_holder_is_refused_until_the_first_releases(database: Database) -> None:
    with retrain_lock(database) as first:
        assert first.acquired
        with retrain_lock(database) as second:
            assert not second.acquired and second.other
    with retrain_lock(database) as third:
        assert third.acquired


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _plant_lease(database: Database, holder: str) -> None:
    with database.write() as session:
        session.add(Lease(name=LOCK_NAME, holder=holder, expires_at=utcnow() + timedelta(hours=1)))


def test_a_lease_of_a_dead_local_process_is_taken_over(sqlite_database: Database) -> None:
    _plant_lease(sqlite_database, f"{socket.gethostname()}:{_dead_pid()}:abcd")
    with retrain_lock(sqlite_database) as lock:
        assert lock.acquired


def test_a_live_lease_elsewhere_is_respected(sqlite_database: Database) -> None:
    _plant_lease(sqlite_database, "other-host:1:abcd")
    with retrain_lock(sqlite_database) as lock:
        assert not lock.acquired and lock.other == "other-host:1:abcd"


def test_two_concurrent_runs_one_runs_one_skips(
    database: Database, retrain_config: RetrainConfig
) -> None:
    conversations = Conversations(database)
    for i in range(3):
        conversations.corrected(f"kisti {i} kobe?", "?", f"Kisti {i} maser 5 tarikhe.")
    training = threading.Event()
    release = threading.Event()
    runner = FakeRunner()

    def slow_runner(spec, work_dir, **kwargs):
        training.set()
        assert release.wait(60), "the test never released the first run"
        return runner(spec, work_dir, **kwargs)

    outcomes = {}
    first = threading.Thread(
        target=lambda: outcomes.setdefault(
            "first", run_retrain(database, retrain_config, runner=slow_runner)
        )
    )
    first.start()
    assert training.wait(60)
    outcomes["second"] = run_retrain(database, retrain_config, runner=runner)
    release.set()
    first.join(60)

    assert outcomes["second"].status == "skipped" and outcomes["second"].run_id is None
    assert "another retrain is running" in outcomes["second"].reason
    assert outcomes["first"].decision == "promoted"
    with database.read() as session:
        assert session.scalar(select(func.count(RetrainRun.id))) == 1
    assert len(runner.specs) == 1
