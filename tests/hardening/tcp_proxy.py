"""A small TCP proxy for fault tests: put it between the bot and PostgreSQL, then cut it.

The proxy runs its own asyncio loop on a background thread, so it keeps working while the test's
loop (or any thread) makes blocking database calls through it. It listens on 127.0.0.1 at a
fixed port chosen at start, and forwards bytes both ways while it is up. ``cut()`` is an outage:
every live connection is aborted (the server "went away" mid-session) and new ones are either
refused (the listener is closed: connect() gets ECONNREFUSED) or accepted and dropped at once
(the client reads EOF before the server greeting), as a restarting server or a flaky network
would do. ``restore()`` brings it back on the same port.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from typing import Any, Literal

from sqlalchemy.engine import make_url

Outage = Literal["refuse", "drop"]
CHUNK = 64 * 1024


class TcpProxy:
    """Forwards 127.0.0.1:``port`` to ``target_host``:``target_port`` until cut."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self.outage: Outage | None = None
        #: Connections accepted and dropped during ``drop`` outages (a refused connection never
        #: reaches the proxy, so ``refuse`` outages cannot be counted here).
        self.turned_away = 0
        self.forwarded = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="tcp-proxy", daemon=True
        )
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._changed = threading.Condition()

    # --- lifecycle (called from the test's thread) ----------------------------------------

    def start(self) -> TcpProxy:
        self._thread.start()
        self._call(self._listen)
        return self

    def close(self) -> None:
        self._call(self._shutdown)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def __enter__(self) -> TcpProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def url(self, database_url: str) -> str:
        """``database_url`` pointed at the proxy instead of the server (query kept)."""
        return (
            make_url(database_url)
            .set(host="127.0.0.1", port=self.port)
            .render_as_string(hide_password=False)
        )

    def cut(self, outage: Outage) -> None:
        """Abort every live connection and turn new ones away (``refuse`` or ``drop``)."""
        self._call(lambda: self._cut(outage))

    def restore(self) -> None:
        """Forward again, on the same port."""
        self._call(self._restore)

    def wait_turned_away(self, count: int, timeout: float = 30.0) -> bool:
        """Block until ``count`` connections were turned away in all (``drop`` outages)."""
        with self._changed:
            return self._changed.wait_for(lambda: self.turned_away >= count, timeout)

    # --- on the proxy's loop ----------------------------------------------------------------

    def _call(self, make: Callable[[], Coroutine[Any, Any, None]]) -> None:
        future: Future[None] = asyncio.run_coroutine_threadsafe(make(), self._loop)
        future.result(10)

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(
            self._accept, "127.0.0.1", self.port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def _shutdown(self) -> None:
        await self._close_listener()
        self._abort_all()

    async def _cut(self, outage: Outage) -> None:
        self.outage = outage
        if outage == "refuse":
            await self._close_listener()
        elif self._server is None:
            await self._listen()  # "drop" accepts, so it needs the listener back
        self._abort_all()

    async def _restore(self) -> None:
        self.outage = None
        if self._server is None:
            await self._listen()

    async def _close_listener(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    def _abort_all(self) -> None:
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    def _count_turned_away(self) -> None:
        with self._changed:
            self.turned_away += 1
            self._changed.notify_all()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.outage is not None:
            self._count_turned_away()
            writer.transport.abort()  # RST: the client sees the connection die at once
            return
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self.forwarded += 1
        pair = {writer, upstream_writer}
        self._writers |= pair
        try:
            await asyncio.gather(_pipe(reader, upstream_writer), _pipe(upstream_reader, writer))
        finally:
            self._writers -= pair
            for end in pair:
                end.transport.abort()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy bytes until either side closes; then close the other side too."""
    with contextlib.suppress(ConnectionError, OSError, asyncio.CancelledError):
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
    writer.transport.abort()
