"""Running the bot: webhook mode, graceful SIGTERM, 429 handling, failures, clean logs."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from typing import Any

import pytest

from bot.answering import Answer, Answerer
from model.text.replies import say
from tests.bot.conftest import CUSTOMER_ID, free_port
from tests.bot.fake_bot_api import FakeBotApi
from training.schedule import create_scheduler
from wiring.configs import retrain_config, schedule_config


def to_customer(call: Any) -> bool:
    return call.chat_id == CUSTOMER_ID


async def test_webhook_mode_and_its_secret(start_bot: Any, api: FakeBotApi) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram-hook"
    await start_bot(
        webhook_url=url,
        webhook_secret="s3cret-Token_1",
        webhook_listen="127.0.0.1",
        webhook_port=port,
    )
    assert api.webhook == {"url": url, "secret_token": "s3cret-Token_1"}
    customer = api.user(CUSTOMER_ID)
    # Wrong or missing secret: refused before anything is parsed or answered.
    for secret in ("s3cret-Token_2", "", None):
        update = {"update_id": 900, "message": api.incoming(customer, text="/start")}
        assert await api.post_webhook(update, secret=secret) == 403
    mark = api.mark()
    assert await api.push({"message": api.incoming(customer, text="/help")}) == 200
    (reply,) = await api.wait_for("sendMessage", to_customer, since=mark)
    assert "/lang" in reply.text
    # Nothing came of the refused updates: the only answer is the one to /help.
    assert len(api.find(lambda c: c.method == "sendMessage" and to_customer(c))) == 1


class GatedAnswerer:
    """The real pipeline, held back until the test opens the gate (to be caught in flight)."""

    def __init__(self, inner: Answerer) -> None:
        self.inner = inner
        self.entered = asyncio.Event()
        self.gate = asyncio.Event()

    async def answer(self, **kwargs: Any) -> Answer:
        self.entered.set()
        await self.gate.wait()
        return await self.inner.answer(**kwargs)


async def test_sigterm_lets_replies_in_flight_finish(
    start_bot: Any, api: FakeBotApi, answerer: Answerer
) -> None:
    gated = GatedAnswerer(answerer)
    bot = await start_bot(answerer_override=gated)
    mark = api.mark()
    await api.say(api.user(CUSTOMER_ID), "When will my order arrive?")
    await gated.entered.wait()
    os.kill(os.getpid(), signal.SIGTERM)  # serve() handles it: stop taking updates, finish
    await asyncio.wait_for(bot.stop_event.wait(), 30)

    async def application_stopping() -> None:
        while bot.application.running:
            await asyncio.sleep(0.01)

    # The application is shutting down while the answer is still held at the gate...
    await asyncio.wait_for(application_stopping(), 30)
    assert not bot.task.done()
    gated.gate.set()  # ...and the answer still goes out before serve() returns.
    await asyncio.wait_for(bot.task, 60)
    (answer,) = await api.wait_for("sendMessage", to_customer, since=mark)
    assert answer.buttons  # the whole reply went out, buttons and all


async def test_429_is_retried_after_retry_after(start_bot: Any, api: FakeBotApi) -> None:
    await start_bot()
    api.fail_next("sendMessage", retry_after=1)
    mark = api.mark()
    await api.say(api.user(CUSTOMER_ID), "/start")
    await api.wait_for("sendMessage", to_customer, since=mark)
    attempts = api.find(lambda c: c.method == "sendMessage" and to_customer(c), since=mark)
    assert [c.status for c in attempts] == [429, 200]
    assert attempts[0].text == attempts[1].text == say("start", None)


class BrokenAnswerer:
    """A pipeline that fails outright (a bug or an outage, not a model timeout)."""

    async def answer(self, **kwargs: Any) -> Answer:
        raise RuntimeError("database is on fire")


async def test_pipeline_failure_gets_a_polite_note(start_bot: Any, api: FakeBotApi) -> None:
    await start_bot(answerer_override=BrokenAnswerer())
    mark = api.mark()
    await api.say(api.user(CUSTOMER_ID), "amar order kothay?")
    (note,) = await api.wait_for("sendMessage", to_customer, since=mark)
    assert note.text == say("failed", None)  # nothing known about this customer yet
    mark = api.mark()
    await api.say(api.user(CUSTOMER_ID), "/help")  # the bot carries on
    await api.wait_for("sendMessage", to_customer, since=mark)


async def test_no_token_and_no_message_text_in_logs(
    start_bot: Any, api: FakeBotApi, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    bot = await start_bot()
    secret_question = "amar bKash PIN 4321 kaj korche na"
    mark = api.mark()
    await api.say(api.user(CUSTOMER_ID), secret_question)
    await api.wait_for("sendMessage", to_customer, since=mark)
    api.fail_next("sendMessage", retry_after=1)  # an error path logs too
    await api.say(api.user(CUSTOMER_ID), "/help")
    await api.wait_for("sendMessage", to_customer, since=mark, count=2)
    await bot.stop()
    assert caplog.records, "nothing was logged at all"
    for record in caplog.records:
        rendered = record.getMessage() + (record.exc_text or "")
        assert api.token not in rendered, record.name
        assert api.token.split(":")[1] not in rendered, record.name
        if record.levelno >= logging.INFO:
            assert secret_question not in rendered, record.name
    assert "<bot-token>" in caplog.text  # PTB's debug lines carried it, masked


async def test_the_nightly_retrain_is_scheduled_while_serving(
    start_bot: Any, api: FakeBotApi, make_settings: Any, staffed_database: Any, tiny_model_dir: Any
) -> None:
    settings = make_settings(base_model=str(tiny_model_dir), retrain_cron="30 3 * * *")
    scheduler = create_scheduler(
        staffed_database,
        retrain_config(settings),
        schedule_config(settings),
        notify=lambda notice: None,
    )
    bot = await start_bot(scheduler=scheduler, base_model=str(tiny_model_dir))
    assert scheduler.running
    (job,) = scheduler.get_jobs()
    assert (job.next_run_time.hour, job.next_run_time.minute) == (3, 30)
    assert str(job.next_run_time.tzinfo) == "Asia/Dhaka"
    await bot.stop()
    assert not scheduler.running
