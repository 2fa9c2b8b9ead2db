"""``uttor serve``: the Telegram bot, with the nightly retrain scheduled in the same process.

Polling by default; a webhook server when ``UTTOR_WEBHOOK_URL`` is set (and then
``UTTOR_WEBHOOK_SECRET`` is required). Expected failures (no token, a token Telegram refuses,
no base model) are one line on stderr and a non-zero exit code.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

if TYPE_CHECKING:
    from bot.settings import Settings
    from storage.db import Database

__all__ = ["check_settings", "register"]

log = logging.getLogger(__name__)

# What BotFather hands out: "<numeric bot id>:<token>".
TOKEN_SHAPE = re.compile(r"^\d+:[A-Za-z0-9_-]+$")
# Telegram's rule for the webhook secret token.
SECRET_SHAPE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
DEFAULT_API = "https://api.telegram.org/bot"


def register(app: typer.Typer) -> None:
    """Add ``serve`` to the project's typer app."""
    app.command("serve")(serve)


def _fail(message: str, code: int = 1) -> NoReturn:
    from bot.cli import CliError

    raise CliError(message, code)


def check_settings(settings: Settings) -> str:
    """The bot token, after the checks that need no network; fails with exit code 2."""
    if settings.telegram_token is None or not settings.telegram_token.get_secret_value():
        _fail("UTTOR_TELEGRAM_TOKEN is not set; get a token from @BotFather", 2)
    token = settings.telegram_token.get_secret_value().strip()
    if not TOKEN_SHAPE.match(token):
        _fail("UTTOR_TELEGRAM_TOKEN is not a bot token (expected <bot id>:<secret>)", 2)
    if settings.webhook_url:
        if settings.webhook_secret is None:
            _fail("UTTOR_WEBHOOK_URL is set but UTTOR_WEBHOOK_SECRET is not; refusing to start", 2)
        if not SECRET_SHAPE.match(settings.webhook_secret.get_secret_value()):
            _fail("UTTOR_WEBHOOK_SECRET must be 1-256 characters of A-Z, a-z, 0-9, _ and -", 2)
    return token


async def _check_token(settings: Settings, token: str) -> None:
    """Ask the Bot API who we are, before the model is loaded: a bad token fails fast."""
    from telegram import Bot

    async with Bot(token, base_url=settings.telegram_api_url or DEFAULT_API):
        pass  # initialize() calls getMe


async def _run(settings: Settings, database: Database, base_model: str, scheduler: bool) -> None:
    from bot.app import build_application, serve
    from bot.cli_training import retrain_config, schedule_config
    from bot.model_setup import build_pipeline
    from bot.operators import report_pusher
    from training.schedule import create_scheduler

    pipeline = await asyncio.to_thread(build_pipeline, settings, database, base_model)
    async with pipeline:
        application = build_application(settings, database=database, answerer=pipeline)
        retrain = None
        if scheduler:
            retrain = create_scheduler(
                database,
                retrain_config(settings),
                schedule_config(settings),
                notify=report_pusher(application, asyncio.get_running_loop()),
            )
        await serve(application, settings, scheduler=retrain)


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

    from bot.cli import open_database
    from bot.cli_training import resolve_base_model
    from bot.logging_setup import configure_logging, mask_tokens, settings_secrets
    from bot.settings import get_settings
    from model.loading import ModelLoadError

    settings = get_settings()
    token = check_settings(settings)
    configure_logging(settings.log_level, settings_secrets(settings))
    database = open_database(settings)
    base_model = resolve_base_model(settings)
    api = settings.telegram_api_url or DEFAULT_API
    try:
        asyncio.run(_check_token(settings, token))
        asyncio.run(_run(settings, database, base_model, scheduler=not no_scheduler))
    except InvalidToken:
        _fail(
            "Telegram refused UTTOR_TELEGRAM_TOKEN (invalid or revoked); check it with @BotFather",
            2,
        )
    except NetworkError as exc:
        _fail(f"cannot reach the Bot API at {mask_tokens(api)}: {mask_tokens(str(exc))}", 1)
    except ModelLoadError as exc:
        _fail(str(exc), 1)
    finally:
        database.dispose()
