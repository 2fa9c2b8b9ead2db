"""The bot's side of the durable inbox (``storage/inbox.py``): intake and the worker.

Intake (:meth:`InboxWorker.store`) writes updates and returns only once they are committed;
polling and the webhook call it before Telegram learns the updates arrived. Concurrent
stores are written in one transaction (group commit), as a burst of webhook calls brings.

The worker claims stored updates (oldest first, one per chat at a time, across every process
on the database) and runs each through the application's handlers. When a handler returns,
the update is marked done together with what the handler left for the books (its rate-limit
verdict, the Telegram ids of the answers it sent): one transaction per loop turn, which also
renews the claims still being worked on and claims the next updates. While a claim is held
its lease is renewed; a process that dies stops renewing and its updates are claimed again
(``attempts`` > 1) by whoever comes next.

A handler reaches its update's :class:`Job` through :func:`current_job` (a context variable
set for the update's task): the deadline counted from the update's arrival, the attempt, and
the slots for the books.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from telegram import Update
from telegram.ext import Application

from storage.conversations import record_sent_ids
from storage.db import Database
from storage.inbox import (
    Claimed,
    claim,
    finish,
    holders_with_claims,
    pending_count,
    prune,
    release,
    release_holders,
    renew,
    store_updates,
)
from storage.models import utcnow
from storage.retry import is_unreachable, retry_unreachable

__all__ = [
    "ClaimLost",
    "InboxWorker",
    "Job",
    "chat_key_of",
    "current_job",
    "instance_id",
]

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Updates handled at once by one process: enough for the model layer to batch many questions.
CAPACITY = 64
#: Seconds between looks at the inbox when nothing local says there is work (updates stored
#: by another replica, claims of a dead process whose lease ran out).
POLL_S = 0.5
#: An update whose handling failed this many times (the process died each time) is dropped.
MAX_ATTEMPTS = 8
#: How often done updates older than a day are deleted.
PRUNE_EVERY_S = 600.0
#: Kinds of update that belong to a chat; anything else is ordered under chat key 0.
_CHAT_KINDS = ("message", "edited_message", "channel_post", "edited_channel_post")


def instance_id() -> str:
    """``host:pid:random``: names this process in claims and leases (unique per start)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def chat_key_of(data: dict[str, Any]) -> int:
    """The Telegram chat an update (as JSON) belongs to; 0 when it has none."""

    def chat_id(message: Any) -> int | None:
        chat = message.get("chat") if isinstance(message, dict) else None
        value = chat.get("id") if isinstance(chat, dict) else None
        return value if isinstance(value, int) else None

    for kind in _CHAT_KINDS:
        if (found := chat_id(data.get(kind))) is not None:
            return found
    query = data.get("callback_query")
    if isinstance(query, dict):
        if (found := chat_id(query.get("message"))) is not None:
            return found
        user = query.get("from")
        if isinstance(user, dict) and isinstance(user.get("id"), int):
            return int(user["id"])
    if (found := chat_id(data.get("my_chat_member"))) is not None:
        return found
    return 0


class ClaimLost(Exception):
    """Another process took this update over (this one's lease ran out): send nothing more."""


@dataclass(eq=False)
class Job:
    """One claimed update being handled, and what its handler leaves for the books."""

    update_id: int
    chat_key: int
    received_at: datetime
    attempts: int
    deadline: float
    """``time.monotonic()`` by which the customer gets an answer or the fallback."""
    valid_until: float
    """``time.monotonic()`` until which the claim is surely still this process's."""
    verdict: str | None = None
    """The rate limit's verdict (``allow``, ``note``, ``drop``), counted by later updates."""
    sent: list[tuple[int, int]] = field(default_factory=list)
    """(stored outbound message id, Telegram message id) of answers sent."""
    retry: bool = False
    """Give the update back instead of marking it done (the database was unreachable)."""
    finished: bool = False
    lost: bool = False


_CURRENT: ContextVar[Job | None] = ContextVar("uttor_inbox_job", default=None)


def current_job() -> Job | None:
    """The update the running handler works on (``None`` outside the inbox worker)."""
    return _CURRENT.get()


