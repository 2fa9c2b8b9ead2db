"""The one :class:`~telegram.ext.Application`: built, wired, run, and stopped gracefully.

``serve`` takes updates by polling, or by a webhook server when ``UTTOR_WEBHOOK_URL`` is set;
either way each update is stored in the durable inbox before Telegram is told it arrived, and
the inbox worker (``bot/inbox.py``) hands it to the handlers, in per-chat order, exactly once
across every process that shares the database. SIGTERM and SIGINT stop intake first, then let
every update already taken finish: a customer whose question was being answered still gets
the answer; updates stored but not yet taken wait in the inbox for the next start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable
from typing import Any, Protocol

from telegram import (
    BotCommand,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    Update,
)
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot import agents, corrections, customers, handoff, knowledge, operators, rejections
from bot.answering import Answerer
from bot.config import BotConfig
from bot.deps import DEPS_KEY, Deps
from bot.inbox import InboxWorker
from bot.jobs import current_job, instance_id
from bot.polling import poll
from bot.telegram_retry import RetryingRateLimiter
from bot.webhook import WebhookServer, start_webhook_server
from model.backend import GenerationBackend
from storage.db import Database
from storage.retry import is_unreachable
from training.config import RetrainConfig

log = logging.getLogger(__name__)

#: Telegram's own Bot API, used when ``BotConfig.telegram_api_url`` is unset.
DEFAULT_API = "https://api.telegram.org/bot"
# Updates the bot asks Telegram for; channel posts and the rest are never even delivered.
ALLOWED_UPDATES = [
    Update.MESSAGE,
    Update.EDITED_MESSAGE,
    Update.CALLBACK_QUERY,
    Update.MY_CHAT_MEMBER,
]
# A 429 is retried this many times, each after the retry_after Telegram asked for; a 5xx or
# a dropped connection is retried too (bot.telegram_retry).
MAX_RETRIES_ON_429 = 3
HANDOFF_CHECK_EVERY_S = 60.0

CUSTOMER_COMMANDS = [
    BotCommand("start", "Start / শুরু"),
    BotCommand("help", "Help / সাহায্য"),
    BotCommand("lang", "Reply language: auto, bn, en, banglish / উত্তরের ভাষা"),
    BotCommand("agent", "Talk to a human agent / মানুষ এজেন্ট"),
]
AGENT_COMMANDS = [
    BotCommand("pending", "Flagged replies waiting for review"),
    BotCommand("correct", "REPLY_ID text: correct a reply"),
    BotCommand("approve", "REPLY_ID: approve a reply"),
    BotCommand("history", "CUSTOMER: a customer's last messages"),
    BotCommand("takeover", "CHAT_ID: answer a chat yourself"),
    BotCommand("release", "CHAT_ID: hand a chat back to the bot"),
    BotCommand("exclude", "CHAT_ID MSG_ID: keep an answer out of training"),
]
OPERATOR_COMMANDS = [
    BotCommand("status", "Active adapter, last retrain, corrections waiting"),
    BotCommand("retrain", "Run the retrain pipeline now"),
    BotCommand("report", "[RUN_ID]: a retrain report"),
    BotCommand("adapters", "The adapter registry"),
    BotCommand("promote", "ID: make an adapter active"),
    BotCommand("rollback", "Go back to the previous adapter"),
    BotCommand("corrections", "[AGENT_ID]: newest corrections, from the audit log"),
    BotCommand("reject", "CORRECTION_ID [reason]: withdraw a bad correction"),
    BotCommand("kb", "ID: a knowledge-base entry"),
    BotCommand("kb_edit", "ID new answer: change a knowledge-base answer"),
    BotCommand("kb_search", "words: find knowledge-base entries"),
]


class Scheduler(Protocol):
    """The retrain scheduler run beside the bot (an APScheduler from ``training.schedule``)."""

    def start(self) -> None: ...

    @property
    def running(self) -> bool: ...

    def shutdown(self, wait: bool = True) -> None: ...


def file_url_for(api_url: str) -> str:
    """The file-download base that goes with a Bot API base (``…/bot`` → ``…/file/bot``)."""
    head, sep, tail = api_url.rstrip("/").rpartition("/")
    return f"{head}/file/{tail}" if sep else api_url


async def ignore(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Drop an update from a chat the bot does not serve (see docs/bot.md)."""
    raise ApplicationHandlerStop


