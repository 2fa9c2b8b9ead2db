"""The composition root: settings in, the running parts out.

``uttor serve``, ``uttor chat``, ``uttor worker``, ``uttor eval`` and ``bench/`` build what
they run here, so the terminal answers exactly as Telegram does and a benchmark measures the
product as deployed. Heavy libraries load inside the functions: commands that need no model
start without them.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wiring.configs import (
    adapter_config,
    bot_config,
    fill,
    load_config,
    memory_config,
    pipeline_config,
    retrain_config,
    schedule_config,
    service_config,
)
from wiring.logs import protect_logs, settings_secrets
from wiring.settings import Settings

if TYPE_CHECKING:
    from telegram.ext import Application

    from bot.answering import Answerer
    from model.pipeline import Pipeline
    from storage.db import Database
    from training.schedule import Notify

__all__ = ["build_bot", "build_pipeline", "build_scheduler", "report_notify"]


def build_pipeline(
    settings: Settings, database: Database, base_model: str, *, defer: bool = False
) -> Pipeline:
    """Load the base model and wire service, memory and storage (slow: call off the loop).

    With ``UTTOR_GENERATION_BACKEND=vllm`` only the tokenizer loads: a vLLM server at
    ``UTTOR_VLLM_URL`` generates, with the registry's adapter loaded into it at run time.

    ``defer`` loads the model at the first question that needs it (``uttor chat``), not
    now. Raises :class:`model.errors.ModelLoadError` when the base model cannot be loaded.
    """
    from model.deferred import DeferredService
    from model.pipeline import Pipeline
    from model.starter import is_starter_model

    def service() -> Any:
        if settings.generation_backend == "vllm":
            return _vllm_backend(settings, database, base_model)
        from model.loading import load_base
        from model.service import GenerationService

        loaded = load_base(load_config(settings, base_model))
        return GenerationService(
            loaded, service_config(settings), database=database, adapters=adapter_config(settings)
        )

    memory = _memory(settings, database)
    # The starter model was pretrained with the compact system prompt (docs/model.md).
    compact = is_starter_model(Path(base_model))
    generation = DeferredService(service) if defer else service()
    return Pipeline(database, generation, memory, pipeline_config(settings), compact_prompt=compact)


def _memory(settings: Settings, database: Database) -> Any:
    """Correction memory; with ``UTTOR_EMBEDDING_MODEL``, its encoder blended into retrieval
    (raises :class:`model.embeddings.EncoderUnavailable` when that cannot load)."""
    from functools import partial

    from model.memory import CorrectionMemory
    from model.retrieval import RetrievalIndex

    config = memory_config(settings)
    if config.embedding_model is None:
        return CorrectionMemory(database, config)
    from model.embeddings import load_encoder

    encoder = load_encoder(config.embedding_model)
    return CorrectionMemory(database, config, index=partial(RetrievalIndex, encoder=encoder))


def _vllm_backend(settings: Settings, database: Database, base_model: str) -> Any:
    """Replies from the vLLM server at ``UTTOR_VLLM_URL``; only tokenizer and config load here."""
    from model.backends.config import VllmConfig
    from model.backends.vllm import VllmBackend, load_base_files

    key = settings.vllm_api_key.get_secret_value() if settings.vllm_api_key else None
    tokenizer, config = load_base_files(base_model)
    return VllmBackend(
        tokenizer,
        fill(VllmConfig, settings, api_key=key),
        service_config(settings),
        database=database,
        adapters=adapter_config(settings),
        base_config=config,
    )


def build_bot(settings: Settings, database: Database, answerer: Answerer) -> Application:
    """The Telegram application, with secrets masked in the logs before its first request."""
    from bot.app import build_application
    from model.pipeline import Pipeline

    protect_logs(settings_secrets(settings))
    # One timeout: the bot counts it from a message's arrival, the model gets what is left.
    config = replace(bot_config(settings), reply_timeout_s=settings.generation_timeout_s)
    return build_application(
        config,
        database=database,
        answerer=answerer,
        retrain_config=lambda: retrain_config(settings),
        # What /status reports as serving in this process (the model's own view of adapters).
        backend=answerer.service if isinstance(answerer, Pipeline) else None,
    )


def report_notify(
    settings: Settings,
    application: Application | None = None,
    loop: asyncio.AbstractEventLoop | None = None,
) -> Notify | None:
    """How finished runs reach the operators' chat: the one notifier of ``bot/operators.py``.

    With a running ``application`` (``uttor serve``) it posts through that bot on ``loop``;
    without one (``uttor worker``) through a bot of its own. ``None`` when no operators' chat
    or no token is configured.
    """
    from bot.operators import report_notifier

    if application is not None:
        return report_notifier(application.bot, loop)
    if settings.telegram_token is None or settings.operators_chat_id is None:
        return None
    from telegram import Bot

    from bot.app import DEFAULT_API

    protect_logs(settings_secrets(settings))
    bot = Bot(
        settings.telegram_token.get_secret_value(),
        base_url=settings.telegram_api_url or DEFAULT_API,
    )
    return report_notifier(bot)


def build_scheduler(
    settings: Settings, database: Database, *, notify: Notify | None, blocking: bool = False
) -> Any:
    """The nightly retrain scheduler (recovers runs a crash left ``running`` first)."""
    from training.schedule import create_scheduler

    return create_scheduler(
        database,
        retrain_config(settings),
        schedule_config(settings),
        notify=notify,
        blocking=blocking,
    )
