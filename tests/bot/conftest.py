"""The bot under test: the real Application, polling (or webhook) against the fake Bot API."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from telegram.ext import Application

from bot.answering import Answerer
from bot.app import Scheduler, serve
from bot.deps import DEPS_KEY
from model.config import AdapterConfig, PipelineConfig, PromptConfig
from model.loading import LoadConfig, LoadedModel, load_base
from model.memory import CorrectionMemory
from model.pipeline import Pipeline
from model.service import GenerationService
from storage.db import Database
from storage.knowledge import replace_knowledge
from storage.staff import add_staff
from tests.bot.fake_bot_api import FakeBotApi
from tests.shared.tiny_models import tiny_model_dir  # noqa: F401  (a fixture used below)
from wiring.build import build_bot
from wiring.configs import bot_config
from wiring.settings import Settings

AGENTS_CHAT = -1001000000001
OPERATORS_CHAT = -1001000000002
AGENT_ID = 7001
OPERATOR_ID = 7002  # from UTTOR_ADMIN_IDS
DB_OPERATOR_ID = 7003  # operator by the staff table
CUSTOMER_ID = 5001
STRANGER_ID = 5999


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi() as fake:
        yield fake


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def make_settings(api: FakeBotApi, sqlite_url: str, tmp_path: Path) -> Callable[..., Settings]:
    """Settings pointing at the fake API and a fresh database; keyword overrides."""

    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "home": tmp_path / "home",
            "database_url": sqlite_url,
            "telegram_token": SecretStr(api.token),
            "telegram_api_url": api.url,
            "agents_chat_id": AGENTS_CHAT,
            "operators_chat_id": OPERATORS_CHAT,
            "admin_ids": [OPERATOR_ID],
        }
        values.update(overrides)
        return Settings(**values)

    return make


@pytest.fixture
def staffed_database(sqlite_database: Database) -> Database:
    with sqlite_database.write() as session:
        add_staff(session, telegram_user_id=AGENT_ID, role="agent", display_name="Karim")
        add_staff(session, telegram_user_id=DB_OPERATOR_ID, role="operator")
    return sqlite_database


#: Knowledge-base pairs some tests seed, so that memory (not the tiny model) answers them and
#: the reply is not flagged to begin with.
FAQ = [
    (
        "What are your delivery charges?",
        "Delivery costs 60 taka inside Dhaka and 120 taka outside Dhaka.",
        "en",
    ),
    (
        "bKash e taka pathate parchi na",
        "bKash app e 'Send Money' theke amader merchant number e pathan.",
        "banglish",
    ),
]


def seed_faq(database: Database) -> None:
    with database.write() as session:
        replace_knowledge(session, source="test", pairs=FAQ)


@dataclass
class RunningBot:
    """A bot being served, and the handles a test needs."""

    api: FakeBotApi
    settings: Settings
    database: Database
    application: Application
    task: asyncio.Task[None]
    stop_event: asyncio.Event

    async def stop(self) -> None:
        self.stop_event.set()
        await asyncio.wait_for(self.task, 60)

    async def settled(self) -> None:
        """Until every update pushed so far is handled and its books are written."""
        inbox = self.application.bot_data[DEPS_KEY].inbox
        await asyncio.wait_for(inbox.settled(), 60)


@pytest.fixture
async def start_bot(
    api: FakeBotApi,
    make_settings: Callable[..., Settings],
    staffed_database: Database,
    answerer: Answerer,
) -> AsyncIterator[Callable[..., Any]]:
    """Start the bot with optional setting overrides; stopped at the end of the test.

    ``database_override`` serves another database (a PostgreSQL one) instead of the staffed
    SQLite one; pass an ``answerer_override`` that writes to the same database.
    """
    running: list[RunningBot] = []

    async def start(
        answerer_override: Answerer | None = None,
        scheduler: Scheduler | None = None,
        database_override: Database | None = None,
        **overrides: Any,
    ) -> RunningBot:
        settings = make_settings(**overrides)
        database = database_override or staffed_database
        application = build_bot(settings, database, answerer_override or answerer)
        stop_event = asyncio.Event()
        mark = api.mark()
        task = asyncio.create_task(
            serve(application, bot_config(settings), stop=stop_event, scheduler=scheduler)
        )
        ready = "setWebhook" if settings.webhook_url else "deleteWebhook"
        # PTB deletes any webhook before it starts polling; either call means "up".
        waiter = asyncio.create_task(api.wait_for(ready, since=mark))
        done, _ = await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
        if task in done:
            waiter.cancel()
            task.result()  # raises what made it stop
        bot = RunningBot(api, settings, database, application, task, stop_event)
        running.append(bot)
        return bot

    yield start
    for bot in running:
        if not bot.task.done():
            await bot.stop()


@pytest.fixture(scope="session")
def tiny_model(tiny_model_dir: Path) -> LoadedModel:  # noqa: F811
    """The shared tiny model, loaded once (NF4, as serving loads it)."""
    return load_base(LoadConfig(str(tiny_model_dir), quantization="nf4", device="cpu"))


@pytest.fixture
async def answerer(tiny_model: LoadedModel, staffed_database: Database) -> AsyncIterator[Pipeline]:
    """The real pipeline (routing, memory, batched model, storage) on the tiny model.

    It serves the base model only: operator tests register adapters that are not on disk.
    """
    service = GenerationService(
        tiny_model, database=staffed_database, adapters=AdapterConfig(follow_registry=False)
    )
    # As serving treats starter models: the compact system prompt they were pretrained on.
    config = PipelineConfig(prompt=PromptConfig(system_style="compact"))
    memory = CorrectionMemory(staffed_database)
    async with Pipeline(staffed_database, service, memory, config) as pipeline:
        yield pipeline
