"""What every handler reaches through ``context``: settings, database, pipeline, limits.

Database calls run in worker threads: SQLAlchemy here is synchronous, and a SQLite writer may
wait for a lock (the retrain job writes too), which must never stall the event loop that serves
every other chat. Both retry while the database server is unreachable for a moment
(:func:`storage.retry.retry_unreachable`), so a message that arrives during a PostgreSQL
restart is stored once the server is back instead of being dropped by a failed handler.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy.orm import Session
from telegram.ext import CallbackContext

from bot.answering import Answerer
from bot.ratelimit import RateLimiter
from bot.settings import Settings
from storage.db import Database
from storage.retry import retry_unreachable

T = TypeVar("T")

DEPS_KEY = "uttor"


@dataclass
class Deps:
    """The bot's collaborators, stored once in ``application.bot_data``."""

    settings: Settings
    database: Database
    answerer: Answerer
    limiter: RateLimiter
    retrain_running: threading.Event = field(default_factory=threading.Event)
    """Set while an operator's /retrain runs in this process (one at a time from here)."""

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
