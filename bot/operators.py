"""Operators: the adapter in service, retrain runs and their reports, promotion and rollback.

The actions are ``operations/`` (the CLI runs the same ones); these handlers parse the
command, run the action off the event loop and word the result for Telegram.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from telegram import Bot, Update
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot.args import row_id
from bot.deps import Deps, deps
from bot.roles import staff_only, usage
from bot.sending import send_text
from model.backend import GenerationBackend
from model.errors import ModelLoadError
from operations import adapters as adapter_ops
from operations import reports as report_ops
from operations.adapters import AdapterView
from operations.errors import Missing, Refused
from operations.retrain import retrain_now
from operations.status import status as read_status
from storage.staff import audit

if TYPE_CHECKING:
    from training.pipeline import RetrainOutcome
    from training.schedule import Notify, ReportNotice

log = logging.getLogger(__name__)

RETRAIN_USAGE = "/retrain"
REPORT_USAGE = "/report [RUN_ID]"
# How long the scheduler's thread waits for a report to reach Telegram.
PUSH_TIMEOUT_S = 120.0
PROMOTE_USAGE = "/promote ADAPTER_ID (id or version, see /adapters)"
ROLLBACK_USAGE = "/rollback"
ADAPTERS_SHOWN = 10


def adapter_line(adapter: AdapterView) -> str:
    promoted = adapter.promoted_at.strftime("%Y-%m-%d %H:%M UTC") if adapter.promoted_at else "-"
    rouge = f"ROUGE-L {adapter.rouge_l:.3f}" if adapter.rouge_l is not None else "no ROUGE yet"
    return f"#{adapter.id} {adapter.version} · {adapter.status} · {rouge} · promoted {promoted}"


@staff_only("operator")
async def status(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/status: the adapter in service and its ROUGE, the last retrain, what waits for agents."""
    message = update.effective_message
    assert message is not None
    now = await deps(context).call(read_status)
    lines = [
        "Adapter in service: "
        + (adapter_line(now.active) if now.active else "none (the base model answers)"),
        "Last retrain: " + (now.last_run.line() if now.last_run else "never"),
        f"Corrections waiting for the next retrain: {now.corrections_waiting}",
        f"Flagged replies waiting for an agent: {now.flagged_waiting}",
    ]
    lines += serving_lines(deps(context).backend, now.active.version if now.active else None)
    await message.reply_text("\n".join(lines))


def serving_lines(backend: GenerationBackend | None, registry: str | None) -> list[str]:
    """What the model of this process serves, when it differs from the registry, and the
    adapters it refused (each with why): a refused adapter leaves the previous one serving."""
    if backend is None:
        return []
    lines = []
    serving = backend.adapter.version if backend.adapter else None
    if serving != registry:
        lines.append(
            f"Serving here: {serving or 'the base model'} (registry: {registry or 'base'})"
        )
    for version, reason in sorted(backend.refusals().items()):
        lines.append(f"Refused adapter {version}: {reason}"[:400])
    return lines


