"""Intake: updates written to the inbox before Telegram is told they arrived.

Polling (``bot/polling.py``) and the webhook (``bot/webhook.py``) call :meth:`Intake.store`,
which returns only once the updates are committed. Concurrent stores are written in one
transaction (group commit), as a burst of webhook calls brings; an update the database
refuses (not an outage: a value it cannot hold) is stored empty so it cannot hold back the
others.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Callable
from typing import Any

from bot.jobs import chat_key_of
from storage.db import Database
from storage.inbox import store_updates
from storage.models import utcnow
from storage.retry import is_unreachable, retry_unreachable

__all__ = ["Intake"]

log = logging.getLogger(__name__)

Row = tuple[int, int, dict[str, Any]]


class Intake:
    """Stores updates for one process; ``stored`` is called after each commit."""

    def __init__(self, database: Database, stored: Callable[[], None]) -> None:
        self.database = database
        self._stored_callback = stored
        self._to_store: list[tuple[list[Row], asyncio.Future[None]]] = []
        self._stored = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def waiting(self) -> bool:
        """Updates handed to :meth:`store` and not yet committed."""
        return bool(self._to_store)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(
            self._store_loop(), name="uttor-inbox-store"
        )

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def store(self, updates: list[dict[str, Any]]) -> None:
        """Store updates (JSON objects from Telegram); returns once they are committed.

        Raises when the database could not take them (after waiting out a short outage): the
        caller must not acknowledge them then, so Telegram delivers them again.
        """
        rows: dict[int, Row] = {}
        for data in updates:
            update_id = data.get("update_id") if isinstance(data, dict) else None
            if isinstance(update_id, int):
                rows[update_id] = (update_id, chat_key_of(data), data)
        if not rows:
            return
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._to_store.append((list(rows.values()), done))
        self._stored.set()
        await done

    async def _store_loop(self) -> None:
        while True:
            await self._stored.wait()
            self._stored.clear()
            batch, self._to_store = self._to_store, []
            if not batch:
                continue
            rows: dict[int, Row] = {}
            for part, _ in batch:
                rows.update((row[0], row) for row in part)
            try:
                await asyncio.to_thread(
                    retry_unreachable, functools.partial(self._write_updates, list(rows.values()))
                )
            except Exception as exc:
                log.error("could not store %d update(s): %s", len(rows), type(exc).__name__)
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
            else:
                for _, done in batch:
                    if not done.done():
                        done.set_result(None)
                self._stored_callback()

    def _write_updates(self, rows: list[Row]) -> None:
        try:
            with self.database.write() as session:
                store_updates(session, rows, received_at=utcnow())
        except Exception as exc:
            if is_unreachable(exc) or len(rows) == 1 and rows[0][2] == _stub(rows[0][0]):
                raise
            # One update the database refuses must not hold back the others (polling would
            # ask for the same batch forever): each alone, and a refused one stored empty, so
            # it is acknowledged and skipped.
            for row in rows:
                try:
                    with self.database.write() as session:
                        store_updates(session, [row], received_at=utcnow())
                except Exception as alone:
                    if is_unreachable(alone):
                        raise
                    log.warning(
                        "update %s cannot be stored (%s); skipped", row[0], type(alone).__name__
                    )
                    with self.database.write() as session:
                        store_updates(
                            session, [(row[0], row[1], _stub(row[0]))], received_at=utcnow()
                        )


def _stub(update_id: int) -> dict[str, Any]:
    """An empty update: no handler matches it (what an unreadable update becomes)."""
    return {"update_id": update_id}
