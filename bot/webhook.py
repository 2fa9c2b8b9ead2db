"""The webhook server: Telegram POSTs updates here when ``UTTOR_WEBHOOK_URL`` is set.

An update is answered 200 only once it is committed to the inbox (``bot/inbox.py``): a
process killed a moment later has lost nothing, and an update the database cannot take gets
a 500, so Telegram delivers it again. The same update delivered twice (Telegram retries a call
that timed out, and a load balancer may send the retry to another replica) is stored once.

python-telegram-bot's own webhook server compares the secret header with ``!=``; this one uses
:func:`hmac.compare_digest`, so the time a wrong guess takes says nothing about the secret.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import tornado.web
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets

from bot.inbox import InboxWorker
from bot.updates import readable

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class UpdateHandler(tornado.web.RequestHandler):
    """Accept one update: check the secret, parse, store it in the inbox, then answer 200."""

    def initialize(self, inbox: InboxWorker, secret: str) -> None:  # type: ignore[override]
        self.inbox = inbox
        self.secret = secret.encode()

    async def post(self) -> None:
        given = self.request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self.secret):
            log.warning("webhook request with a wrong or missing secret token refused")
            raise tornado.web.HTTPError(403)
        try:
            data = json.loads(self.request.body)
        except ValueError as exc:
            log.warning("webhook request with a body that is not JSON refused")
            raise tornado.web.HTTPError(400) from exc
        # An update PTB cannot read is stored empty and so skipped (``readable`` warns): a
        # refusal would make Telegram deliver it again and again, holding back the rest.
        kept = readable(data) if isinstance(data, dict) else None
        if kept is not None:
            try:
                await self.inbox.store([kept])
            except Exception as exc:
                log.error("webhook update not stored (%s); Telegram will retry", exc)
                raise tornado.web.HTTPError(500) from exc
        self.set_status(200)

    def log_exception(self, typ, value, tb) -> None:  # type: ignore[no-untyped-def, override]
        # 403/400 are logged above, once; tornado would add a line with the request details.
        if not isinstance(value, tornado.web.HTTPError):
            super().log_exception(typ, value, tb)


@dataclass
class WebhookServer:
    """A running webhook server and the port it bound."""

    server: HTTPServer
    port: int

    def stop_accepting(self) -> None:
        self.server.stop()

    async def close(self) -> None:
        await self.server.close_all_connections()


def webhook_path(url: str) -> str:
    """The path Telegram POSTs to: that of the public URL (``/`` when it has none)."""
    return urlsplit(url).path or "/"


async def start_webhook_server(
    inbox: InboxWorker, *, url: str, secret: str, listen: str, port: int
) -> WebhookServer:
    """Bind and serve ``POST <path of url>``; port 0 picks a free port."""
    app = tornado.web.Application(
        [
            (
                re.escape(webhook_path(url)),
                UpdateHandler,
                {"inbox": inbox, "secret": secret},
            )
        ]
    )
    server = HTTPServer(app, xheaders=True)
    sockets = bind_sockets(port, listen, family=socket.AF_UNSPEC)
    server.add_sockets(sockets)
    bound = sockets[0].getsockname()[1]
    log.info("webhook server listening on %s:%s%s", listen, bound, webhook_path(url))
    return WebhookServer(server=server, port=bound)
