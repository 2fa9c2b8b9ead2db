"""The webhook server: Telegram POSTs updates here when ``UTTOR_WEBHOOK_URL`` is set.

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
from telegram import Update
from telegram.ext import Application
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets

from bot.updates import readable

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class UpdateHandler(tornado.web.RequestHandler):
    """Accept one update: check the secret, parse, queue it for the application."""

    def initialize(self, bot_app: Application, secret: str) -> None:  # type: ignore[override]
        # Not "application": tornado's own attribute of that name is its web application.
        self.bot_app = bot_app
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
        if readable(data) is data:
            await self.bot_app.update_queue.put(Update.de_json(data, self.bot_app.bot))
        # An update PTB cannot read is acknowledged and skipped (``readable`` warns): a refusal
        # would make Telegram deliver it again and again, holding back the updates after it.
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
    application: Application, *, url: str, secret: str, listen: str, port: int
) -> WebhookServer:
    """Bind and serve ``POST <path of url>``; port 0 picks a free port."""
    app = tornado.web.Application(
        [
            (
                re.escape(webhook_path(url)),
                UpdateHandler,
                {"bot_app": application, "secret": secret},
            )
        ]
    )
    server = HTTPServer(app, xheaders=True)
    sockets = bind_sockets(port, listen, family=socket.AF_UNSPEC)
    server.add_sockets(sockets)
    bound = sockets[0].getsockname()[1]
    log.info("webhook server listening on %s:%s%s", listen, bound, webhook_path(url))
    return WebhookServer(server=server, port=bound)
