"""Every request to the Bot API, retried through Telegram's own hiccups.

python-telegram-bot's :class:`~telegram.ext.AIORateLimiter` keeps within Telegram's limits
and retries a 429 after the ``retry_after`` Telegram asks for. A 5xx answer or a connection
that drops (both :class:`~telegram.error.NetworkError`) is raised to the handler at once, and
the customer's answer would be lost. :class:`RetryingRateLimiter` retries those too, after
short growing pauses. Polling (``getUpdates``) does not pass through a rate limiter; its own
loop in python-telegram-bot already retries network errors.

Delivery is at least once: a request whose connection dropped after Telegram acted on it is
sent again, so a customer may rarely see a message twice; without the retry they would see
none. Errors that cannot heal by waiting (400 Bad Request, 403 Forbidden…) are not retried.

Two more rules for the inbox and the flood limits:

* chat actions ("typing…") skip the limiter: they never wait for, nor take, the budget of
  30 messages/s the answers need; they are cosmetic, so a failed one is not retried either;
* a request made for an inbox update first checks that this process still holds the update
  (:meth:`bot.inbox.InboxWorker.confirm`): a process whose claim ran out while it was cut
  off from the database must not send what the process that took over sends too.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

import httpx
from telegram.error import BadRequest, NetworkError
from telegram.ext import AIORateLimiter

from bot.inbox import InboxWorker
from bot.jobs import current_job

__all__ = ["NETWORK_RETRY_DELAYS_S", "RetryingRateLimiter", "is_transient"]

log = logging.getLogger(__name__)

#: Pauses before each retry of a request that met a 5xx or a dropped connection (~15 s in all).
NETWORK_RETRY_DELAYS_S: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0, 8.0)


def is_transient(exc: BaseException) -> bool:
    """A 5xx, a dropped or refused connection, or a timeout: worth sending again."""
    # BadRequest subclasses NetworkError in python-telegram-bot but never heals by waiting.
    if not isinstance(exc, NetworkError) or isinstance(exc, BadRequest):
        return False
    # A 5xx has no cause; a network failure is caused by httpx. Anything else wrapped as
    # "Unknown error in HTTP implementation" (a bot already shut down) is no network trouble.
    cause = exc.__cause__
    return cause is None or isinstance(cause, (httpx.HTTPError, OSError))


class RetryingRateLimiter(AIORateLimiter):
    """:class:`AIORateLimiter` (limits, 429 retries) plus retries of transient failures."""

    def __init__(self, *, delays: Sequence[float] = NETWORK_RETRY_DELAYS_S, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.delays = tuple(delays)
        self.inbox: InboxWorker | None = None
        """The inbox whose claims guard sending (set when the application is built)."""

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Any]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Any:
        if endpoint == "sendChatAction":
            return await callback(*args, **kwargs)
        job = current_job()
        if job is not None and self.inbox is not None:
            await self.inbox.confirm(job)
        for delay in (*self.delays, None):
            try:
                return await super().process_request(
                    callback, args, kwargs, endpoint, data, rate_limit_args
                )
            except NetworkError as exc:
                if delay is None or not is_transient(exc):
                    raise
                log.warning("%s failed (%s); retrying in %.1f s", endpoint, exc, delay)
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")  # the loop returns or raises
