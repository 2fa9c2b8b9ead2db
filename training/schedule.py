"""The nightly retrain on APScheduler 3, for ``uttor serve`` (in-process) and ``uttor worker``.

APScheduler 3 facts this module is built around:

* ``misfire_grace_time`` defaults to 1 s: a nightly job that starts a second late (a busy
  machine, a restart at 02:00) would be skipped. It is set to hours here.
* ``coalesce``: several missed runs (the process was down for days) run once, not N times.
* ``max_instances=1``: a run still going when the next one is due is not started twice.
* one job store cannot be shared by several processes, so each process keeps its schedule in
  memory; the database lock in :mod:`training.lock` is what keeps two processes (two replicas,
  or ``serve`` and ``worker``) from retraining at once — the loser skips.
* a job killed mid-run is not re-run: :func:`training.pipeline.recover_interrupted` marks its
  run ``interrupted`` when a scheduler starts, and the next night trains again.

The report is pushed through a callback the bot supplies (``notify``), so this module never
talks to Telegram itself. The callback is called on the scheduler's thread.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from storage.db import Database
from training.config import RetrainConfig
from training.job import stop_jobs
from training.pipeline import RetrainOutcome, recover_interrupted, run_retrain

log = logging.getLogger(__name__)

__all__ = [
    "JOB_ID",
    "Notify",
    "ReportNotice",
    "ScheduleConfig",
    "add_retrain_job",
    "fire_window",
    "create_scheduler",
    "crontab_trigger",
    "scheduled_retrain",
]

JOB_ID = "uttor-nightly-retrain"


@dataclass(frozen=True)
class ReportNotice:
    """What the operators' chat receives after a scheduled run."""

    chat_id: int
    text: str
    photo: Path | None = None


Notify = Callable[[ReportNotice], None]


@dataclass(frozen=True)
class ScheduleConfig:
    """When the nightly retrain runs."""

    cron: str = "0 2 * * *"
    """Crontab expression (minute hour day month weekday)."""
    timezone: str = "Asia/Dhaka"
    """Time zone the crontab is read in."""
    misfire_grace_s: int = 6 * 3600
    """How late a run may still start (a machine busy or restarting at 02:00)."""


def scheduled_retrain(
    database: Database,
    config: RetrainConfig,
    notify: Notify | None = None,
    *,
    window: timedelta | None = None,
) -> RetrainOutcome:
    """The scheduled job: run the pipeline, then push the report to the operators' chat.

    A run skipped because another process holds the retrain lock is not reported: that other
    process reports its own run. ``window`` (:func:`fire_window`): a scheduled run that
    started less than that long ago is this firing's, run by another process; nothing runs
    and nothing is recorded.
    """
    outcome = run_retrain(database, config, trigger="schedule", once_within=window)
    if outcome.run_id is None or notify is None or config.operators_chat_id is None:
        return outcome
    notice = ReportNotice(config.operators_chat_id, outcome.summary, outcome.photo)
    try:
        notify(notice)
    except Exception:
        # The run and its report are already saved; a failed push must not fail the job.
        log.exception("could not push the report of retrain run %s", outcome.run_id)
    return outcome


_CRON_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")


def crontab_trigger(expression: str, timezone: str) -> Any:
    """A ``CronTrigger`` for a standard five-field crontab line.

    APScheduler 3's ``CronTrigger.from_crontab`` reads the weekday field with its own
    numbering (0 = Monday), not crontab's (0 or 7 = Sunday, 1 = Monday): ``* * * * 1`` would
    fire on Tuesdays. Numeric weekdays are rewritten as names, which both agree on.
    """
    from apscheduler.triggers.cron import CronTrigger

    fields = expression.split()
    if len(fields) != 5:
        raise ValueError(f"crontab {expression!r} needs 5 fields, has {len(fields)}")
    fields[4] = re.sub(r"(?<![/\w])([0-7])(?!\w)", lambda m: _CRON_DAYS[int(m.group(1))], fields[4])
    minute, hour, day, month, day_of_week = fields
    return CronTrigger(
        minute=minute,
        hour=hour,
        day=day,
        month=month,
        day_of_week=day_of_week,
        timezone=ZoneInfo(timezone),
    )


def fire_window(schedule: ScheduleConfig) -> timedelta:
    """Half the time between two firings of the schedule (at least a minute): every process's
    scheduler fires at once, and a run that started within it answers that firing."""
    trigger = crontab_trigger(schedule.cron, schedule.timezone)
    now = datetime.now(ZoneInfo(schedule.timezone))
    first = trigger.get_next_fire_time(None, now)
    second = trigger.get_next_fire_time(first, first + timedelta(seconds=1)) if first else None
    if first is None or second is None:
        return timedelta(minutes=1)
    return max(timedelta(minutes=1), (second - first) / 2)


def add_retrain_job(scheduler: Any, schedule: ScheduleConfig, job: Callable[[], Any]) -> Any:
    """Add the nightly cron job to an APScheduler 3 scheduler; returns the job."""
    return scheduler.add_job(
        job,
        trigger=crontab_trigger(schedule.cron, schedule.timezone),
        id=JOB_ID,
        name="nightly retrain",
        replace_existing=True,
        misfire_grace_time=schedule.misfire_grace_s,
        coalesce=True,
        max_instances=1,
    )


def _scheduler_class(blocking: bool) -> type:
    """An APScheduler class whose ``shutdown`` first stops a running training process.

    APScheduler's ``shutdown(wait=True)`` waits for running jobs, which for a retrain can be
    hours; stopping the child first lets the run end at once (recorded ``interrupted``).
    """
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.schedulers.blocking import BlockingScheduler

    base = BlockingScheduler if blocking else BackgroundScheduler

    class RetrainScheduler(base):  # type: ignore[misc, valid-type]
        def shutdown(self, wait: bool = True) -> None:
            stopped = stop_jobs()
            if stopped:
                log.warning("stopped %d training process(es) for shutdown", stopped)
            super().shutdown(wait=wait)

    return RetrainScheduler


def create_scheduler(
    database: Database,
    config: RetrainConfig,
    schedule: ScheduleConfig,
    *,
    notify: Notify | None = None,
    blocking: bool = False,
) -> Any:
    """A scheduler with the nightly retrain; runs left ``running`` are recovered first.

    ``blocking=True`` gives a ``BlockingScheduler`` (``uttor worker``: ``start()`` blocks);
    otherwise a ``BackgroundScheduler`` whose thread runs beside the bot's event loop (the
    pipeline is synchronous and its heavy work is in a child process anyway).
    """
    recovered = recover_interrupted(database)
    if recovered:
        log.warning("marked %d retrain run(s) left running as interrupted", recovered)
    scheduler = _scheduler_class(blocking)(timezone=ZoneInfo(schedule.timezone))
    window = fire_window(schedule)
    add_retrain_job(
        scheduler, schedule, lambda: scheduled_retrain(database, config, notify, window=window)
    )
    return scheduler
