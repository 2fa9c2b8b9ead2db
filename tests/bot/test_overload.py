"""Overload: every customer hears back within the generation timeout counted from arrival, and
"typing…" never takes the answers' share of Telegram's 30 messages/s (nor is it shown when
many answers are being written: tests/bot/test_customers.py shows it for one)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bench.instant import InstantService
from bot.telegram_retry import RetryingRateLimiter
from model.config import PipelineConfig
from model.memory import CorrectionMemory
from model.pipeline import Pipeline
from model.service import Generation, GenerationTimeout
from model.text.replies import FALLBACKS
from storage.db import Database
from tests.bot.fake_bot_api import Call, FakeBotApi


class SaturatedModel(InstantService):
    """A model that answers one question at a time, each in ``seconds``, within its limit."""

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = seconds
        self.lock = asyncio.Lock()

    async def generate(self, prompt: str, *, timeout_s: float | None = None) -> Generation:
        async def work() -> Generation:
            async with self.lock:
                await asyncio.sleep(self.seconds)
                return await InstantService.generate(self, prompt)

        try:
            return await asyncio.wait_for(work(), timeout_s)
        except TimeoutError:
            raise GenerationTimeout(f"no reply within {timeout_s} s") from None


def to_customers(call: Call) -> bool:
    return call.method == "sendMessage" and (call.chat_id or 0) > 0


async def test_under_overload_everyone_hears_back_within_the_timeout(
    start_bot: Any, api: FakeBotApi, staffed_database: Database
) -> None:
    timeout_s, model_s = 1.0, 0.3
    model = SaturatedModel(model_s)
    pipeline = Pipeline(
        staffed_database,
        model,  # type: ignore[arg-type]  # duck-typed on purpose
        CorrectionMemory(staffed_database),
        PipelineConfig(unsure="model"),
        compact_prompt=True,
    )
    customers = [api.user(890_000 + n) for n in range(4)]
    async with pipeline:
        await start_bot(answerer_override=pipeline, generation_timeout_s=timeout_s, mirror="off")
        mark = api.mark()
        pushed: dict[int, list[float]] = {c["id"]: [] for c in customers}
        # Three quick questions from each of four customers: 3.6 s of a model that is given 1 s,
        # and each customer's later questions wait for their earlier ones (per-chat order).
        for _ in range(3):
            for customer in customers:
                pushed[customer["id"]].append(time.monotonic())
                await api.say(customer, "Can I pay for my order in two parts?")
        answers = await api.wait_for("sendMessage", to_customers, since=mark, count=12)
    waited = []
    for chat_id, times in pushed.items():
        theirs = [a for a in answers if a.chat_id == chat_id]
        assert len(theirs) == len(times)
        waited += [round(answer.at - at, 2) for answer, at in zip(theirs, times, strict=True)]
    # Counted from arrival: time spent behind a customer's earlier question is not given to
    # the model again, so nobody waits much past the limit.
    assert max(waited) <= timeout_s + 1.0, waited
    fallbacks = [a for a in answers if a.text in FALLBACKS.values()]
    # The model answered what it could in the time; the rest got the fallback in time.
    assert 0 < len(fallbacks) < len(answers), waited


async def test_chat_actions_neither_wait_for_nor_take_the_flood_budget() -> None:
    limiter = RetryingRateLimiter(overall_max_rate=1, overall_time_period=1)
    await limiter.initialize()
    sent: list[tuple[str, float]] = []

    async def request(endpoint: str) -> Any:
        async def callback(*args: Any, **kwargs: Any) -> bool:
            sent.append((endpoint, time.monotonic()))
            return True

        return await limiter.process_request(callback, (), {}, endpoint, {"chat_id": 5}, None)

    started = time.monotonic()
    await request("sendMessage")  # the whole budget of this second
    for _ in range(5):
        await request("sendChatAction")
    assert time.monotonic() - started < 0.5  # no action waited for the budget
    await request("sendMessage")  # waits for the next second, not for five more
    assert time.monotonic() - started < 2.5
    assert [endpoint for endpoint, _ in sent] == [
        "sendMessage",
        *["sendChatAction"] * 5,
        "sendMessage",
    ]
    await limiter.shutdown()