@staff_only("operator")
async def adapters(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/adapters: the registry, newest first."""
    message = update.effective_message
    assert message is not None
    rows = (await deps(context).call(adapter_ops.list_adapters))[:ADAPTERS_SHOWN]
    if not rows:
        text = "No adapters yet: the base model answers. /retrain trains the first one."
    else:
        text = "Adapters, newest first:\n" + "\n".join(adapter_line(a) for a in rows)
    await send_text(context.bot, message.chat_id, text)


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
    try:
        # The base in service, so an adapter of another base is refused before serving sees it.
        base = d.retrain_config().base_model if d.retrain_config is not None else None
    except ModelLoadError:
        base = None
    try:
        promoted = await d.call(
            adapter_ops.promote, args[0], actor_user_id=user.id, via="Telegram", base_model=base
        )
    except Missing:
        await message.reply_text(f"There is no adapter {args[0]}.")
        await usage(update, PROMOTE_USAGE)
        return
    except Refused as exc:  # corrupt, rejected, already active
        await message.reply_text(f"Not promoted: {exc}")
        return
    await message.reply_text(
        f"Adapter {promoted.version} is active now; serving switches to it within seconds."
    )


@staff_only("operator")
async def rollback(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/rollback: retire the active adapter and bring back the one before it."""
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    if context.args:
        await usage(update, ROLLBACK_USAGE)
        return
    try:
        done = await deps(context).call(adapter_ops.rollback, actor_user_id=user.id)
    except Refused as exc:  # nothing active
        await message.reply_text(f"Not rolled back: {exc}")
        return
    if done.active is None:
        await message.reply_text("Rolled back: no adapter is active, the base model answers.")
    else:
        await message.reply_text(f"Rolled back: adapter {done.active.version} is active again.")


async def send_report(bot: Bot, chat_id: int, summary: str, charts: list[Path]) -> None:
    """Post a report: the charts as photos, the first one captioned with the summary."""
    if not charts:
        await send_text(bot, chat_id, summary)
        return
    for index, chart in enumerate(charts):
        with chart.open("rb") as photo:
            await bot.send_photo(chat_id, photo, caption=summary if index == 0 else None)


async def _send_run_report(bot: Bot, chat_id: int, d: Deps, run_id: int | None) -> bool:
    """Send run ``run_id``'s report (the latest by default); ``False`` if there is no run."""
    try:
        found = await d.call(report_ops.find_report, run_id)
    except Missing:
        await send_text(bot, chat_id, f"There is no run {run_id}.")
        return False
    except Refused:
        await send_text(bot, chat_id, "No retrain has run yet.")
        return False
    await send_report(bot, chat_id, found.summary, found.charts)
    return True


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
    await _send_run_report(context.bot, message.chat_id, deps(context), run_id)


async def _deliver(bot: Bot, chat_id: int, d: Deps, outcome: RetrainOutcome) -> None:
    """Tell the operator who asked how their retrain went."""
    if outcome.run_id is None:  # another process holds the retrain lock
        await send_text(bot, chat_id, f"Retrain not started: {outcome.reason}")
        return
    await _send_run_report(bot, chat_id, d, outcome.run_id)


@staff_only("operator")
async def retrain(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/retrain: run the retrain pipeline now; its report comes back here when it is done."""
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    if context.args:
        await usage(update, RETRAIN_USAGE)
        return
    d = deps(context)
    if d.retrain_running.is_set():
        await message.reply_text("A retrain started from Telegram is still running.")
        return
    if d.retrain_config is None:
        await message.reply_text("Cannot retrain: this bot was started without a retrain setup.")
        return
    try:
        config = d.retrain_config()
    except ModelLoadError as exc:  # no base model
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
            outcome = retrain_now(d.database, config, trigger="telegram")
            future = asyncio.run_coroutine_threadsafe(_deliver(bot, chat_id, d, outcome), loop)
            future.result(PUSH_TIMEOUT_S)
        except Exception:
            log.exception("the retrain requested from Telegram failed to report")
        finally:
            d.retrain_running.clear()

    threading.Thread(target=work, name="uttor-retrain", daemon=True).start()
    log.info("operator %s started a retrain", user.id)
    await message.reply_text("Retrain started; the report comes here when it is done.")


def report_notifier(bot: Bot, loop: asyncio.AbstractEventLoop | None = None) -> Notify:
    """The scheduler's ``notify``: post a finished run's charts and summary to operators.

    ``serve`` and ``worker`` send the same report through this one function. The scheduler
    calls it on its own thread: with ``loop`` (the running bot's) the post runs there; without
    one (``uttor worker`` has no bot running) it runs on a loop of its own.
    """

    async def push(notice: ReportNotice) -> None:
        folder = notice.photo.parent if notice.photo else None
        await send_report(bot, notice.chat_id, notice.text, report_ops.charts_in(folder))

    async def push_alone(notice: ReportNotice) -> None:
        async with bot:
            await push(notice)

    def notify(notice: ReportNotice) -> None:
        try:
            if loop is not None:
                asyncio.run_coroutine_threadsafe(push(notice), loop).result(PUSH_TIMEOUT_S)
            else:
                asyncio.run(push_alone(notice))
        except TelegramError as exc:
            log.warning("could not push the retrain report to chat %s: %s", notice.chat_id, exc)

    return notify
