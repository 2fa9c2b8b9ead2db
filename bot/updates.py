"""Updates python-telegram-bot cannot read must not stop the bot.

One update PTB cannot read (a field a newer or older Bot API server sends differently, say a
poll without ``allows_revoting``) must not hold back the others: parsed with its batch it would
fail the whole batch, fetched again forever. The ``getUpdates`` connection here
(``bot/polling.py``) and the webhook check each update first and replace an unreadable one
with an empty update of the same id, so intake moves past it; no handler matches an empty
update. A warning names the update id and the error type, never the content (customer text).
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import Update
from telegram.request import HTTPXRequest, RequestData

log = logging.getLogger(__name__)

# What PTB's builder uses for the polling connection: one long poll at a time.
POLLING_POOL_SIZE = 1


def readable(item: Any) -> Any:
    """``item`` when PTB can read it as an update, else an empty update with its id."""
    try:
        Update.de_json(item, None)
    except Exception as exc:  # whatever PTB raises for it, the rest of the batch must go on
        update_id = item.get("update_id") if isinstance(item, dict) else None
        log.warning("update %s cannot be read (%s); skipped", update_id, type(exc).__name__)
        return {"update_id": update_id} if isinstance(update_id, int) else None
    return item


class TolerantUpdatesRequest(HTTPXRequest):
    """The ``getUpdates`` connection, with unreadable updates replaced (see the module doc)."""

    def __init__(self) -> None:
        super().__init__(connection_pool_size=POLLING_POOL_SIZE)

    async def post(  # type: ignore[override]
        self, url: str, request_data: RequestData | None = None, **timeouts: Any
    ) -> Any:
        result = await super().post(url, request_data, **timeouts)
        if not isinstance(result, list):
            return result
        return [kept for kept in map(readable, result) if kept is not None]
