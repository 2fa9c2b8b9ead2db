"""What every handler reaches through ``context``: configuration, database, pipeline, inbox.

Database calls run in worker threads: SQLAlchemy here is synchronous, and a SQLite writer may
wait for a lock (the retrain job writes too), which must never stall the event loop that serves
every other chat. Both retry while the database server is unreachable for a moment
(:func:`storage.retry.retry_unreachable`), so a message that arrives during a PostgreSQL
restart is stored once the server is back instead of being dropped by a failed handler.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy.orm import Session
from telegram.ext import CallbackContext

from bot.answering import Answerer
from bot.config import BotConfig
from bot.inbox import InboxWorker
from bot.jobs import instance_id
from model.backend import GenerationBackend
from storage.db import Database
from storage.retry import retry_unreachable
from training.config import RetrainConfig

T = TypeVar("T")

DEPS_KEY = "uttor"
#: Updates in flight up to which customers see "typing…" while their answer is written; past
#: it the chat actions would compete with the answers for Telegram's 30 messages/s.
TYPING_UP_TO = 8


@dataclass
class Deps:
    """The bot's collaborators, stored once in ``application.bot_data``."""

    config: BotConfig
    database: Database
    answerer: Answerer
    inbox: InboxWorker | None = None
    """Stores and hands out this process's updates (``None``: handlers called directly)."""
    instance: str = field(default_factory=instance_id)
    """Names this process in inbox claims and leases."""
    retrain_config: Callable[[], RetrainConfig] | None = None
    """Builds the configuration of an operator's /retrain (raises ModelLoadError: no base)."""
    retrain_running: threading.Event = field(default_factory=threading.Event)
    backend: GenerationBackend | None = None
    """The model serving this process's replies, for /status (``None``: not known here)."""
    """Set while an operator's /retrain runs in this process (one at a time from here)."""
    background: set[asyncio.Task[Any]] = field(default_factory=set)
    """Side tasks (mirrors to agents) still running; shutdown waits for them."""

    def crowded(self) -> bool:
        """Many updates are being handled here: "typing…" would crowd Telegram's budget."""
        return self.inbox is not None and self.inbox.in_flight > TYPING_UP_TO

    def spawn(self, coroutine: Coroutine[Any, Any, Any], *, name: str) -> None:
        """Run a side task that shutdown will wait for.

        PTB's ``Application.create_task`` stops tracking tasks once ``stop()`` has begun, yet a
        handler that was answering when SIGTERM came still finishes and starts its mirror then;
        tracking them here means that mirror is sent instead of dropped.
        """
        task = asyncio.get_running_loop().create_task(coroutine, name=name)
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    async def drain(self) -> None:
        """Wait for every side task, including ones started while waiting."""
        while self.background:
            await asyncio.gather(*list(self.background), return_exceptions=True)

    async def call(self, action: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run an operator action (``operations/``) on this database, off the event loop."""
        return await asyncio.to_thread(
            retry_unreachable, lambda: action(self.database, *args, **kwargs)
        )

    async def read(self, work: Callable[[Session], T]) -> T:
        """Run ``work`` in a read session off the event loop."""

        def run() -> T:
            with self.database.read() as session:
                return work(session)

        return await asyncio.to_thread(retry_unreachable, run)

    async def write(self, work: Callable[[Session], T]) -> T:
        """Run ``work`` in one write transaction off the event loop (again, if it failed)."""

        def run() -> T:
            with self.database.write() as session:
                return work(session)

        return await asyncio.to_thread(retry_unreachable, run)


def deps(context: CallbackContext[Any, Any, Any, Any]) -> Deps:
    """The :class:`Deps` of the running application."""
    return context.application.bot_data[DEPS_KEY]
