"""The customers' side of the load test: a fake Bot API and Poisson arrivals, in a child process.

``bench/load.py`` starts ``python -m bench.customers`` and talks to it over stdin/stdout, one
JSON object a line. The fake Telegram server runs here, in its own process (and so its own
interpreter lock), because the real Bot API is on another machine: serving it from the bot's
own event loop would charge the fake server's work to the bot.

Protocol (parent → child on stdin, child → parent on stdout):

1. parent: the plan ``{"arrivals": [[at_s, customer, register, text], …], "max_seconds",
   "drain_seconds", "ready_timeout_s"}``;
2. child: ``{"url", "token"}`` once the fake server listens; the bot is started on that URL;
3. child: waits for the bot to start polling (or, when the plan names ``webhook_urls``, for
   every replica to set its webhook), sends every arrival at its time (arrivals past
   ``max_seconds`` are not sent), waits until every sent message has a reply or
   ``drain_seconds`` passed, then ``{"done": {"pushed", "not_sent", "replies"}}``;
4. parent stops the bot (letting replies in flight finish), then writes ``collect``;
5. child: ``{"pushes": […], "seen": […]}`` (everything the fake server saw, timestamped with
   ``time.monotonic()``, which is one clock for both processes on Linux) and exits.

With ``webhook_urls`` the fake server is Telegram and a load balancer in one
(:meth:`tests.bot.fake_bot_api.FakeBotApi.balance`): each message is POSTed to the replicas in
turn, up to :data:`WEBHOOK_CONNECTIONS` at once (Telegram's default ``max_connections``), and
a delivery that fails or times out goes to the next replica.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from dataclasses import astuple, dataclass
from typing import Any, TextIO

from tests.bot.fake_bot_api import Call, Delivery, FakeBotApi

#: Telegram user ids of the simulated customers: 810000000 + index (private chat id = user id).
CUSTOMER_BASE_ID = 810_000_000
POLL_S = 0.02
#: Webhook deliveries in flight at once, as Telegram's default ``max_connections``.
WEBHOOK_CONNECTIONS = 40


@dataclass(frozen=True)
class Push:
    """A customer message handed to the bot (queued for its next ``getUpdates``)."""

    chat_id: int
    message_id: int
    at: float
    register: str


@dataclass(frozen=True)
class Seen:
    """A Bot API call the fake server answered (``getUpdates`` excluded)."""

    method: str
    chat_id: int | None
    status: int
    at: float
    message_id: int | None
    """For the send methods: the id of the message the bot "sent"."""
    buttons: bool


class TimedFakeBotApi(FakeBotApi):
    """The tests' fake Bot API, also stamping each call with the time it was answered."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[Seen] = []
        self.customer_replies = 0

    async def _record(self, call: Call) -> None:
        # Stamped when the fake has handled the request: "the reply reached Telegram".
        now = time.monotonic()
        result = call.result if isinstance(call.result, dict) else {}
        chat_id = call.chat_id
        self.seen.append(
            Seen(
                call.method, chat_id, call.status, now, result.get("message_id"), bool(call.buttons)
            )
        )
        if call.method == "sendMessage" and call.status == 200 and (chat_id or 0) > 0:
            self.customer_replies += 1
        await super()._record(call)


def _send(out: TextIO, payload: dict[str, Any]) -> None:
    out.write(json.dumps(payload, ensure_ascii=False) + "\n")
    out.flush()


async def run(plan: dict[str, Any], out: TextIO) -> None:
    """Serve the fake API, play the arrivals, report; see the module doc for the protocol."""
    loop = asyncio.get_running_loop()
    async with TimedFakeBotApi() as api:
        _send(out, {"url": api.url, "token": api.token})
        urls = list(plan.get("webhook_urls") or [])
        ready = float(plan["ready_timeout_s"])
        if urls:
            await api.wait_for("setWebhook", count=len(urls), timeout=ready)
            api.balance(urls, Delivery(timeout_s=10.0, retry_s=0.2))
        else:
            # The bot is up once it has deleted any webhook, which it does before polling.
            await api.wait_for("deleteWebhook", timeout=ready)
        connections = asyncio.Semaphore(WEBHOOK_CONNECTIONS)
        deliveries: set[asyncio.Task[int]] = set()

        async def deliver(message: dict[str, Any]) -> int:
            async with connections:
                return await api.push({"message": message})

        pushes: list[Push] = []
        started = time.monotonic()
        deadline = started + float(plan["max_seconds"])
        not_sent = 0
        for at_s, customer, register, text in plan["arrivals"]:
            due = started + float(at_s)
            if due > deadline:
                not_sent += 1
                continue
            if (wait := due - time.monotonic()) > 0:
                await asyncio.sleep(wait)
            user = api.user(CUSTOMER_BASE_ID + int(customer), first_name=f"Customer {customer}")
            message = api.incoming(user, text=text)
            pushes.append(Push(user["id"], message["message_id"], time.monotonic(), register))
            if urls:
                # Telegram does not wait for one delivery before the next customer writes.
                task = loop.create_task(deliver(message))
                deliveries.add(task)
                task.add_done_callback(deliveries.discard)
            else:
                await api.push({"message": message})
        drain_until = time.monotonic() + float(plan["drain_seconds"])
        while api.customer_replies < len(pushes) and time.monotonic() < drain_until:
            await asyncio.sleep(POLL_S)
        _send(
            out,
            {
                "done": {
                    "pushed": len(pushes),
                    "not_sent": not_sent,
                    "replies": api.customer_replies,
                }
            },
        )
        # The parent stops the bot now; late (duplicate) replies still reach this server.
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if line.strip() != "collect":
            return
        _send(
            out,
            {"pushes": [astuple(p) for p in pushes], "seen": [astuple(s) for s in api.seen]},
        )


def main() -> int:
    plan = json.loads(sys.stdin.readline())
    # Keep stdout for the protocol: anything else printed goes to stderr.
    out, sys.stdout = sys.stdout, sys.stderr
    asyncio.run(run(plan, out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