async def unknown_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A button the bot never made (forged, or left by an old version): answer, do nothing.

    Answering stops the spinner in the user's client; no row is written for it.
    """
    if update.callback_query is not None:
        await update.callback_query.answer()


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log a handler's exception; the traceback has no message text, tokens are masked.

    When the database was unreachable (past the retries of ``storage/retry.py``) the update
    goes back to the inbox to be handled again later instead of being dropped.
    """
    chat = update.effective_chat if isinstance(update, Update) else None
    job = current_job()
    if job is not None and context.error is not None and is_unreachable(context.error):
        job.retry = True
        log.warning(
            "database unreachable while handling update %s of chat %s; it will be tried again",
            job.update_id,
            chat.id if chat else None,
        )
        return
    log.error(
        "error while handling an update of chat %s",
        chat.id if chat else None,
        exc_info=context.error,
    )


def add_handlers(application: Application, config: BotConfig) -> None:
    """Wire every handler; the order within a group decides which one gets an update."""
    private = filters.ChatType.PRIVATE
    new = filters.UpdateType.MESSAGE  # commands are never re-run when edited
    staff_chats = [c for c in (config.agents_chat_id, config.operators_chat_id) if c]
    foreign_group = filters.ChatType.GROUPS & ~filters.Chat(chat_id=staff_chats)
    application.add_handler(MessageHandler(foreign_group | filters.ChatType.CHANNEL, ignore), -1)

    def command(name: str, callback: Any, where: filters.BaseFilter = new) -> None:
        application.add_handler(CommandHandler(name, callback, filters=where))

    command("start", customers.start, private & new)
    command("help", customers.help_command, private & new)
    command("lang", customers.set_language, private & new)
    command("agent", customers.request_agent, private & new)

    command("correct", corrections.correct_command)
    command("approve", agents.approve_command)
    command("pending", agents.pending_command)
    command("history", agents.history_command)
    command("takeover", handoff.takeover)
    command("release", handoff.release)
    command("exclude", handoff.exclude)

    command("status", operators.status)
    command("retrain", operators.retrain)
    command("report", operators.report)
    command("adapters", operators.adapters)
    command("promote", operators.promote)
    command("rollback", operators.rollback)
    command("corrections", rejections.corrections_command)
    command("reject", rejections.reject_command)
    command("kb", knowledge.kb_command)
    command("kb_edit", knowledge.kb_edit_command)
    command("kb_search", knowledge.kb_search_command)

    application.add_handler(CallbackQueryHandler(customers.on_feedback, pattern=r"^fb:"))
    application.add_handler(CallbackQueryHandler(agents.on_approve_button, pattern=r"^ap:\d+$"))
    application.add_handler(
        CallbackQueryHandler(corrections.on_correct_button, pattern=r"^co:\d+$")
    )
    application.add_handler(
        CallbackQueryHandler(corrections.on_flip_button, pattern=r"^ps:\d+:[pg]$")
    )
    application.add_handler(CallbackQueryHandler(agents.on_page_button, pattern=r"^pg:\d+$"))
    application.add_handler(CallbackQueryHandler(unknown_button))

    application.add_handler(
        MessageHandler(
            filters.ChatType.GROUPS & new & filters.REPLY & filters.TEXT & ~filters.COMMAND,
            agents.on_staff_reply,
        )
    )
    application.add_handler(
        MessageHandler(private & new & filters.TEXT & ~filters.COMMAND, customers.on_text)
    )
    application.add_handler(MessageHandler(private & new & filters.COMMAND, customers.help_command))
    application.add_handler(
        MessageHandler(private & filters.UpdateType.EDITED_MESSAGE, customers.on_edited)
    )
    application.add_handler(
        MessageHandler(
            private & new & ~filters.TEXT & ~filters.StatusUpdate.ALL, customers.on_non_text
        )
    )
    application.add_handler(
        ChatMemberHandler(customers.on_membership, ChatMemberHandler.MY_CHAT_MEMBER)
    )
    application.add_error_handler(on_error)


