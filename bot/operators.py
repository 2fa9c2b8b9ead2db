"""Operators: the adapter in service, retrain runs and their reports, promotion and rollback."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session
from telegram import Bot, Update
from telegram.ext import ContextTypes

from bot.deps import deps
from bot.roles import staff_only, usage
from bot.sending import send_text
from storage.conversations import count_pending_replies
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
from training.report import REPORT_FILES, summary_text

log = logging.getLogger(__name__)

REPORT_USAGE = "/report [RUN_ID]"
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


def _promote(session: Session, ref: str, actor: int) -> str:
    adapter = find_adapter(session, ref=ref)
    if adapter is None:
        return f"There is no adapter {ref}."
    promote_adapter(session, adapter_id=adapter.id, actor_user_id=actor, reason="operator")
    return f"Adapter {adapter.version} is active now; serving switches to it within seconds."


@staff_only("operator")
async def promote(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/promote ID: put an adapter in service."""
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    args = context.args or []
    if len(args) != 1:
        await usage(update, PROMOTE_USAGE)
        return
    try:
        text = await deps(context).write(lambda session: _promote(session, args[0], user.id))
    except StorageError as exc:  # rejected, already active
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
    if len(args) > 1 or (args and not args[0].isdigit()):
        await usage(update, REPORT_USAGE)
        return
    run_id = int(args[0]) if args else None
    found = await deps(context).read(lambda session: _report_files(session, run_id))
    if isinstance(found, str):
        await message.reply_text(found)
        return
    await send_report(context.bot, message.chat_id, found)
