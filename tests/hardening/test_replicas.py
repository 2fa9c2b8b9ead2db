"""The durable inbox under faults: nothing lost, nothing doubled.

* a bot SIGKILLed mid-work (questions stored, answers held) and started again answers every
  question once; Telegram had been told of every update before the kill;
* the same update delivered to two webhook replicas (at once, one after the other, after a
  delivery that timed out) is answered once;
* a replica killed mid-load leaves its chats to the other, which finishes them once its
  lease runs out; deliveries that failed on the dead one go to the live one;
* the per-customer rate limit and the handoff timeout count once per deployment, not once
  per replica.

Replicas that are killed run as processes (``tests/hardening/replica.py``); the others run in
this test's event loop on their own database connections, as separate processes would.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import func, select

from bench.instant import instant_pipeline
from bot import handoff
from bot.app import HANDOFF_CHECK_EVERY_S
from migrations.runner import upgrade
from model.config import PipelineConfig
from model.pipeline import Pipeline
from storage.db import Database
from storage.inbox import pending_count
from storage.models import BotReply, Chat, Handoff, InboxUpdate, Message
from tests.bot.conftest import AGENTS_CHAT, RunningBot, free_port
from tests.bot.fake_bot_api import TOKEN, Call, Delivery, FakeBotApi
from tests.hardening.expect import variants
from tests.hardening.invariants import violations

REPO = Path(__file__).resolve().parents[2]
SECRET = "replica-secret"
#: Seconds a claim lasts unrenewed in these tests (production: 15): a dead replica's updates
#: are taken over this fast.
LEASE_S = 2.0
QUESTIONS = [
    "Amar order ta kobe asbe?",
    "When does my parcel arrive?",
    "আমার অর্ডার কবে আসবে?",
    "Delivery charge koto outside Dhaka?",
]


def to_customers(call: Call) -> bool:
    return call.method == "sendMessage" and (call.chat_id or 0) > 0 and call.status == 200


async def until(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    """Poll ``condition`` on the event loop; ``timeout`` only keeps a broken test from hanging."""
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.05)


class Replica:
    """A bot process (``tests/hardening/replica.py``)."""

    def __init__(self, api: FakeBotApi, db_url: str, home: Path, **options: Any) -> None:
        args = ["--db", db_url, "--api", api.url, "--token", TOKEN, "--home", str(home)]
        args += ["--lease", str(LEASE_S)]
        for name, value in options.items():
            args += [f"--{name.replace('_', '-')}", str(value)]
        home.mkdir(parents=True, exist_ok=True)
        self.log = (home / "replica.log").open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.hardening.replica", *args],
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.pid = self.process.pid

    def kill(self) -> None:
        """SIGKILL: no handler runs, nothing is flushed."""
        if self.process.poll() is None:
            os.kill(self.pid, signal.SIGKILL)
        self.process.wait(30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()


@pytest.fixture
def replicas() -> Iterator[list[Replica]]:
    started: list[Replica] = []
    yield started
    for replica in started:
        replica.kill()
        replica.log.close()


def inbound(database: Database) -> int:
    with database.read() as session:
        return int(
            session.scalar(
                select(func.count()).select_from(Message).where(Message.direction == "in")
            )
            or 0
        )


def done(database: Database) -> int:
    with database.read() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(InboxUpdate)
                .where(InboxUpdate.done_at.is_not(None))
            )
            or 0
        )


def pending(database: Database) -> int:
    with database.read() as session:
        return pending_count(session)


def one_answer_each(api: FakeBotApi, since: int, chats: list[int]) -> None:
    """Every chat got exactly one answer since ``since``; nothing else was sent to customers."""
    answers = Counter(call.chat_id for call in api.find(to_customers, since))
    assert answers == Counter(chats), answers


def replies_per_question(database: Database) -> Counter[int]:
    with database.read() as session:
        return Counter(session.scalars(select(BotReply.question_message_id)).all())


# --- SIGKILL mid-work, then a restart ---------------------------------------------------------


async def test_a_bot_killed_mid_work_answers_everything_once_after_a_restart(
    api: FakeBotApi, sqlite_url: str, tmp_path: Path, replicas: list[Replica]
) -> None:
    upgrade(sqlite_url)
    database = Database(sqlite_url)
    customers = [api.user(880_000 + n) for n in range(30)]
    # The first process answers 9 questions and is held answering the rest.
    replicas.append(Replica(api, sqlite_url, tmp_path / "first", hold_after=9))
    await api.wait_for("deleteWebhook", timeout=120)
    mark = api.mark()
    for n, customer in enumerate(customers):
        await api.say(customer, QUESTIONS[n % len(QUESTIONS)])
    await api.wait_for("sendMessage", lambda c: to_customers(c), since=mark, count=9)
    # Every question is stored, and Telegram was told every update arrived (polling moved
    # its offset past them): whatever the process held in memory alone would now be lost.
    # The nine answered are marked done; the other 21 are in the middle of being answered.
    await until(
        lambda: inbound(database) == 30 and api.pending_updates() == 0 and done(database) == 9
    )
    replicas[0].kill()
    assert len(api.find(to_customers, mark)) == 9

    replicas.append(Replica(api, sqlite_url, tmp_path / "second"))
    await api.wait_for("sendMessage", lambda c: to_customers(c), since=mark, count=30, timeout=120)
    await until(lambda: pending(database) == 0)
    replicas[1].stop()

    one_answer_each(api, mark, [c["id"] for c in customers])
    assert not violations(database)
    assert inbound(database) == 30
    assert set(replies_per_question(database).values()) == {1}
    with database.read() as session:
        # The 21 held questions were claimed a second time, by the new process.
        retried = session.scalar(
            select(func.count()).select_from(InboxUpdate).where(InboxUpdate.attempts == 2)
        )
    assert retried == 21
    database.dispose()


# --- two replicas on one PostgreSQL database --------------------------------------------------


@dataclass
class Live:
    """A webhook replica in this event loop, with its own connections and pipeline."""

    bot: RunningBot
    pipeline: Pipeline

    @property
    def url(self) -> str:
        return str(self.bot.settings.webhook_url)

    @property
    def database(self) -> Database:
        return self.bot.database

    async def settled(self) -> None:
        await self.bot.settled()

    async def stop(self) -> None:
        await self.bot.stop()
        await self.pipeline.close()
        self.database.dispose()


async def start_replica(start_bot: Any, postgres_url: str, **overrides: Any) -> Live:
    database = Database(postgres_url)
    pipeline = instant_pipeline(database, PipelineConfig(unsure="model"))
    await pipeline.start()
    port = free_port()
    bot: RunningBot = await start_bot(
        answerer_override=pipeline,
        database_override=database,
        database_url=postgres_url,
        webhook_url=f"http://127.0.0.1:{port}/hook",
        webhook_secret=SECRET,
        webhook_listen="127.0.0.1",
        webhook_port=port,
        mirror="off",
        **overrides,
    )
    return Live(bot, pipeline)


async def stop_replicas(*replicas: Live) -> None:
    for replica in replicas:
        await replica.stop()


@pytest.mark.postgres
async def test_one_update_delivered_to_two_replicas_is_answered_once(
    api: FakeBotApi, start_bot: Any, postgres_url: str
) -> None:
    upgrade(postgres_url)
    a = await start_replica(start_bot, postgres_url)
    b = await start_replica(start_bot, postgres_url)
    urls = [a.url, b.url]
    customers = [api.user(881_000 + n) for n in range(12)]
    updates = [
        {"update_id": 70_000 + n, "message": api.incoming(c, text=QUESTIONS[n % 4])}
        for n, c in enumerate(customers)
    ]
    mark = api.mark()
    for n, update in enumerate(updates):
        if n % 3 == 0:  # both at once: two connections of a load balancer
            statuses = await asyncio.gather(*(api.post_to(url, update) for url in urls))
            assert list(statuses) == [200, 200]
        elif n % 3 == 1:  # one, then a retry at the other (its answer was lost on the way)
            assert await api.post_to(urls[0], update) == 200
            assert await api.post_to(urls[1], update) == 200
        else:  # one that did not answer in time, then the retry at the other
            await api.post_to(urls[n % 2], update, timeout_s=0.001)
            assert await api.post_to(urls[(n + 1) % 2], update) == 200
    await a.settled()
    await b.settled()
    one_answer_each(api, mark, [c["id"] for c in customers])
    assert not violations(a.database)
    assert set(replies_per_question(a.database).values()) == {1}
    await stop_replicas(a, b)


@pytest.mark.postgres
async def test_the_rate_limit_counts_a_customer_once_across_replicas(
    api: FakeBotApi, start_bot: Any, postgres_url: str
) -> None:
    upgrade(postgres_url)
    a = await start_replica(start_bot, postgres_url, rate_limit_per_min=2)
    b = await start_replica(start_bot, postgres_url, rate_limit_per_min=2)
    api.balance([a.url, b.url])
    customer = api.user(882_000)
    mark = api.mark()
    for question in QUESTIONS:  # four messages within the minute, alternately on a and b
        await api.say(customer, question)
    await a.settled()
    await b.settled()
    sent = api.find(to_customers, mark)
    # Two answered (with buttons), one note, one dropped in silence: per deployment.
    assert [bool(c.buttons) for c in sent] == [True, True, False]
    assert sent[2].text in variants("rate_limited")
    with a.database.read() as session:
        verdicts = session.scalars(select(InboxUpdate.verdict).order_by(InboxUpdate.update_id))
        assert list(verdicts) == ["allow", "allow", "note", "drop"]
    assert {url for _, url, _ in api.deliveries} == {a.url, b.url}
    await stop_replicas(a, b)


def job_context(replica: Live) -> Any:
    """What the job queue hands the handoff job: the application and its bot."""
    application = replica.bot.application
    return SimpleNamespace(application=application, bot=application.bot)


@pytest.mark.postgres
async def test_an_idle_handoff_expires_once_across_replicas(
    api: FakeBotApi, start_bot: Any, postgres_url: str
) -> None:
    upgrade(postgres_url)
    a = await start_replica(start_bot, postgres_url, handoff_timeout_min=1)
    b = await start_replica(start_bot, postgres_url, handoff_timeout_min=1)
    customer = api.user(883_000)
    mark = api.mark()
    asking = {"update_id": 71_000, "message": api.incoming(customer, text="/agent")}
    assert await api.post_to(a.url, asking) == 200
    await a.settled()
    with a.database.write() as session:  # the handoff has been idle for an hour
        chat = session.scalar(select(Chat).where(Chat.telegram_chat_id == customer["id"]))
        assert chat is not None and chat.mode == "human"
        for row in [*session.scalars(select(Handoff)), *session.scalars(select(Message))]:
            if isinstance(row, Handoff):
                row.started_at -= timedelta(hours=1)
            else:
                row.created_at -= timedelta(hours=1)
    mark = api.mark()
    # Both replicas run the job, at the same moment and again a minute later.
    for _ in range(2):
        await asyncio.gather(
            *(handoff.expire_idle_handoffs(job_context(replica)) for replica in (a, b))
        )
    released = api.find(lambda c: c.method == "sendMessage" and c.chat_id == customer["id"], mark)
    notices = api.find(lambda c: c.method == "sendMessage" and c.chat_id == AGENTS_CHAT, mark)
    assert len(released) == 1 and len(notices) == 1, (released, notices)
    assert handoff.EXPIRY_LEASE.total_seconds() > HANDOFF_CHECK_EVERY_S
    await stop_replicas(a, b)


@pytest.mark.postgres
async def test_a_replica_killed_mid_load_leaves_its_chats_to_the_other(
    api: FakeBotApi, postgres_url: str, tmp_path: Path, replicas: list[Replica]
) -> None:
    upgrade(postgres_url)
    database = Database(postgres_url)
    ports = [free_port(), free_port()]
    urls = [f"http://127.0.0.1:{port}/hook" for port in ports]
    # The first replica answers five questions, then holds whatever else it takes. It runs
    # alone for the first round: a replica claims every update it has room for (64), so with
    # both running the second could take nearly all of them first and leave it nothing to hold.
    replicas.append(Replica(api, postgres_url, tmp_path / "a", webhook_port=ports[0], hold_after=5))
    dead = f":{replicas[0].pid}:"

    def held_by_a() -> int:
        with database.read() as session:
            return int(
                session.scalar(
                    select(func.count())
                    .select_from(InboxUpdate)
                    .where(InboxUpdate.done_at.is_(None), InboxUpdate.claimed_by.contains(dead))
                )
                or 0
            )

    await api.wait_for("setWebhook", count=1, timeout=120)
    api.balance(urls[:1], Delivery(timeout_s=5.0, retry_s=0.05))
    customers = [api.user(884_000 + n) for n in range(20)]
    mark = api.mark()
    await asyncio.gather(*(api.say(c, QUESTIONS[n % 4]) for n, c in enumerate(customers)))
    await until(lambda: held_by_a() > 0)
    replicas.append(Replica(api, postgres_url, tmp_path / "b", webhook_port=ports[1]))
    await api.wait_for("setWebhook", count=2, timeout=120)
    api.balance(urls, Delivery(timeout_s=5.0, retry_s=0.05))
    await asyncio.gather(*(api.say(c, QUESTIONS[(n + 1) % 4]) for n, c in enumerate(customers)))
    replicas[0].kill()
    # More customers write while it is dead: the balancer's deliveries to it fail and go on.
    late = [api.user(884_100 + n) for n in range(5)]
    for n, customer in enumerate(late):
        message = api.incoming(customer, text=QUESTIONS[n % 4])
        assert await api.push({"message": message}) == 200
    expected = [c["id"] for c in customers] * 2 + [c["id"] for c in late]
    await api.wait_for("sendMessage", to_customers, since=mark, count=len(expected), timeout=120)
    await until(lambda: pending(database) == 0)
    replicas[1].stop()

    one_answer_each(api, mark, expected)
    assert not violations(database)
    assert set(replies_per_question(database).values()) == {1}
    assert any(status != 200 for _, url, status in api.deliveries if url == urls[0])
    with database.read() as session:
        taken_over = session.scalar(
            select(func.count()).select_from(InboxUpdate).where(InboxUpdate.attempts > 1)
        )
    assert taken_over and taken_over >= 1
    database.dispose()
