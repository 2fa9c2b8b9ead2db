"""The inbox worker: stored updates handed to the handlers, in per-chat order, exactly once.

The worker claims stored updates (``storage/inbox.py``: oldest first, one per chat at a time,
across every process on the database) and runs each through the application's handlers. When
a handler returns, the update is marked done together with what the handler left for the
books (:class:`bot.jobs.Job`: its rate-limit verdict, the Telegram ids of the answers it
sent): one transaction per loop turn, which also renews the claims still being worked on and
claims the next updates, with what their handlers read first (the chat's rate-limit window
and its customer as stored), for all of them at once. A process that dies stops renewing,
and its updates are claimed again (``attempts`` > 1) by whoever comes next once the lease
runs out; the updates a dead process of this same host held are taken back at once when the
bot starts.

Updates come in through :meth:`InboxWorker.store` (``bot/intake.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import socket
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

from telegram import Update
from telegram.ext import Application

from bot.intake import Intake
from bot.jobs import ClaimLost, Job, bind, unbind
from bot.ratelimit import WINDOW
from storage.conversations import ChatPerson, chat_people, record_sent_ids
from storage.db import Database
from storage.inbox import (
    Claimed,
    RateWindow,
    claim,
    finish,
    holders_with_claims,
    pending_count,
    prune,
    rate_windows,
    release,
    release_holders,
    renew,
)
from storage.models import utcnow
from storage.retry import retry_unreachable

__all__ = ["InboxWorker"]

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Updates handled at once by one process: enough for the model layer to batch many questions.
CAPACITY = 64
#: Seconds between looks at the inbox when nothing local says there is work (updates stored
#: by another replica, claims of a dead process whose lease ran out).
POLL_S = 0.5
#: Seconds of the reply time limit kept for storing and sending the answer (or fallback).
SEND_MARGIN_S = 0.5
#: An update whose handling failed this many times (the process died each time) is dropped.
MAX_ATTEMPTS = 8
#: How often done updates older than a day are deleted.
PRUNE_EVERY_S = 600.0


class InboxWorker:
    """The inbox worker of one process, with its intake (see the module doc)."""

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
        # What is left of the limit after the model is for storing and sending the answer, so
        # that it reaches the customer in time even when the machine is saturated.
        self.budget_s = reply_timeout_s - min(SEND_MARGIN_S, reply_timeout_s / 4)
        self.capacity = capacity
        self.poll_s = poll_s
        # A claim is renewed once a third of its lease is gone, and trusted for sending only
        # while more than a quarter of it is left (clocks of replicas may differ a little).
        self.renew_after_s = lease_s / 3
        self.margin_s = min(2.0, lease_s / 4)
        self._application: Application | None = None
        self._in_flight: dict[int, Job] = {}
        self._finished: list[Job] = []
        self._intake = Intake(database, self.wake)
        self._wake = asyncio.Event()
        self._changed = asyncio.Event()
        self._stopping = False
        self._work: asyncio.Task[None] | None = None
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
        self._intake.start()
        self._work = asyncio.get_running_loop().create_task(
            self._work_loop(), name="uttor-inbox-work"
        )
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
        if self._work is not None:
            await self._work  # ends once nothing is in flight and every book is written
            self._work = None
        await self._intake.stop()

    @property
    def in_flight(self) -> int:
        """Updates this process is handling now."""
        return len(self._in_flight)

    async def store(self, updates: list[dict[str, Any]]) -> None:
        """Store updates (JSON from Telegram); returns once committed (see ``bot/intake.py``)."""
        await self._intake.store(updates)

    def wake(self) -> None:
        """Look at the inbox now (an update was stored, or a chat's update finished)."""
        self._wake.set()

    async def settled(self) -> None:
        """Return once nothing is stored, claimed or waiting anywhere (tests, benchmarks)."""
        while True:
            if not (self._in_flight or self._finished or self._intake.waiting):
                if await self._db(self._read, pending_count) == 0:
                    return
                self._wake.set()
                await asyncio.sleep(0.02)
                continue
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), 0.5)

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
                claimed, held, windows, people = await self._db(
                    self._turn, finished, renewing, room
                )
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
                self._begin(item, started, windows[item.update_id], people.get(item.chat_key))
            if finished:
                self._changed.set()
            if room > 0 and len(claimed) == room:
                self._wake.set()  # there may be more waiting
            if started - self._pruned_at > PRUNE_EVERY_S:
                self._pruned_at = started
                with contextlib.suppress(Exception):
                    await self._db(self._prune)

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
            windows = rate_windows(session, claimed, window=WINDOW)
            people = chat_people(session, telegram_chat_ids=[c.chat_key for c in claimed])
        return claimed, held, windows, people

    def _begin(
        self, item: Claimed, started: float, window: RateWindow, person: ChatPerson | None
    ) -> None:
        if item.attempts > 1:
            deadline = started + self.budget_s  # after a crash: a fresh budget
            log.warning("update %s claimed again (attempt %d)", item.update_id, item.attempts)
        else:
            waited = (utcnow() - item.received_at).total_seconds()
            deadline = time.monotonic() + self.budget_s - max(0.0, waited)
        job = Job(
            update_id=item.update_id,
            chat_key=item.chat_key,
            received_at=item.received_at,
            attempts=item.attempts,
            deadline=deadline,
            valid_until=started + self.lease.total_seconds(),
            window=window,
            person=person,
        )
        self._in_flight[job.update_id] = job
        task = asyncio.get_running_loop().create_task(
            self._handle(job, item.payload), name=f"inbox:{item.update_id}"
        )
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _handle(self, job: Job, payload: dict[str, Any]) -> None:
        token = bind(job)
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
            unbind(token)
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
