"""One retrain at a time across every process that shares the database.

PostgreSQL: a session-level advisory lock on a connection held for the whole run; the server
drops it the moment that connection dies, so a killed process never leaves it behind.

SQLite (no advisory locks): a lease row (``storage.leases.acquire_lease``) with a short
expiry that a heartbeat thread renews while the run lasts. A killed process stops renewing and
its lease expires; a lease whose holder is a dead process on this same host is taken over at
once instead of waiting for the expiry.

A lock can be lost while a run goes on (the connection holding the advisory lock dropped; the
lease expired during a stall and another process took it), so a run asks
:meth:`LockState.check` inside the transaction that would promote its candidate, and stops
there when the answer is no.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import text
from sqlalchemy.orm import Session

from storage.db import Database
from storage.leases import acquire_lease, lease_holder, release_lease
from storage.models import Lease, utcnow

__all__ = ["LOCK_NAME", "LockState", "holder_id", "retrain_lock"]

log = logging.getLogger(__name__)

LOCK_NAME = "retrain"
# Any fixed 64-bit number works; this one spells "uttor" + "rt" in ASCII.
ADVISORY_KEY = 0x7574746F7272_74
LEASE_TTL = timedelta(minutes=5)
HEARTBEAT_S = 60.0


@dataclass
class LockState:
    """Whether this process holds the retrain lock, and who does when it does not."""

    acquired: bool
    holder: str
    other: str | None = None
    backend_pid: int | None = None
    """PostgreSQL: the server process whose session holds the advisory lock."""

    def check(self, session: Session) -> str | None:
        """``None`` while this run still holds the lock, else why not.

        Run it inside the transaction that acts on the lock: on SQLite that transaction holds
        the database's write lock, so the lease cannot change hands before it commits; on
        PostgreSQL it asks the server's lock table, which drops the lock the moment the
        holding connection dies.
        """
        if not self.acquired:
            return "the retrain lock was never held"
        if self.backend_pid is not None:
            held = session.execute(
                text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                    "AND pid = :pid AND classid::bigint = :high AND objid::bigint = :low"
                ),
                {
                    "pid": self.backend_pid,
                    "high": ADVISORY_KEY >> 32,
                    "low": ADVISORY_KEY & 0xFFFFFFFF,
                },
            ).scalar()
            return None if held else "the database connection holding the retrain lock was lost"
        lease = session.get(Lease, LOCK_NAME)
        if lease is None or lease.holder != self.holder:
            taker = lease.holder if lease is not None else "nobody"
            return f"the retrain lease was taken over (now held by {taker})"
        if lease.expires_at <= utcnow():
            return "the retrain lease expired (its heartbeat stopped)"
        return None


def holder_id() -> str:
    """``host:pid:random``: unique per acquisition, and names the process for take-overs."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _dead_local_holder(holder: str | None) -> bool:
    """Whether ``holder`` names a process on this host that no longer runs."""
    if not holder:
        return False
    host, _, rest = holder.partition(":")
    pid = rest.partition(":")[0]
    return host == socket.gethostname() and pid.isdigit() and not _pid_alive(int(pid))


@contextlib.contextmanager
def retrain_lock(database: Database) -> Iterator[LockState]:
    """Try to take the retrain lock without waiting; yields whether it was acquired."""
    holder = holder_id()
    if database.engine.dialect.name == "postgresql":
        with _advisory(database, holder) as state:
            yield state
    else:
        with _lease(database, holder) as state:
            yield state


@contextlib.contextmanager
def _advisory(database: Database, holder: str) -> Iterator[LockState]:
    with database.engine.connect() as connection:
        got = bool(
            connection.execute(
                text("SELECT pg_try_advisory_lock(:k)"), {"k": ADVISORY_KEY}
            ).scalar()
        )
        connection.commit()
        if not got:
            yield LockState(False, holder, other="another process (PostgreSQL advisory lock)")
            return
        pid = connection.execute(text("SELECT pg_backend_pid()")).scalar()
        connection.commit()
        try:
            yield LockState(True, holder, backend_pid=int(pid or 0))
        finally:
            try:
                connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": ADVISORY_KEY})
                connection.commit()
            except Exception as exc:  # the connection died: the server freed the lock with it
                log.warning("retrain lock: could not unlock (%s)", type(exc).__name__)


@contextlib.contextmanager
def _lease(database: Database, holder: str) -> Iterator[LockState]:
    with database.write() as session:
        got = acquire_lease(session, name=LOCK_NAME, holder=holder, ttl=LEASE_TTL)
        other = None if got else lease_holder(session, name=LOCK_NAME)
        if not got and _dead_local_holder(other):
            # The holder was killed on this host: its lease cannot be renewed, take it now.
            release_lease(session, name=LOCK_NAME, holder=other or "")
            got = acquire_lease(session, name=LOCK_NAME, holder=holder, ttl=LEASE_TTL)
    if not got:
        yield LockState(False, holder, other=other)
        return
    stop = threading.Event()
    beat = threading.Thread(
        target=_heartbeat, args=(database, holder, stop), name="retrain-lease", daemon=True
    )
    beat.start()
    try:
        yield LockState(True, holder)
    finally:
        stop.set()
        beat.join()
        with database.write() as session:
            release_lease(session, name=LOCK_NAME, holder=holder)


def _heartbeat(database: Database, holder: str, stop: threading.Event) -> None:
    while not stop.wait(HEARTBEAT_S):
        try:
            with database.write() as session:
                kept = acquire_lease(session, name=LOCK_NAME, holder=holder, ttl=LEASE_TTL)
        except Exception as exc:  # a missed beat is retried; the TTL covers several beats
            log.warning("retrain lease heartbeat failed: %s", exc)
            continue
        if not kept:
            # Renewing later could steal the lease back from the run that took it over.
            log.error("retrain lease expired and was taken by another process")
            return
