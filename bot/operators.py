"""Operators: the adapter in service, retrain runs and their reports, promotion and rollback."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session
from telegram import Bot, Update
from telegram.error import TelegramError
from telegram.ext import Application, ContextTypes

from bot.args import row_id
from bot.deps import Deps, deps
from bot.roles import staff_only, usage
from bot.sending import send_text
from storage.conversations import count_pending_replies
from storage.corrections import count_untrained_corrections
from storage.errors import StorageError
from storage.models import Adapter, RetrainRun
from storage.registry import (
    active_adapter,
    find_adapter,
    get_run,
    latest_run,
    list_adapters,
    promote_adapter,
    rollback_adapter,
)
from storage.staff import audit
from training.report import REPORT_FILES, summary_text
from training.verify import AdapterInvalid, verify_adapter

if TYPE_CHECKING:
    from training.pipeline import RetrainOutcome
    from training.schedule import Notify

log = logging.getLogger(__name__)

RETRAIN_USAGE = "/retrain"
REPORT_USAGE = "/report [RUN_ID]"
# How long the scheduler's thread waits for a report to reach Telegram.
PUSH_TIMEOUT_S = 120.0
PROMOTE_USAGE = "/promote ADAPTER_ID (id or version, see /adapters)"
ROLLBACK_USAGE = "/rollback"
ADAPTERS_SHOWN = 10


def _rouge(metrics: dict[str, Any]) -> str:
    """ROUGE-L of an adapter's stored metrics, whatever nesting the retrain job used."""
    for scores in (metrics, metrics.get("candidate") or {}, metrics.get("rouge") or {}):
        if isinstance(scores, dict) and isinstance(scores.get("rougeL"), int | float):
            return f"ROUGE-L {scores['rougeL']:.3f}"
    return "no ROUGE yet"


def _adapter_line(adapter: Adapter) -> str:
    promoted = adapter.promoted_at.strftime("%Y-%m-%d %H:%M UTC") if adapter.promoted_at else "-"
    return (
        f"#{adapter.id} {adapter.version} · {adapter.status} · {_rouge(adapter.metrics)} · "
        f"promoted {promoted}"
    )


def _run_line(run: RetrainRun) -> str:
    when = run.started_at.strftime("%Y-%m-%d %H:%M UTC")
    outcome = run.decision or run.error or ""
    return f"run {run.id} ({run.trigger}) {when}: {run.status} {outcome}".rstrip()


def _status(session: Session) -> str:
    adapter = active_adapter(session)
    run = latest_run(session)
    lines = [
        "Adapter in service: "
        + (_adapter_line(adapter) if adapter else "none (the base model answers)"),
        "Last retrain: " + (_run_line(run) if run else "never"),
        f"Corrections waiting for the next retrain: {count_untrained_corrections(session)}",
        f"Flagged replies waiting for an agent: {count_pending_replies(session)}",
    ]
    return "\n".join(lines)


