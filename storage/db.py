"""Engines and sessions: SQLite tuned for several writers, PostgreSQL as it is."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, exc
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

# Seconds a SQLite writer waits for another writer before giving up.
SQLITE_BUSY_TIMEOUT_MS = 30_000
#: A pooled PostgreSQL connection idle this long is pinged before it is used again.
PING_IDLE_S = 2.0


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine; SQLite gets WAL, a busy timeout and foreign keys at every connect."""
    parsed = make_url(url)
    # Statement parameters hold customer text; an error message must not carry it into a log.
    kwargs.setdefault("hide_parameters", True)
    if parsed.get_backend_name() != "sqlite":
        engine = create_engine(url, **kwargs)
        _ping_when_idle(engine)
        return engine

    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite opens transactions lazily and DEFERRED on its own; switching that off lets
        # the "begin" hook below choose BEGIN IMMEDIATE for read-then-write transactions.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # A deferred transaction that reads and then writes can fail with "database is locked"
        # when another writer got there first (busy_timeout cannot help an upgrade from a read
        # lock). IMMEDIATE takes the write lock up front, so writers queue instead of failing.
        mode = "IMMEDIATE" if conn.get_execution_options().get("sqlite_immediate") else "DEFERRED"
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


def _ping_when_idle(engine: Engine) -> None:
    """Ping a pooled connection before use only when it sat idle (not on every checkout).

    ``pool_pre_ping`` costs a round trip on every checkout: three per answered message. A
    connection in steady use needs none: when the server restarted under it, its next
    statement fails as a disconnect, SQLAlchemy discards the whole pool, and the work is run
    again on a new connection (:mod:`storage.retry`). The quiet hours are when a restart goes
    unnoticed, and there the ping still replaces a dead connection before anyone uses it.
    """

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since < PING_IDLE_S:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as error:
            # The pool discards this connection and checks out a fresh one.
            raise exc.DisconnectionError() from error


class Database:
    """An engine with two session factories: one for reads, one for read-then-write work."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self._reader = sessionmaker(self.engine, expire_on_commit=False)
        writer_engine = self.engine.execution_options(sqlite_immediate=True)
        self._writer = sessionmaker(writer_engine, expire_on_commit=False)
        # SQLite takes one writer at a time; a writer that finds the file locked sleeps in
        # growing steps (up to 100 ms) before it tries again. The writers of this process
        # queue on a lock instead and follow each other at once; other processes still wait
        # on the file (busy_timeout). Reentrant: a nested write fails as it did before.
        self._write_lock = threading.RLock() if is_sqlite(self.engine) else None

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reading; rolled back at the end."""
        with self._reader() as session:
            try:
                yield session
            finally:
                session.rollback()

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A transaction that commits at the end, or rolls back everything on an error."""
        with self._write_lock or nullcontext(), self._writer() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()
