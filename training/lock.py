"""One retrain at a time across every process that shares the database.

PostgreSQL: a session-level advisory lock on a connection held for the whole run; the server
drops it the moment that connection dies, so a killed process never leaves it behind.

SQLite (no advisory locks): a lease row (``storage.leases.acquire_lease``) with a short
expiry that a heartbeat thread renews while the run lasts. A killed process stops renewing and
its lease expires; a lease whose holder is a dead process on this same host is taken over at
once instead of waiting for the expiry.
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

from storage.db import Database
from storage.leases import acquire_lease, lease_holder, release_lease

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
        try:
            yield LockState(True, holder)
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": ADVISORY_KEY})
            connection.commit()


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
            log.error("retrain lease expired and was taken by another process")
