"""Polling that loses nothing: each ``getUpdates`` batch is stored before the next is asked for.

Telegram confirms the updates of one ``getUpdates`` call when the next call names a higher
``offset``. python-telegram-bot's own updater asks again as soon as it has queued a batch in
memory, so updates fetched but not yet answered die with the process. Here the next call is
made only once the batch is committed to the inbox (:meth:`bot.inbox.InboxWorker.store`); a
batch the database cannot take is asked for again, with the same offset, until it can.

Only one process may poll a bot (Telegram answers a second one with 409 Conflict); several
replicas use the webhook instead (docs/bot.md).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from telegram import Bot
from telegram.error import Conflict, InvalidToken, RetryAfter, TelegramError

from bot.inbox import InboxWorker
from bot.updates import TolerantUpdatesRequest

log = logging.getLogger(__name__)

#: Seconds Telegram holds a ``getUpdates`` call open while there is nothing new.
POLL_TIMEOUT_S = 10
#: Extra seconds to wait for the answer of a long poll beyond its own timeout.
READ_SLACK_S = 10.0
#: Pauses after failed calls, growing to the last one.
BACKOFF_S = (0.5, 1.0, 2.0, 5.0)


async def poll(
    bot: Bot,
    inbox: InboxWorker,
    *,
    allowed_updates: Sequence[str],
    timeout: int = POLL_TIMEOUT_S,
) -> None:
    """Fetch updates into the inbox until cancelled; raises only for a refused token.

    The updates are stored as the JSON Telegram sent (fields this library does not know
    included), read by a connection of its own (:class:`bot.updates.TolerantUpdatesRequest`).
    """
    await bot.delete_webhook()  # a webhook left set would make getUpdates fail
    request = TolerantUpdatesRequest()
    await request.initialize()
    try:
        await _poll(bot.base_url, request, inbox, list(allowed_updates), timeout)
    finally:
        await request.shutdown()


async def _poll(
    base_url: str,
    request: TolerantUpdatesRequest,
    inbox: InboxWorker,
    allowed_updates: list[str],
    timeout: int,
) -> None:
    offset: int | None = None
    failures = 0
    while True:
        query = {"timeout": timeout, "allowed_updates": json.dumps(allowed_updates)}
        if offset is not None:
            query["offset"] = offset
        try:
            batch = await request.post(
                f"{base_url}/getUpdates?{urlencode(query)}", read_timeout=timeout + READ_SLACK_S
            )
        except InvalidToken:
            raise
        except (TelegramError, OSError) as exc:
            delay = BACKOFF_S[min(failures, len(BACKOFF_S) - 1)]
            if isinstance(exc, RetryAfter):
                delay = max(delay, _seconds(exc.retry_after))
            failures += 1
            level = logging.ERROR if isinstance(exc, Conflict) else logging.WARNING
            log.log(level, "getUpdates failed (%s); again in %.1f s", exc, delay)
            await asyncio.sleep(delay)
            continue
        updates = [u for u in batch if isinstance(u, dict)] if isinstance(batch, list) else []
        if not updates:
            failures = 0
            continue
        try:
            await inbox.store(updates)
        except Exception as exc:
            # Not confirmed to Telegram: the same batch comes back at the next call.
            delay = BACKOFF_S[min(failures, len(BACKOFF_S) - 1)]
            failures += 1
            log.warning("could not store %d update(s) (%s); asking again", len(updates), exc)
            await asyncio.sleep(delay)
            continue
        failures = 0
        ids = [u["update_id"] for u in updates if isinstance(u.get("update_id"), int)]
        if ids:
            offset = max(ids) + 1


def _seconds(value: Any) -> float:
    total = getattr(value, "total_seconds", None)
    return float(total() if callable(total) else value)