class InboxWorker:
    """Intake and worker of one process (see the module doc)."""

    def __init__(
        self,
        database: Database,
        *,
        holder: str,
        lease_s: float,
        reply_timeout_s: float,
        capacity: int = CAPACITY,
        poll_s: float = POLL_S,
    ) -> None:
        self.database = database
        self.holder = holder
        self.lease = timedelta(seconds=lease_s)
        self.reply_timeout_s = reply_timeout_s
        self.capacity = capacity
        self.poll_s = poll_s
        # A claim is renewed once a third of its lease is gone, and trusted for sending only
        # while more than a quarter of it is left (clocks of replicas may differ a little).
        self.renew_after_s = lease_s / 3
        self.margin_s = min(2.0, lease_s / 4)
        self._application: Application | None = None
        self._in_flight: dict[int, Job] = {}
        self._finished: list[Job] = []
        self._to_store: list[tuple[list[tuple[int, int, dict[str, Any]]], asyncio.Future[None]]]
        self._to_store = []
        self._wake = asyncio.Event()
        self._stored = asyncio.Event()
        self._changed = asyncio.Event()
        self._stopping = False
        self._tasks: list[asyncio.Task[None]] = []
        self._running: set[asyncio.Task[None]] = set()
        self._pruned_at = float("-inf")

    # --- lifecycle ------------------------------------------------------------------------

    async def start(self, application: Application) -> None:
        """Free the claims dead processes of this host left, then start storing and working."""
        self._application = application
        freed = await self._db(self._free_dead_local)
        if freed:
            log.warning("took back %d update(s) a stopped process had claimed", freed)
        self._stopping = False
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._store_loop(), name="uttor-inbox-store"),
            loop.create_task(self._work_loop(), name="uttor-inbox-work"),
        ]
        self._wake.set()

    def stop_claiming(self) -> None:
        """Take no more updates; those in flight go on (:meth:`stop` waits for them)."""
        self._stopping = True
        self._wake.set()

    async def stop(self) -> None:
        """Claim nothing more, let updates in flight finish, write their books; then stop.

        Updates stored and not yet claimed stay in the inbox for the next start (or another
        replica): nothing is lost by stopping.
        """
        self._stopping = True
        self._wake.set()
        if len(self._tasks) == 2:
            store, work = self._tasks
            await work  # ends once nothing is in flight and every book is written
            store.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await store
        self._tasks.clear()

    @property
    def in_flight(self) -> int:
        """Updates this process is handling now."""
        return len(self._in_flight)

    def wake(self) -> None:
        """Look at the inbox now (an update was stored, or a chat's update finished)."""
        self._wake.set()

    async def settled(self) -> None:
        """Return once nothing is stored, claimed or waiting anywhere (tests, benchmarks)."""
        while True:
            if not (self._in_flight or self._finished or self._to_store):
                if await self._db(self._read, pending_count) == 0:
                    return
                self._wake.set()
                await asyncio.sleep(0.02)
                continue
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), 0.5)

    # --- intake ---------------------------------------------------------------------------

    async def store(self, updates: list[dict[str, Any]]) -> None:
        """Store updates (JSON objects from Telegram); returns once they are committed.

        Raises when the database could not take them (after waiting out a short outage): the
        caller must not acknowledge them then, so Telegram delivers them again.
        """
        rows: dict[int, tuple[int, int, dict[str, Any]]] = {}
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
            rows: dict[int, tuple[int, int, dict[str, Any]]] = {}
            for part, _ in batch:
                rows.update((row[0], row) for row in part)
            try:
                await self._db(self._write_updates, list(rows.values()))
            except Exception as exc:
                log.error("could not store %d update(s): %s", len(rows), type(exc).__name__)
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
            else:
                for _, done in batch:
                    if not done.done():
                        done.set_result(None)
                self._wake.set()
            self._changed.set()

    # --- the worker -----------------------------------------------------------------------

    async def _work_loop(self) -> None:
        while True:
            if self._stopping and not self._in_flight and not self._finished:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_s)
            self._wake.clear()
            now = time.monotonic()
            finished, self._finished = self._finished, []
            renewing = [
                job.update_id
                for job in self._in_flight.values()
                if job.valid_until - self.lease.total_seconds() + self.renew_after_s <= now
            ]
            room = 0 if self._stopping else self.capacity - len(self._in_flight)
            if not (finished or renewing or room > 0):
                continue
            started = time.monotonic()
            try:
                claimed, held = await self._db(self._turn, finished, renewing, room)
            except Exception as exc:
                log.warning("inbox turn failed (%s); trying again", type(exc).__name__)
                self._finished = finished + self._finished
                await asyncio.sleep(min(1.0, self.poll_s))
                continue
            for update_id in renewing:
                job = self._in_flight.get(update_id)
                if job is None:
                    continue
                if update_id in held:
                    job.valid_until = started + self.lease.total_seconds()
                else:
                    job.lost = True
                    log.warning("update %s was taken over by another process", update_id)
            for item in claimed:
                self._begin(item, started)
            if finished:
                self._changed.set()
            if room > 0 and len(claimed) == room:
                self._wake.set()  # there may be more waiting
            if started - self._pruned_at > PRUNE_EVERY_S:
                self._pruned_at = started
                with contextlib.suppress(Exception):
                    await self._db(self._prune)

    def _write_updates(self, rows: list[tuple[int, int, dict[str, Any]]]) -> None:
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

    def _turn(self, finished: list[Job], renewing: list[int], room: int) -> Any:
        """One transaction: books of finished updates, renewed claims, new claims."""
        with self.database.write() as session:
            sent = [pair for job in finished for pair in job.sent]
            if sent:
                record_sent_ids(session, sent)
            done = {job.update_id: job.verdict for job in finished if not job.retry}
            marked = finish(session, holder=self.holder, verdicts=done)
            for update_id in set(done) - marked:
                log.warning("update %s was finished by another process too", update_id)
            release(
                session, holder=self.holder, update_ids=[j.update_id for j in finished if j.retry]
            )
            held = renew(session, holder=self.holder, update_ids=renewing, lease=self.lease)
            claimed = claim(session, holder=self.holder, limit=room, lease=self.lease)
        return claimed, held

    def _begin(self, item: Claimed, started: float) -> None:
        if item.attempts > 1:
            deadline = started + self.reply_timeout_s  # after a crash: a fresh budget
            log.warning("update %s claimed again (attempt %d)", item.update_id, item.attempts)
        else:
            waited = (utcnow() - item.received_at).total_seconds()
            deadline = time.monotonic() + self.reply_timeout_s - max(0.0, waited)
        job = Job(
            update_id=item.update_id,
            chat_key=item.chat_key,
            received_at=item.received_at,
            attempts=item.attempts,
            deadline=deadline,
            valid_until=started + self.lease.total_seconds(),
        )
        self._in_flight[job.update_id] = job
        task = asyncio.get_running_loop().create_task(
            self._handle(job, item.payload), name=f"inbox:{item.update_id}"
        )
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _handle(self, job: Job, payload: dict[str, Any]) -> None:
        token = _CURRENT.set(job)
        try:
            if job.attempts > MAX_ATTEMPTS:
                log.error("update %s failed %d times; dropped", job.update_id, job.attempts - 1)
                return
            assert self._application is not None
            update = Update.de_json(payload, self._application.bot)
            await self._application.process_update(update)
        except Exception:
            # process_update hands handler errors to the error handler; this is anything else.
            log.exception("update %s could not be handled", job.update_id)
        finally:
            _CURRENT.reset(token)
            job.finished = True
            self._in_flight.pop(job.update_id, None)
            self._finished.append(job)
            self._wake.set()

    # --- the fence ------------------------------------------------------------------------

    async def confirm(self, job: Job) -> None:
        """Raise :class:`ClaimLost` unless ``job``'s claim is surely still this process's.

        Called before anything visible is sent for an update: with the claim renewed in the
        last part of its lease this costs nothing; otherwise it is renewed now.
        """
        if job.finished:
            return  # a side task of a finished update (a mirror): nothing to guard
        if job.lost:
            raise ClaimLost(f"update {job.update_id} was taken over by another process")
        if time.monotonic() < job.valid_until - self.margin_s:
            return
        started = time.monotonic()

        def work() -> set[int]:
            with self.database.write() as session:
                return renew(
                    session, holder=self.holder, update_ids=[job.update_id], lease=self.lease
                )

        try:
            held = await self._db(work)
        except Exception as exc:
            raise ClaimLost(f"update {job.update_id}: claim not renewable ({exc})") from exc
        if job.update_id not in held:
            job.lost = True
            raise ClaimLost(f"update {job.update_id} was taken over by another process")
        job.valid_until = started + self.lease.total_seconds()

    # --- database -------------------------------------------------------------------------

    async def _db(self, work: Callable[..., T], *args: Any) -> T:
        """``work(*args)`` in a worker thread, again while the database is unreachable."""
        return await asyncio.to_thread(retry_unreachable, functools.partial(work, *args))

    def _read(self, query: Callable[..., T]) -> T:
        with self.database.read() as session:
            return query(session)

    def _free_dead_local(self) -> int:
        with self.database.write() as session:
            dead = [h for h in holders_with_claims(session) if _dead_here(h)]
            return release_holders(session, holders=dead)

    def _prune(self) -> None:
        with self.database.write() as session:
            removed = prune(session)
        if removed:
            log.info("pruned %d handled update(s) from the inbox", removed)


def _stub(update_id: int) -> dict[str, Any]:
    """An empty update: no handler matches it (what an unreadable update becomes)."""
    return {"update_id": update_id}


def _dead_here(holder: str) -> bool:
    """Whether ``holder`` names a process of this host that no longer runs."""
    host, _, rest = holder.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