def build_application(
    config: BotConfig,
    *,
    database: Database,
    answerer: Answerer,
    retrain_config: Callable[[], RetrainConfig] | None = None,
    backend: GenerationBackend | None = None,
) -> Application:
    """The bot, talking to ``config.telegram_api_url`` (Telegram's own API by default).

    Callers mask secrets in the logs first (``wiring/build.py`` does): from the first request
    on, request URLs carry the token.
    """
    if config.telegram_token is None:
        raise ValueError("UTTOR_TELEGRAM_TOKEN is not set")
    limiter = RetryingRateLimiter(
        max_retries=MAX_RETRIES_ON_429, overall_max_rate=config.send_rate_per_s
    )
    builder = (
        ApplicationBuilder()
        .token(config.telegram_token.get_secret_value())
        .rate_limiter(limiter)
        # bot/polling.py fetches updates into the inbox and the inbox worker feeds the
        # handlers: PTB's own updater and update queue stay unused.
        .updater(None)
    )
    if config.telegram_api_url:
        builder = builder.base_url(config.telegram_api_url).base_file_url(
            file_url_for(config.telegram_api_url)
        )
    application = builder.build()
    instance = instance_id()
    inbox = InboxWorker(
        database,
        holder=instance,
        lease_s=config.inbox_lease_s,
        reply_timeout_s=config.reply_timeout_s,
    )
    limiter.inbox = inbox
    application.bot_data[DEPS_KEY] = Deps(
        config=config,
        database=database,
        answerer=answerer,
        retrain_config=retrain_config,
        inbox=inbox,
        instance=instance,
        backend=backend,
    )
    add_handlers(application, config)
    if config.handoff_timeout_min > 0 and application.job_queue is not None:
        application.job_queue.run_repeating(
            handoff.expire_idle_handoffs,
            interval=HANDOFF_CHECK_EVERY_S,
            first=HANDOFF_CHECK_EVERY_S,
            name="handoff-timeout",
        )
    return application


async def publish_commands(application: Application, config: BotConfig) -> None:
    """Show each audience its commands in Telegram's menu; cosmetic, so failures only warn."""
    bot = application.bot
    try:
        await bot.set_my_commands(CUSTOMER_COMMANDS, scope=BotCommandScopeAllPrivateChats())
        if config.agents_chat_id:
            await bot.set_my_commands(
                AGENT_COMMANDS, scope=BotCommandScopeChat(config.agents_chat_id)
            )
        if config.operators_chat_id:
            await bot.set_my_commands(
                OPERATOR_COMMANDS, scope=BotCommandScopeChat(config.operators_chat_id)
            )
    except TelegramError as exc:
        log.warning("could not publish the command menus: %s", exc)


async def serve(
    application: Application,
    config: BotConfig,
    *,
    stop: asyncio.Event | None = None,
    scheduler: Scheduler | None = None,
) -> None:
    """Run until SIGTERM/SIGINT (or ``stop`` is set), then shut down gracefully."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)
    d: Deps = application.bot_data[DEPS_KEY]
    assert d.inbox is not None
    webhook: WebhookServer | None = None
    polling: asyncio.Task[None] | None = None
    try:
        async with application:
            await publish_commands(application, config)
            await application.start()
            await d.inbox.start(application)
            try:
                if config.webhook_url:
                    webhook = await _start_webhook(application, d.inbox, config)
                else:
                    polling = loop.create_task(
                        poll(application.bot, d.inbox, allowed_updates=ALLOWED_UPDATES),
                        name="uttor-polling",
                    )
                if scheduler is not None:
                    scheduler.start()
                log.info("serving by %s", "webhook" if webhook else "polling")
                await _until(stop, polling)
                log.info("stopping: taking no new updates, finishing replies in flight")
            finally:
                if scheduler is not None and scheduler.running:
                    # Do not wait for a nightly run in progress: it is in a child process,
                    # and the next start marks it interrupted.
                    scheduler.shutdown(wait=False)
                if webhook is not None:
                    webhook.stop_accepting()
                if polling is not None and not polling.done():
                    polling.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await polling
                d.inbox.stop_claiming()
                if application.running:
                    await application.stop()
                await d.inbox.stop()  # updates in flight finish first
                await d.drain()
                if webhook is not None:
                    await webhook.close()
        log.info("stopped")
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


async def _until(stop: asyncio.Event, polling: asyncio.Task[None] | None) -> None:
    """Wait for ``stop``; a polling loop that ends on its own (a refused token) ends it too."""
    if polling is None:
        await stop.wait()
        return
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({stopping, polling}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
    if polling.done() and not polling.cancelled():
        polling.result()  # raises what ended it


async def _start_webhook(
    application: Application, inbox: InboxWorker, config: BotConfig
) -> WebhookServer:
    assert config.webhook_url and config.webhook_secret
    secret = config.webhook_secret.get_secret_value()
    server = await start_webhook_server(
        inbox,
        url=config.webhook_url,
        secret=secret,
        listen=config.webhook_listen,
        port=config.webhook_port,
    )
    try:
        await application.bot.set_webhook(
            config.webhook_url, secret_token=secret, allowed_updates=ALLOWED_UPDATES
        )
    except BaseException:
        server.stop_accepting()
        await server.close()
        raise
    return server