@staff_only("operator")
async def status(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/status: the adapter in service and its ROUGE, the last retrain, what waits for agents."""
    message = update.effective_message
    assert message is not None
    await message.reply_text(await deps(context).read(_status))


def _adapters(session: Session) -> str:
    rows = list_adapters(session)[:ADAPTERS_SHOWN]
    if not rows:
        return "No adapters yet: the base model answers. /retrain trains the first one."
    return "Adapters, newest first:\n" + "\n".join(_adapter_line(a) for a in rows)


@staff_only("operator")
async def adapters(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/adapters: the registry, newest first."""
    message = update.effective_message
    assert message is not None
    await send_text(context.bot, message.chat_id, await deps(context).read(_adapters))


def _adapter_ref(session: Session, ref: str) -> tuple[int, str, str] | None:
    adapter = find_adapter(session, ref=ref)
    return (adapter.id, adapter.path, adapter.version) if adapter else None


def _promote(session: Session, adapter_id: int, actor: int) -> str:
    adapter = promote_adapter(
        session, adapter_id=adapter_id, actor_user_id=actor, reason="promoted by hand (Telegram)"
    )
    return f"Adapter {adapter.version} is active now; serving switches to it within seconds."


@staff_only("operator")
async def promote(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/promote ID: put an adapter in service, once its files prove loadable."""
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    args = context.args or []
    if len(args) != 1:
        await usage(update, PROMOTE_USAGE)
        return
    d = deps(context)
    found = await d.read(lambda session: _adapter_ref(session, args[0]))
    if found is None:
        await message.reply_text(f"There is no adapter {args[0]}.")
        await usage(update, PROMOTE_USAGE)
        return
    adapter_id, path, version = found
    try:
        # Serving would refuse an unreadable adapter after the registry already said "active".
        await asyncio.to_thread(verify_adapter, Path(path), version=version)
        text = await d.write(lambda session: _promote(session, adapter_id, user.id))
    except (AdapterInvalid, StorageError) as exc:  # corrupt, rejected, already active
        text = f"Not promoted: {exc}"
    await message.reply_text(text)


def _rollback(session: Session, actor: int) -> str:
    now_active = rollback_adapter(session, actor_user_id=actor)
    if now_active is None:
        return "Rolled back: no adapter is active, the base model answers."
    return f"Rolled back: adapter {now_active.version} is active again."


@staff_only("operator")
async def rollback(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/rollback: retire the active adapter and bring back the one before it."""
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    if context.args:
        await usage(update, ROLLBACK_USAGE)
        return
    try:
        text = await deps(context).write(lambda session: _rollback(session, user.id))
    except StorageError as exc:  # nothing active
        text = f"Not rolled back: {exc}"
    await message.reply_text(text)


@dataclass(frozen=True)
class ReportFiles:
    """A run's report as the operators' chat shows it: a summary and up to two charts."""

    run_id: int
    summary: str
    charts: list[Path]


def _report_files(session: Session, run_id: int | None) -> ReportFiles | str:
    run = latest_run(session) if run_id is None else get_run(session, run_id=run_id)
    if run is None:
        return "No retrain has run yet." if run_id is None else f"There is no run {run_id}."
    folder = Path(run.report_path) if run.report_path else None
    if folder is not None and folder.suffix:  # a path to report.json or report.html
        folder = folder.parent
    report_json = folder / REPORT_FILES["json"] if folder else None
    if report_json is None or not report_json.is_file():
        return _run_line(run) + "\n(no report was written for this run)"
    report = json.loads(report_json.read_text(encoding="utf-8"))
    charts = [folder / REPORT_FILES[name] for name in ("rouge", "loss")]
    return ReportFiles(
        run_id=run.id, summary=summary_text(report), charts=[c for c in charts if c.is_file()]
    )


async def send_report(bot: Bot, chat_id: int, files: ReportFiles) -> None:
    """Post a report: the charts as photos, the first one captioned with the summary."""
    if not files.charts:
        await send_text(bot, chat_id, files.summary)
        return
    for index, chart in enumerate(files.charts):
        with chart.open("rb") as photo:
            await bot.send_photo(chat_id, photo, caption=files.summary if index == 0 else None)


@staff_only("operator")
async def report(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/report [RUN_ID]: a retrain run's charts and summary (the latest run by default)."""
    message = update.effective_message
    assert message is not None
    args = context.args or []
    run_id = row_id(args[0]) if len(args) == 1 else None
    if len(args) > 1 or (args and run_id is None):
        await usage(update, REPORT_USAGE)
        return
    found = await deps(context).read(lambda session: _report_files(session, run_id))
    if isinstance(found, str):
        await message.reply_text(found)
        return
    await send_report(context.bot, message.chat_id, found)


async def _deliver(bot: Bot, chat_id: int, d: Deps, outcome: RetrainOutcome) -> None:
    """Tell the operator who asked how their retrain went."""
    if outcome.run_id is None:  # another process holds the retrain lock
        await send_text(bot, chat_id, f"Retrain not started: {outcome.reason}")
        return
    run_id = outcome.run_id
    found = await d.read(lambda session: _report_files(session, run_id))
    if isinstance(found, str):
        await send_text(bot, chat_id, found)
    else:
        await send_report(bot, chat_id, found)


@staff_only("operator")
async def retrain(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/retrain: run the retrain pipeline now; its report comes back here when it is done."""
    from bot.cli import CliError
    from bot.cli_training import retrain_config
    from training.pipeline import run_retrain

    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    if context.args:
        await usage(update, RETRAIN_USAGE)
        return
    d = deps(context)
    if d.retrain_running.is_set():
        await message.reply_text("A retrain started from Telegram is still running.")
        return
    try:
        config = retrain_config(d.settings)
    except CliError as exc:  # no base model
        await message.reply_text(f"Cannot retrain: {exc}")
        return
    await d.write(
        lambda session: audit(
            session, actor_user_id=user.id, action="retrain.request", target_type="retrain"
        )
    )
    d.retrain_running.set()
    loop, bot, chat_id = asyncio.get_running_loop(), context.bot, message.chat_id

    def work() -> None:
        # A daemon thread, not an application task: a retrain takes long, and a SIGTERM must
        # not wait for it (the next start marks an unfinished run interrupted).
        try:
            outcome = run_retrain(d.database, config, trigger="telegram")
            future = asyncio.run_coroutine_threadsafe(_deliver(bot, chat_id, d, outcome), loop)
            future.result(PUSH_TIMEOUT_S)
        except Exception:
            log.exception("the retrain requested from Telegram failed to report")
        finally:
            d.retrain_running.clear()

    threading.Thread(target=work, name="uttor-retrain", daemon=True).start()
    log.info("operator %s started a retrain", user.id)
    await message.reply_text("Retrain started; the report comes here when it is done.")


def report_pusher(application: Application, loop: asyncio.AbstractEventLoop) -> Notify:
    """The scheduler's ``notify``: post a finished run's charts and summary to operators.

    The scheduler calls it on its own thread; the post runs on the bot's event loop.
    """
    from training.schedule import ReportNotice

    async def push(notice: ReportNotice) -> None:
        charts = [notice.photo] if notice.photo and notice.photo.is_file() else []
        loss = notice.photo.parent / REPORT_FILES["loss"] if notice.photo else None
        if charts and loss is not None and loss.is_file():
            charts.append(loss)
        files = ReportFiles(run_id=0, summary=notice.text, charts=charts)
        await send_report(application.bot, notice.chat_id, files)

    def notify(notice: ReportNotice) -> None:
        try:
            asyncio.run_coroutine_threadsafe(push(notice), loop).result(PUSH_TIMEOUT_S)
        except TelegramError as exc:
            log.warning("could not push the retrain report to chat %s: %s", notice.chat_id, exc)

    return notify
