"""Group commit: the writes of concurrent callers run as one transaction.

Many customers' messages are answered at once, and each stores its question and then its
reply. :class:`GroupCommit` collects what concurrent callers hand in while the previous batch
is being written, and writes the next batch with one set-based call (such as
:func:`storage.logbook.receive_many`) in one transaction: every caller's ``submit`` returns
once the batch holding its item is committed, so "stored" still means committed when it
returns (a reply is stored before it is sent).

Failures stay each caller's own: when the database is unreachable the batch is tried again
(:func:`storage.retry.retry_unreachable`); when it refuses the batch for another reason (one
item's value), the transaction is rolled back as a whole and every item is written again
alone, so only the caller whose item is at fault gets the error. The work must therefore be
database work only, safe to run again after a rollback.
"""

from __future__ import annotations

import asyncio
import functools
import weakref
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from sqlalchemy.orm import Session

from storage.db import Database
from storage.retry import is_unreachable, retry_unreachable

__all__ = ["GroupCommit"]

I = TypeVar("I")  # noqa: E741  # an item handed in
O = TypeVar("O")  # noqa: E741  # what its caller gets back

#: Items written in one transaction at most.
BATCH_LIMIT = 64


@dataclass
class _Queue(Generic[I, O]):
    waiting: list[tuple[I, asyncio.Future[O]]] = field(default_factory=list)
    writing: asyncio.Task[None] | None = None


class GroupCommit(Generic[I, O]):
    """Writes the items of concurrent callers in batches (see the module doc).

    ``work(session, items)`` writes a batch and returns one result per item, in order;
    ``key(item)`` names what two items of one batch must not share (a chat: its messages
    are written in the order they were handed in, one batch after another).
    """

    def __init__(
        self,
        database: Database,
        work: Callable[[Session, list[I]], list[O]],
        *,
        key: Callable[[I], Hashable],
        limit: int = BATCH_LIMIT,
    ) -> None:
        self.database = database
        self.work = work
        self.key = key
        self.limit = limit
        # One queue per event loop (tests run several loops over one database).
        self._queues: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Queue[I, O]] = (
            weakref.WeakKeyDictionary()
        )

    async def submit(self, item: I) -> O:
        """Write ``item`` with whatever else is waiting; returns once it is committed."""
        loop = asyncio.get_running_loop()
        queue = self._queues.get(loop)
        if queue is None:
            queue = self._queues[loop] = _Queue()
        done: asyncio.Future[O] = loop.create_future()
        queue.waiting.append((item, done))
        if queue.writing is None:
            queue.writing = loop.create_task(self._write_all(queue), name="uttor-group-commit")
        return await done

    async def _write_all(self, queue: _Queue[I, O]) -> None:
        try:
            while queue.waiting:
                batch = self._next_batch(queue)
                try:
                    outcomes = await asyncio.to_thread(self._write, [item for item, _ in batch])
                except asyncio.CancelledError:
                    for _, done in batch + queue.waiting:
                        done.cancel()
                    queue.waiting = []
                    raise
                except Exception as exc:  # the caller of each item gets it
                    outcomes = [exc] * len(batch)
                for (_, done), outcome in zip(batch, outcomes, strict=True):
                    if done.done():  # its caller was cancelled; the item is written anyway
                        continue
                    if isinstance(outcome, BaseException):
                        done.set_exception(outcome)
                    else:
                        done.set_result(outcome)
        finally:
            queue.writing = None

    def _next_batch(self, queue: _Queue[I, O]) -> list[tuple[I, asyncio.Future[O]]]:
        """Up to ``limit`` waiting items, oldest first, one per key; the rest keep waiting."""
        batch, rest, keys = [], [], set()
        for entry in queue.waiting:
            key = self.key(entry[0])
            if len(batch) < self.limit and key not in keys:
                keys.add(key)
                batch.append(entry)
            else:
                keys.add(key)  # a later item of this key must not overtake this one
                rest.append(entry)
        queue.waiting = rest
        return batch

    def _write(self, items: list[I]) -> list[O | BaseException]:
        """One transaction for ``items``; each alone when the database refuses them together."""
        try:
            return list(retry_unreachable(lambda: self._transaction(items)))
        except Exception as exc:
            if is_unreachable(exc) or len(items) == 1:
                raise
        outcomes: list[O | BaseException] = []
        for item in items:
            try:
                alone = functools.partial(self._transaction, [item])
                outcomes.append(retry_unreachable(alone)[0])
            except Exception as exc:
                outcomes.append(exc)
        return outcomes

    def _transaction(self, items: list[I]) -> list[O]:
        with self.database.write() as session:
            results = self.work(session, items)
        if len(results) != len(items):
            raise AssertionError(f"{len(results)} results for {len(items)} items")
        return results
