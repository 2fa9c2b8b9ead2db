"""A local fake of the Telegram Bot API, for end-to-end tests of the real Application.

An aiohttp server on 127.0.0.1 (random port) answers the methods uttor uses, keeps the messages
it "sent" so tests can reply to them or press their buttons, queues injected updates for
``getUpdates`` (or POSTs them to the registered webhook with its secret, as Telegram does),
records every call, and can answer the next call of a method with 429 and a ``retry_after``,
with a 5xx error, or by dropping the connection without an answer.

For several replicas, :meth:`FakeBotApi.balance` makes it Telegram and a load balancer in one:
each update goes to the replicas' webhook URLs in turn, and a delivery that fails or gets no
answer in time is delivered again, to the next one, as Telegram retries through a balancer.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

TOKEN = "123456789:AAE-fake_token_for_tests_only_0123456789"
#: The status of a call whose connection the fake closed without answering (``drop_next``).
DROPPED = 0
BOT_ID = 123456789
BOT_USERNAME = "uttor_test_bot"
# Parameters python-telegram-bot sends as raw strings; everything else is JSON-encoded.
RAW_STRING_FIELDS = frozenset(
    {
        "text",
        "caption",
        "secret_token",
        "url",
        "callback_query_id",
        "action",
        "parse_mode",
        "description",
        "inline_message_id",
    }
)


@dataclass
class Call:
    """One request the bot made."""

    method: str
    params: dict[str, Any]
    files: dict[str, bytes] = field(default_factory=dict)
    status: int = 200
    """HTTP status answered; ``DROPPED`` when the connection was closed without an answer."""
    result: Any = None
    """What the fake answered: for the send methods, the message the bot "sent"."""
    at: float = field(default_factory=time.monotonic)
    """When the call arrived (``time.monotonic()``)."""

    @property
    def chat_id(self) -> int | None:
        value = str(self.params.get("chat_id"))
        return int(value) if value.lstrip("-").isdigit() else None

    @property
    def text(self) -> str:
        return str(self.params.get("text") or self.params.get("caption") or "")

    @property
    def buttons(self) -> list[dict[str, Any]]:
        markup = self.params.get("reply_markup") or {}
        return [b for row in markup.get("inline_keyboard", []) for b in row]


class FakeBotApi:
    """The fake server; ``async with FakeBotApi() as api`` starts and stops it."""

    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.bot_user = {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": "uttor",
            "username": BOT_USERNAME,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        self.calls: list[Call] = []
        self.messages: dict[tuple[int, int], dict[str, Any]] = {}
        self.webhook: dict[str, Any] | None = None
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._message_ids: dict[int, itertools.count[int]] = {}
        self._callback_ids = itertools.count(1)
        self._faults: dict[str, list[_Fault]] = {}
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self._closing = False
        self.port = 0
        self._targets: list[str] = []
        self._next_target = 0
        self._delivery = Delivery()
        #: (update_id, url, status) of every webhook delivery attempt made through balance().
        self.deliveries: list[tuple[int, str, int]] = []

    # -- lifecycle -------------------------------------------------------------------------

    async def __aenter__(self) -> FakeBotApi:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def __aexit__(self, *exc: object) -> None:
        # Release long polls still parked here, or the server would wait for them to time out.
        self._closing = True
        async with self._changed:
            self._changed.notify_all()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def url(self) -> str:
        """The value for ``UTTOR_TELEGRAM_API_URL``."""
        return f"http://127.0.0.1:{self.port}/bot"

    # -- faults ----------------------------------------------------------------------------

    # Each takes ``chat_id`` to hit only the next such call to that chat (faults are kept in
    # the order they were asked for; the first one that matches a call is used).

    def fail_next(self, method: str, retry_after: int = 1, *, chat_id: int | None = None) -> None:
        """Answer the next call of ``method`` with 429 Too Many Requests."""
        self._faults.setdefault(method, []).append(_Fault(429, chat_id, retry_after))

    def error_next(
        self, method: str, status: int = 502, times: int = 1, *, chat_id: int | None = None
    ) -> None:
        """Answer the next ``times`` calls of ``method`` (``getUpdates`` too) with ``status``."""
        self._faults.setdefault(method, []).extend([_Fault(status, chat_id)] * times)

    def drop_next(self, method: str, times: int = 1, *, chat_id: int | None = None) -> None:
        """Close the connection of the next ``times`` calls of ``method``, answering nothing.

        The call is dropped before it is acted on, as when a proxy in front of Telegram fails.
        """
        self._faults.setdefault(method, []).extend([_Fault(DROPPED, chat_id)] * times)

    def _take_fault(self, call: Call) -> _Fault | None:
        faults = self._faults.get(call.method, [])
        for index, fault in enumerate(faults):
            if fault.chat_id is None or fault.chat_id == call.chat_id:
                return faults.pop(index)
        return None

    # -- the server ------------------------------------------------------------------------

    async def _params(self, request: web.Request) -> tuple[dict[str, Any], dict[str, bytes]]:
        params: dict[str, Any] = {}
        files: dict[str, bytes] = {}
        if request.content_type == "application/json":
            return dict(await request.json()), files
        if request.can_read_body:
            form = await request.post()
            for name, value in form.items():
                if isinstance(value, web.FileField):
                    files[name] = value.file.read()
                elif name in RAW_STRING_FIELDS:
                    params[name] = value
                else:
                    try:
                        params[name] = json.loads(value)
                    except (TypeError, ValueError):
                        params[name] = value
        params.update(request.query)
        return params, files

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.match_info["token"] != self.token:
            return _error(401, "Unauthorized")
        params, files = await self._params(request)
        call = Call(method=method, params=params, files=files)
        fault = self._take_fault(call)
        if fault is not None:
            call.status = fault.status
            await self._record(call)
            if fault.status == DROPPED:
                assert request.transport is not None
                request.transport.abort()  # the client reads a reset, never a response
                raise ConnectionResetError("dropped by the fake Bot API")
            if fault.status == 429:
                return web.json_response(
                    {
                        "ok": False,
                        "error_code": 429,
                        "description": f"Too Many Requests: retry after {fault.retry_after}",
                        "parameters": {"retry_after": fault.retry_after},
                    },
                    status=429,
                )
            return _error(fault.status, "Bad Gateway" if fault.status == 502 else "Server Error")
        if method == "getUpdates":
            # Not recorded: polling would drown the interesting calls.
            return web.json_response({"ok": True, "result": await self._get_updates(params)})
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            call.status = 404
            await self._record(call)
            return _error(404, "Not Found: method not found")
        try:
            result = handler(params, files)
        except _ApiError as exc:
            call.status = exc.code
            await self._record(call)
            return _error(exc.code, exc.description)
        call.result = result
        await self._record(call)
        return web.json_response({"ok": True, "result": result})

    async def _record(self, call: Call) -> None:
        async with self._changed:
            self.calls.append(call)
            self._changed.notify_all()

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        timeout = float(params.get("timeout") or 0)
        self._updates = [u for u in self._updates if u["update_id"] >= offset]
        deadline = time.monotonic() + timeout
        async with self._changed:
            while not self._updates and not self._closing and time.monotonic() < deadline:
                try:
                    await asyncio.wait_for(self._changed.wait(), deadline - time.monotonic())
                except TimeoutError:
                    break
            return list(self._updates)

    # -- Bot API methods -------------------------------------------------------------------

    def _next_message_id(self, chat_id: int) -> int:
        return next(self._message_ids.setdefault(chat_id, itertools.count(1)))

    def _chat(self, chat_id: int) -> dict[str, Any]:
        if chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": f"user{chat_id}"}
        return {"id": chat_id, "type": "supergroup", "title": f"group{chat_id}"}

    def _bot_message(self, params: dict[str, Any], **content: Any) -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        message: dict[str, Any] = {
            "message_id": self._next_message_id(chat_id),
            "date": int(time.time()),
            "chat": self._chat(chat_id),
            "from": self.bot_user,
            **content,
        }
        if isinstance(params.get("reply_markup"), dict) and "inline_keyboard" in params.get(
            "reply_markup", {}
        ):
            message["reply_markup"] = params["reply_markup"]
        reply_to = (params.get("reply_parameters") or {}).get("message_id")
        if reply_to is not None and (chat_id, int(reply_to)) in self.messages:
            message["reply_to_message"] = self.messages[(chat_id, int(reply_to))]
        self.messages[(chat_id, message["message_id"])] = message
        return message

    def _m_getMe(self, params: dict[str, Any], files: dict[str, bytes]) -> dict[str, Any]:
        return self.bot_user

    def _m_sendMessage(self, params: dict[str, Any], files: dict[str, bytes]) -> dict[str, Any]:
        text = params.get("text") or ""
        if not text.strip():
            raise _ApiError(400, "Bad Request: message text is empty")
        if len(text.encode("utf-16-le")) // 2 > 4096:
            raise _ApiError(400, "Bad Request: message is too long")
        return self._bot_message(params, text=text)

    def _m_sendPhoto(self, params: dict[str, Any], files: dict[str, bytes]) -> dict[str, Any]:
        photo = [{"file_id": "p1", "file_unique_id": "p1", "width": 10, "height": 10}]
        return self._bot_message(params, photo=photo, caption=params.get("caption"))

    def _m_sendDocument(self, params: dict[str, Any], files: dict[str, bytes]) -> dict[str, Any]:
        document = {"file_id": "d1", "file_unique_id": "d1"}
        return self._bot_message(params, document=document, caption=params.get("caption"))

    def _m_copyMessage(self, params: dict[str, Any], files: dict[str, bytes]) -> dict[str, Any]:
        return {"message_id": self._bot_message(params, text="(copy)")["message_id"]}

    def _edit(self, params: dict[str, Any], **changes: Any) -> dict[str, Any]:
        key = (int(params["chat_id"]), int(params["message_id"]))
        if key not in self.messages:
            raise _ApiError(400, "Bad Request: message to edit not found")
        message = self.messages[key]
        message.update(changes)
        markup = params.get("reply_markup")
        if isinstance(markup, dict) and markup.get("inline_keyboard"):
            message["reply_markup"] = markup
        else:
            message.pop("reply_markup", None)
        return message

    def _m_editMessageText(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        return self._edit(params, text=params.get("text") or "")

    def _m_editMessageReplyMarkup(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        return self._edit(params)

    def _m_answerCallbackQuery(self, params: dict[str, Any], files: dict[str, bytes]) -> bool:
        return True

    def _m_sendChatAction(self, params: dict[str, Any], files: dict[str, bytes]) -> bool:
        return True

    def _m_setWebhook(self, params: dict[str, Any], files: dict[str, bytes]) -> bool:
        self.webhook = {"url": params["url"], "secret_token": params.get("secret_token")}
        return True

    def _m_deleteWebhook(self, params: dict[str, Any], files: dict[str, bytes]) -> bool:
        self.webhook = None
        return True

    def _m_setMyCommands(self, params: dict[str, Any], files: dict[str, bytes]) -> bool:
        return True

    def _m_leaveChat(self, params: dict[str, Any], files: dict[str, bytes]) -> bool:
        return True

    # -- what tests inject -----------------------------------------------------------------

    def balance(self, urls: list[str], delivery: Delivery | None = None) -> None:
        """Deliver pushed updates to these webhook URLs in turn (see the module doc)."""
        self._targets = list(urls)
        self._delivery = delivery or Delivery()

    async def post_to(self, url: str, update: dict[str, Any], *, timeout_s: float = 30.0) -> int:
        """POST ``update`` to one replica's webhook with the registered secret.

        Returns the HTTP status; ``DROPPED`` when the connection failed or no answer came
        within ``timeout_s`` (the replica may have stored the update all the same).
        """
        assert self.webhook is not None, "no webhook registered"
        headers = {"X-Telegram-Bot-Api-Secret-Token": self.webhook["secret_token"] or ""}
        try:
            async with (
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout_s)) as session,
                session.post(url, json=update, headers=headers) as response,
            ):
                return response.status
        except (aiohttp.ClientError, TimeoutError, OSError):
            return DROPPED

    async def _deliver(self, update: dict[str, Any]) -> int:
        status = DROPPED
        for _ in range(self._delivery.attempts):
            url = self._targets[self._next_target % len(self._targets)]
            self._next_target += 1
            status = await self.post_to(url, update, timeout_s=self._delivery.timeout_s)
            self.deliveries.append((update["update_id"], url, status))
            if status == 200:
                return status
            await asyncio.sleep(self._delivery.retry_s)
        return status

    async def push(self, update: dict[str, Any]) -> int:
        """Deliver an update: POST it to the webhook if one is set, else queue it for polling.

        Returns the HTTP status of the webhook delivery (200 for a queued update).
        """
        update = {"update_id": next(self._update_ids), **update}
        if self._targets:
            return await self._deliver(update)
        if self.webhook is not None:
            return await self.post_webhook(update, secret=self.webhook["secret_token"])
        async with self._changed:
            self._updates.append(update)
            self._changed.notify_all()
        return 200

    async def post_webhook(self, update: dict[str, Any], *, secret: str | None) -> int:
        """POST an update to the registered webhook with ``secret`` as the secret header."""
        assert self.webhook is not None, "no webhook registered"
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
        async with (
            aiohttp.ClientSession() as session,
            session.post(self.webhook["url"], json=update, headers=headers) as response,
        ):
            return response.status

    def user(self, user_id: int, first_name: str = "", username: str | None = None) -> dict:
        user: dict[str, Any] = {
            "id": user_id,
            "is_bot": False,
            "first_name": first_name or f"user{user_id}",
        }
        if username:
            user["username"] = username
        return user

    def incoming(
        self,
        user: dict[str, Any],
        *,
        chat_id: int | None = None,
        text: str | None = None,
        reply_to: dict[str, Any] | None = None,
        **content: Any,
    ) -> dict[str, Any]:
        """A message from ``user`` (in their private chat unless ``chat_id``), not yet sent."""
        chat_id = user["id"] if chat_id is None else chat_id
        message: dict[str, Any] = {
            "message_id": self._next_message_id(chat_id),
            "date": int(time.time()),
            "chat": self._chat(chat_id),
            "from": user,
            **content,
        }
        if text is not None:
            message["text"] = text
            if text.startswith("/"):
                command = text.split()[0]
                message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        self.messages[(chat_id, message["message_id"])] = message
        return message

    async def say(self, user: dict[str, Any], text: str, **kwargs: Any) -> dict[str, Any]:
        """``user`` sends ``text``; returns the message."""
        message = self.incoming(user, text=text, **kwargs)
        await self.push({"message": message})
        return message

    async def press(self, user: dict[str, Any], message: dict[str, Any], data: str) -> None:
        """``user`` presses the inline button with ``data`` under ``message``."""
        await self.push(
            {
                "callback_query": {
                    "id": str(next(self._callback_ids)),
                    "from": user,
                    "message": message,
                    "chat_instance": str(message["chat"]["id"]),
                    "data": data,
                }
            }
        )

    # -- waiting for the bot ---------------------------------------------------------------

    def pending_updates(self) -> int:
        """Updates queued for ``getUpdates`` and not yet confirmed by a later offset."""
        return len(self._updates)

    def mark(self) -> int:
        """A position in the call log; pass it as ``since`` to look only at later calls."""
        return len(self.calls)

    def find(self, predicate: Callable[[Call], bool], since: int = 0) -> list[Call]:
        return [call for call in self.calls[since:] if predicate(call)]

    async def wait_for(
        self,
        method: str,
        predicate: Callable[[Call], bool] = lambda call: True,
        *,
        since: int = 0,
        count: int = 1,
        timeout: float = 30.0,
    ) -> list[Call]:
        """The first ``count`` successful calls of ``method`` matching ``predicate``.

        ``timeout`` only keeps a broken test from hanging; nothing asserts on time.
        """

        def matching() -> list[Call]:
            return self.find(
                lambda c: c.method == method and c.status == 200 and predicate(c), since
            )

        async def wait() -> list[Call]:
            async with self._changed:
                while len(found := matching()) < count:
                    await self._changed.wait()
                return found[:count]

        try:
            return await asyncio.wait_for(wait(), timeout)
        except TimeoutError:
            seen = [(c.method, c.chat_id, c.text[:60]) for c in self.calls[since:]]
            raise AssertionError(f"no {count} x {method} matching; calls since: {seen}") from None


@dataclass(frozen=True)
class Delivery:
    """How :meth:`FakeBotApi.balance` retries: Telegram retries a webhook call that failed."""

    timeout_s: float = 10.0
    """An answer later than this counts as failed (the update is delivered again)."""
    retry_s: float = 0.1
    attempts: int = 100


@dataclass(frozen=True)
class _Fault:
    """How to answer one future call: a status (or ``DROPPED``), for one chat or any."""

    status: int
    chat_id: int | None = None
    retry_after: int = 1


class _ApiError(Exception):
    def __init__(self, code: int, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


def _error(code: int, description: str) -> web.Response:
    return web.json_response(
        {"ok": False, "error_code": code, "description": description}, status=code
    )
