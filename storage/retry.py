"""Retry database work while the database server is unreachable for a moment.

A PostgreSQL restart, a failover or a network blip makes every connection attempt fail for a
few seconds. Work that arrives then (a customer's message to store) should wait and go through
once the server is back, not be dropped. :func:`retry_unreachable` runs a unit of work (one
whole transaction: it rolled back when it failed) again after short, growing pauses, for about
half a minute in all, and only for errors that mean "cannot reach the server". Anything else
(a constraint violation, a bug) is raised at once.

SQLite is a local file: its "database is locked" already waits (``busy_timeout``) and its other
operational errors do not heal by waiting, so they are not retried.

A commit whose acknowledgement is lost when the connection dies may have been applied; the
retry then applies the work a second time. That window is a few microseconds per transaction
and is accepted here: without the retry, every message of a longer outage would be lost.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

__all__ = ["RETRY_DELAYS_S", "is_unreachable", "retry_unreachable"]

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Pauses between attempts: quick at first (a dropped connection heals at once through the
#: pool's pre-ping), then every 4 s; about 30 s in all before the error is raised.
RETRY_DELAYS_S: tuple[float, ...] = (0.2, 0.5, 1.0, 2.0, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0)


def is_unreachable(exc: BaseException) -> bool:
    """Whether ``exc`` means the database server could not be reached (worth waiting for)."""
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:  # SQLAlchemy recognised a dead connection
        return True
    # Failed connection attempts (refused, reset, closed before the greeting) arrive as
    # OperationalError from psycopg, not flagged as disconnects.
    driver = type(exc.orig).__module__ if exc.orig is not None else ""
    return isinstance(exc, (OperationalError, InterfaceError)) and not driver.startswith("sqlite3")


def retry_unreachable(
    work: Callable[[], T],
    *,
    delays: Sequence[float] = RETRY_DELAYS_S,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """``work()``, run again after each pause in ``delays`` while the database is unreachable.

    ``work`` must be one whole transaction (or read), safe to run again after it failed.
    Blocks the calling thread while it waits: call it off the event loop.
    """
    for attempt, delay in enumerate((*delays, None), start=1):
        try:
            return work()
        except Exception as exc:
            if delay is None or not is_unreachable(exc):
                raise
            log.warning(
                "database unreachable (attempt %d, %s); retrying in %.1f s",
                attempt,
                _first_line(exc),
                delay,
            )
            sleep(delay)
    raise AssertionError("unreachable")  # the loop returns or raises


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip().splitlines()
    return f"{type(orig).__name__}: {text[0] if text else ''}"[:200]
