"""``uttor serve``: the Telegram bot, with the nightly retrain scheduled in the same process.

Polling by default; a webhook server when ``UTTOR_WEBHOOK_URL`` is set (and then
``UTTOR_WEBHOOK_SECRET`` is required). Expected failures (no token, a token Telegram refuses,
no base model) are one line on stderr and a non-zero exit code.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import signal
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cli.common import EXIT_USAGE, base_model, fail, get_settings, open_database

if TYPE_CHECKING:
    from storage.db import Database
    from wiring.settings import Settings

__all__ = ["check_settings", "register"]

log = logging.getLogger(__name__)

# What BotFather hands out: "<numeric bot id>:<token>".
TOKEN_SHAPE = re.compile(r"^\d+:[A-Za-z0-9_-]+$")
# Telegram's rule for the webhook secret token.
SECRET_SHAPE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


def register(app: typer.Typer) -> None:
    """Add ``serve`` and ``worker`` to the project's typer app."""
    app.command("serve")(serve)
    app.command("worker")(worker)


def check_settings(settings: Settings) -> str:
    """The bot token, after the checks that need no network; fails with exit code 2."""
    if settings.telegram_token is None or not settings.telegram_token.get_secret_value():
        fail("UTTOR_TELEGRAM_TOKEN is not set; get a token from @BotFather", EXIT_USAGE)
    token = settings.telegram_token.get_secret_value().strip()
    if not TOKEN_SHAPE.match(token):
        fail("UTTOR_TELEGRAM_TOKEN is not a bot token (expected <bot id>:<secret>)", EXIT_USAGE)
    if settings.webhook_url:
        if settings.webhook_secret is None:
            fail(
                "UTTOR_WEBHOOK_URL is set but UTTOR_WEBHOOK_SECRET is not; refusing to start",
                EXIT_USAGE,
            )
        if not SECRET_SHAPE.match(settings.webhook_secret.get_secret_value()):
            fail(
                "UTTOR_WEBHOOK_SECRET must be 1-256 characters of A-Z, a-z, 0-9, _ and -",
                EXIT_USAGE,
            )
    return token


async def _check_token(settings: Settings, token: str) -> None:
    """Ask the Bot API who we are, before the model is loaded: a bad token fails fast."""
    from telegram import Bot

    from bot.app import DEFAULT_API

    async with Bot(token, base_url=settings.telegram_api_url or DEFAULT_API):
        pass  # initialize() calls getMe


async def _run(settings: Settings, database: Database, model: str, scheduler: bool) -> None:
    from bot.app import serve
    from wiring.build import build_bot, build_pipeline, build_scheduler, report_notify
    from wiring.configs import bot_config

    pipeline = await asyncio.to_thread(build_pipeline, settings, database, model)
    async with pipeline:
        application = build_bot(settings, database, pipeline)
        retrain = None
        if scheduler:
            notify = report_notify(settings, application, asyncio.get_running_loop())
            retrain = build_scheduler(settings, database, notify=notify)
        await serve(application, bot_config(settings), scheduler=retrain)


def serve(
    no_scheduler: Annotated[
        bool,
        typer.Option(
            "--no-scheduler",
            help="Do not schedule the nightly retrain here (run `uttor worker` instead).",
        ),
    ] = False,
) -> None:
    """Run the Telegram bot: polling, or a webhook server when UTTOR_WEBHOOK_URL is set."""
    from telegram.error import InvalidToken, NetworkError

    from bot.app import DEFAULT_API
    from model.errors import ModelLoadError
    from wiring.logs import configure_logging, mask_tokens, settings_secrets

    settings = get_settings()
    token = check_settings(settings)
    configure_logging(settings.log_level, settings_secrets(settings))
    database = open_database(settings)
    model = base_model(settings)
    api = settings.telegram_api_url or DEFAULT_API
    try:
        asyncio.run(_check_token(settings, token))
        asyncio.run(_run(settings, database, model, scheduler=not no_scheduler))
    except InvalidToken:
        fail(
            "Telegram refused UTTOR_TELEGRAM_TOKEN (invalid or revoked); check it with @BotFather",
            EXIT_USAGE,
        )
    except NetworkError as exc:
        fail(f"cannot reach the Bot API at {mask_tokens(api)}: {mask_tokens(str(exc))}")
    except ModelLoadError as exc:
        fail(str(exc))
    finally:
        database.dispose()


def worker() -> None:
    """Run only the retrain scheduler (deployments with several bot replicas)."""
    from wiring.build import build_scheduler, report_notify

    settings = get_settings()
    database = open_database(settings)
    base_model(settings)  # fail now, not at 2 a.m.
    scheduler = build_scheduler(settings, database, notify=report_notify(settings), blocking=True)

    def stop(signum: int, _frame: Any) -> None:
        # A retrain in progress is abandoned (its child process dies with the process group
        # and the run is marked interrupted at the next start).
        if scheduler.running:
            scheduler.shutdown(wait=False)
        else:
            raise SystemExit(0)  # stopped before the scheduler even started

    signal.signal(signal.SIGTERM, stop)
    job = scheduler.get_jobs()[0]
    typer.echo(
        f"uttor worker: nightly retrain '{settings.retrain_cron}' ({settings.timezone}); "
        f"next run {job.trigger.get_next_fire_time(None, _now(settings))}",
        err=True,
    )
    with contextlib.suppress(KeyboardInterrupt):
        scheduler.start()


def _now(settings: Settings) -> Any:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    return datetime.now(ZoneInfo(settings.timezone))
