"""The nightly schedule: APScheduler 3 settings, recovery at start, report pushed to operators."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from storage.db import Database
from storage.registry import get_run, latest_run, start_run
from tests.training.conftest import Conversations
from tests.training.fakes import FakeRunner
from training.config import RetrainConfig
from training.lock import retrain_lock
from training.schedule import (
    JOB_ID,
    ReportNotice,
    ScheduleConfig,
    create_scheduler,
    scheduled_retrain,
)


@pytest.fixture
def pushed(monkeypatch: pytest.MonkeyPatch) -> list[ReportNotice]:
    monkeypatch.setattr("training.pipeline.spawn_job", FakeRunner())
    return []


def test_the_job_survives_late_starts_and_never_overlaps(
    sqlite_database: Database, retrain_config: RetrainConfig
) -> None:
    scheduler = create_scheduler(sqlite_database, retrain_config, ScheduleConfig())
    job = scheduler.get_job(JOB_ID)
    assert job.misfire_grace_time == 6 * 3600  # APScheduler's default is 1 s
    assert job.coalesce is True and job.max_instances == 1
    # 02:00 in Dhaka (UTC+6) is 20:00 UTC the evening before.
    noon = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    assert job.trigger.get_next_fire_time(None, noon) == datetime(2026, 3, 1, 20, 0, tzinfo=UTC)
    other = ScheduleConfig(cron="15 4 * * 1", timezone="UTC", misfire_grace_s=60)
    job = create_scheduler(sqlite_database, retrain_config, other).get_job(JOB_ID)
    monday = job.trigger.get_next_fire_time(None, noon)
    assert (monday.weekday(), monday.hour, monday.minute) == (0, 4, 15)


def test_a_starting_scheduler_marks_stale_runs_interrupted(
    sqlite_database: Database, retrain_config: RetrainConfig
) -> None:
    with sqlite_database.write() as session:
        stale = start_run(session, trigger="schedule").id
    create_scheduler(sqlite_database, retrain_config, ScheduleConfig())
    with sqlite_database.read() as session:
        assert get_run(session, run_id=stale).status == "interrupted"


def test_the_report_goes_to_the_operators_chat(
    sqlite_database: Database,
    conversations: Conversations,
    retrain_config: RetrainConfig,
    pushed: list[ReportNotice],
) -> None:
    config = replace(retrain_config, operators_chat_id=-100777)
    for i in range(3):
        conversations.corrected(f"kisti {i} kobe?", "?", f"Kisti {i} maser 5 tarikhe.")
    outcome = scheduled_retrain(sqlite_database, config, pushed.append)
    assert outcome.decision == "promoted"
    assert len(pushed) == 1
    notice = pushed[0]
    assert notice.chat_id == -100777
    assert notice.photo == Path(outcome.report).parent / "rouge.png" and notice.photo.is_file()
    assert notice.text.startswith(f"uttor retrain run {outcome.run_id}: promoted")
    with sqlite_database.read() as session:
        assert get_run(session, run_id=outcome.run_id).trigger == "schedule"

    # A skipped night is reported too, as text.
    skipped = scheduled_retrain(sqlite_database, config, pushed.append)
    assert skipped.decision == "skipped"
    assert pushed[1].photo is None and "0 new pairs" in pushed[1].text


def test_push_failures_and_lock_losers(
    sqlite_database: Database, retrain_config: RetrainConfig, pushed: list[ReportNotice]
) -> None:
    config = replace(retrain_config, operators_chat_id=5)

    def broken(notice: ReportNotice) -> None:
        raise ConnectionError("Bot API down")

    assert scheduled_retrain(sqlite_database, config, broken).decision == "skipped"
    # Another process holds the lock: it reports its own run, this one stays quiet.
    with retrain_lock(sqlite_database) as lock:
        assert lock.acquired
        outcome = scheduled_retrain(sqlite_database, config, pushed.append)
    assert outcome.status == "skipped" and outcome.run_id is None
    assert pushed == []
    # No operators' chat configured: nothing is pushed.
    scheduled_retrain(sqlite_database, retrain_config, pushed.append)
    assert pushed == []


def test_a_firing_runs_once_however_many_replicas_fire(
    sqlite_database: Database, retrain_config: RetrainConfig, pushed: list[ReportNotice]
) -> None:
    """Every replica's scheduler fires at 02:00; the one that takes the lock after the first
    run finished finds that run and records nothing (it used to record a second night)."""
    from datetime import timedelta

    from training.schedule import ScheduleConfig, fire_window

    config = replace(retrain_config, operators_chat_id=5)
    window = fire_window(ScheduleConfig(cron="0 2 * * *"))
    assert window == timedelta(hours=12)
    first = scheduled_retrain(sqlite_database, config, pushed.append, window=window)
    second = scheduled_retrain(sqlite_database, config, pushed.append, window=window)
    assert first.run_id is not None and second.run_id is None
    assert "already started" in (second.reason or "")
    assert len(pushed) == 1
    with sqlite_database.read() as session:
        assert latest_run(session, trigger="schedule").id == first.run_id
    # A firing outside the window (the next night) runs again; so does a manual run.
    assert scheduled_retrain(sqlite_database, config, window=timedelta(0)).run_id is not None


@pytest.mark.parametrize(
    ("cron", "weekday"), [("0 2 * * 0", 6), ("0 2 * * 7", 6), ("0 2 * * 1-5", 0), ("0 2 * * 6", 5)]
)
def test_crontab_weekdays_mean_what_crontab_says(cron: str, weekday: int) -> None:
    """APScheduler 3's own from_crontab would read 1 as Tuesday."""
    from training.schedule import crontab_trigger

    saturday_noon = datetime(2026, 2, 28, 12, 0, tzinfo=UTC)
    fire = crontab_trigger(cron, "UTC").get_next_fire_time(None, saturday_noon)
    assert fire.weekday() == weekday and fire.hour == 2


def test_a_malformed_crontab_is_refused() -> None:
    from training.schedule import crontab_trigger

    with pytest.raises(ValueError):
        crontab_trigger("0 2 * *", "Asia/Dhaka")


def test_shutdown_stops_a_running_training_process(
    sqlite_database: Database,
    conversations: Conversations,
    real_retrain_config: RetrainConfig,
) -> None:
    """``shutdown()`` would otherwise wait for the whole training (hours on a real model)."""
    for i in range(3):
        conversations.corrected(f"kisti {i} kobe?", "?", f"Kisti {i} maser 5 tarikhe.")
    config = replace(
        real_retrain_config, train=replace(real_retrain_config.train, epochs=500, batch_size=1)
    )
    scheduler = create_scheduler(sqlite_database, config, ScheduleConfig(timezone="UTC"))
    scheduler.get_job(JOB_ID).modify(next_run_time=datetime.now(UTC))
    scheduler.start()
    try:
        for _ in range(3000):
            logs = list(config.home.glob("reports/*/job/job.log"))
            if logs and "step 1/" in logs[0].read_text(encoding="utf-8"):
                break
            time.sleep(0.05)
        else:
            raise AssertionError("training never started")
    finally:
        scheduler.shutdown()
    with sqlite_database.read() as session:
        run = latest_run(session)
        assert run.status == "interrupted" and "shutting down" in run.error
