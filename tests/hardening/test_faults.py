"""Fault tests: each fault is injected into the running system, and each test asserts what the
customer sees and what is kept.

* the model raises or hangs → a flagged fallback in the customer's language, the bot serves on;
* PostgreSQL unreachable for a few seconds (a TCP proxy cut) → messages wait, then are stored
  and answered exactly once;
* the retrain process SIGKILLed mid-training → adapter in service unchanged, run marked
  interrupted at the next start, the next run succeeds;
* a corrupt or partial adapter folder → refused at promotion and at load, serving keeps the
  adapter it has;
* Telegram answers 429, 5xx or drops the connection → retried, nothing lost, polling goes on;
* the disk fills while the retrain report is written → the run fails cleanly, nothing promoted.

No assertion is on time; the timeouts only keep a broken test from hanging.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import pickle
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from cli.main import main as uttor
from migrations.runner import upgrade
from model.config import AdapterConfig, PipelineConfig, PromptConfig, ServiceConfig
from model.loading import LoadConfig, LoadedModel, load_base
from model.memory import CorrectionMemory
from model.pipeline import Pipeline
from model.prompting import build_prompt
from model.service import GenerationService
from model.text.replies import FALLBACKS
from storage.db import Database
from storage.models import Adapter, BotReply, Chat, Correction, Message, RetrainRun
from storage.registry import active_adapter, add_adapter, promote_adapter
from tests.bot.conftest import AGENTS_CHAT, CUSTOMER_ID, seed_faq
from tests.bot.fake_bot_api import DROPPED, Call, FakeBotApi
from tests.hardening.faults import (
    CORRUPTIONS,
    ModelFault,
    corrupt_copy,
    full_disk,
    pids_running,
    wait_until,
)
from tests.hardening.tcp_proxy import TcpProxy
from tests.shared.adapters import save_random_adapter
from tests.training.conftest import Conversations
from tests.training.fakes import FakeRunner
from training.config import RetrainConfig, TrainConfig
from training.pipeline import run_retrain
from training.report import REPORT_FILES
from training.schedule import ScheduleConfig, create_scheduler

REPO = Path(__file__).resolve().parents[2]

#: One new customer per register, each with a question no memory answers (the model must).
REGISTER_QUESTIONS = {
    "bn": "আমার পার্সেলটা কোথায় আছে এখন?",
    "en": "Where is my parcel right now?",
    "banglish": "amar parcel ta ekhon kothay ache?",
    "mixed": "আমার parcel টা এখন কোথায়?",
}


def to_chat(chat_id: int) -> Callable[[Call], bool]:
    return lambda call: call.chat_id == chat_id


def sent_to(api: FakeBotApi, chat_id: int, since: int = 0) -> list[Call]:
    """Every sendMessage attempt to ``chat_id``, failed ones included."""
    return api.find(lambda c: c.method == "sendMessage" and c.chat_id == chat_id, since)


def delivered_to(api: FakeBotApi, chat_id: int, since: int = 0) -> list[Call]:
    return [c for c in sent_to(api, chat_id, since) if c.status == 200]


def stored(database: Database, telegram_chat_id: int) -> tuple[list[Message], list[BotReply]]:
    """The messages of one Telegram chat (oldest first) and the bot's reply records in it."""
    with database.read() as session:
        chat = session.scalar(select(Chat).where(Chat.telegram_chat_id == telegram_chat_id))
        if chat is None:
            return [], []
        messages = session.scalars(
            select(Message).where(Message.chat_id == chat.id).order_by(Message.id)
        ).all()
        replies = session.scalars(
            select(BotReply).where(BotReply.message_id.in_([m.id for m in messages]))
        ).all()
        session.expunge_all()
        return list(messages), list(replies)


def make_pipeline(
    loaded: LoadedModel,
    database: Database,
    service: ServiceConfig | None = None,
    adapters: AdapterConfig | None = None,
) -> Pipeline:
    """The real pipeline on ``loaded`` and ``database``, as serving builds it for starters."""
    generation = GenerationService(
        loaded,
        service,
        database=database,
        adapters=adapters or AdapterConfig(follow_registry=False),
    )
    config = PipelineConfig(prompt=PromptConfig(system_style="compact"))
    return Pipeline(database, generation, CorrectionMemory(database), config)


# --- the model raises or hangs -----------------------------------------------------------------


@pytest.mark.parametrize("kind", ["raises", "hangs"])
async def test_a_failing_model_gives_flagged_fallbacks_and_the_bot_serves_on(
    kind: str,
    start_bot: Any,
    api: FakeBotApi,
    tiny_model: LoadedModel,
    staffed_database: Database,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="model.pipeline")
    # A short deadline, so that a hung model turns into fallbacks quickly; but not so short that
    # a loaded machine spends it before the model is asked (the deadline counts from arrival).
    # A raising model fails at once, so it gets a long one.
    timeout_s = 3.0 if kind == "hangs" else 30.0
    async with make_pipeline(
        tiny_model, staffed_database, ServiceConfig(timeout_s=timeout_s)
    ) as pipe:
        await start_bot(answerer_override=pipe, mirror="flagged", generation_timeout_s=timeout_s)
        customers = {label: 6100 + n for n, label in enumerate(REGISTER_QUESTIONS)}
        mark = api.mark()
        with ModelFault(pipe.service.slot.model, kind) as fault:
            for label, question in REGISTER_QUESTIONS.items():
                await api.say(api.user(customers[label]), question)
            for label, chat_id in customers.items():
                (answer,) = await api.wait_for("sendMessage", to_chat(chat_id), since=mark)
                # The customer reads a polite fallback in their own register, with buttons.
                assert answer.text == FALLBACKS[label], (label, answer.text)
                assert [b["text"] for b in answer.buttons] == ["👍", "👎"]
            # Agents see every one of them, flagged by the bot.
            mirrors = await api.wait_for("sendMessage", to_chat(AGENTS_CHAT), since=mark, count=4)
            assert fault.calls >= 1  # the model really was asked, and failed
        # A hung model is cut off by the deadline (what is left of 3 s since the message
        # arrived); a raising one fails its batch.
        cause = "no reply within" if kind == "hangs" else "injected model fault (raises)"
        assert any(cause in r.getMessage() for r in caplog.records), caplog.text
        assert all("⚠️ flagged by the bot" in m.text and "· fallback ·" in m.text for m in mirrors)
        for label, chat_id in customers.items():
            messages, replies = stored(staffed_database, chat_id)
            assert [(m.direction, m.text) for m in messages] == [
                ("in", REGISTER_QUESTIONS[label]),
                ("out", FALLBACKS[label]),
            ]
            (reply,) = replies
            assert reply.source == "fallback" and reply.flagged and reply.review == "unreviewed"

        # The model is back: the same customers are answered by it, and nothing is flagged.
        mark = api.mark()
        for chat_id in customers.values():
            await api.say(api.user(chat_id), "What are your delivery charges outside Dhaka?")
        for chat_id in customers.values():
            (answer,) = await api.wait_for("sendMessage", to_chat(chat_id), since=mark)
            messages, replies = stored(staffed_database, chat_id)
            assert messages[-1].text == answer.text
            assert replies[-1].source == "model" and not replies[-1].flagged


# --- the database is unreachable for a few seconds ----------------------------------------------


@pytest.fixture
def proxy(postgres_url: str) -> Iterator[TcpProxy]:
    """A TCP proxy in front of the test's PostgreSQL server."""
    url = make_url(postgres_url)
    with TcpProxy(url.host or "127.0.0.1", url.port or 5432) as running:
        yield running


async def wait_for_retry(caplog: pytest.LogCaptureFixture, *needles: str) -> None:
    """Until the storage retry has logged a warning that contains every one of ``needles``."""

    def seen() -> bool:
        return any(
            r.name == "storage.retry" and all(n in r.getMessage() for n in needles)
            for r in caplog.records
        )

    async def wait() -> None:
        while not seen():
            await asyncio.sleep(0.05)

    await asyncio.wait_for(wait(), 60)


@pytest.mark.postgres
async def test_a_database_outage_delays_answers_but_loses_and_repeats_none(
    start_bot: Any,
    api: FakeBotApi,
    tiny_model: LoadedModel,
    postgres_url: str,
    proxy: TcpProxy,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="storage.retry")
    upgrade(postgres_url)
    direct = Database(postgres_url)  # the test's own view, around the proxy
    database = Database(proxy.url(postgres_url))
    seed_faq(direct)
    # Serving follows the registry as in production: its poller meets the outage too.
    follow = AdapterConfig(poll_s=0.2)
    try:
        async with make_pipeline(tiny_model, database, adapters=follow) as pipe:
            bot = await start_bot(
                answerer_override=pipe,
                database_override=database,
                database_url=proxy.url(postgres_url),
                mirror="off",  # mirrors are not the subject; they would race the shutdown
            )
            first = api.user(CUSTOMER_ID)
            mark = api.mark()
            await api.say(first, "What are your delivery charges?")
            await api.wait_for("sendMessage", to_chat(CUSTOMER_ID), since=mark)

            # PostgreSQL goes away: live connections die, new ones are refused...
            proxy.cut("refuse")
            customers = [api.user(6200 + n) for n in range(3)]
            questions = ["What are your delivery charges?", "bKash e taka pathate parchi na"]
            mark = api.mark()
            sent: dict[int, list[int]] = {c["id"]: [] for c in [first, *customers]}
            for customer in [first, *customers]:
                for question in questions:
                    message = await api.say(customer, question)
                    sent[customer["id"]].append(message["message_id"])
            await wait_for_retry(caplog, "Connection refused")
            # ...then it accepts connections and drops them, as a restarting server does, for
            # long enough that the handlers are on their fourth try (a few seconds in all).
            proxy.cut("drop")
            await wait_for_retry(caplog, "server closed the connection", "attempt 4")
            # Nothing could be stored, so nothing was answered; nobody got an error instead.
            assert not api.find(lambda c: c.method == "sendMessage", since=mark)
            with direct.read() as session:
                assert session.scalar(select(func.count()).select_from(Message)) == 2
            proxy.restore()

            for chat_id, message_ids in sent.items():
                await api.wait_for(
                    "sendMessage", to_chat(chat_id), since=mark, count=len(message_ids)
                )
            await bot.stop()  # replies in flight finish; nothing more can arrive after this
            assert not bot.task.exception()
    finally:
        database.dispose()

    for chat_id, message_ids in sent.items():
        answers = delivered_to(api, chat_id, since=mark)
        messages, replies = stored(direct, chat_id)
        inbound = [m for m in messages if m.direction == "in"]
        outbound = [m for m in messages if m.direction == "out"]
        # Each message stored once, in order, and answered once with what was stored.
        tail = inbound[-len(message_ids) :]
        assert [m.telegram_message_id for m in tail] == message_ids
        assert len(inbound) == len(set(m.telegram_message_id for m in inbound))
        assert [a.text for a in answers] == [m.text for m in outbound[-len(message_ids) :]]
        assert [m.telegram_message_id for m in outbound[-len(answers) :]] == [
            a.result["message_id"] for a in answers
        ]
        assert len(replies) == len(outbound)
    direct.dispose()


# --- the retrain process is killed mid-training -------------------------------------------------

KILLABLE_RETRAIN = textwrap.dedent(
    """
    import pickle, sys
    from pathlib import Path
    from storage.db import Database
    from training.pipeline import run_retrain

    config = pickle.loads(Path(sys.argv[2]).read_bytes())
    run_retrain(Database(sys.argv[1]), config, trigger="schedule", force=True)
    """
)


def _teach(conversations: Conversations, n: int, offset: int = 0) -> None:
    for i in range(offset, offset + n):
        conversations.corrected(f"kisti {i} kobe dite hobe?", "?", f"Kisti {i} maser 5 tarikhe.")


def _active(database: Database) -> tuple[int, str] | None:
    with database.read() as session:
        adapter = active_adapter(session)
        return (adapter.id, adapter.status) if adapter else None


@pytest.fixture
def in_service(sqlite_database: Database, tiny_model_dir: Path, tmp_path: Path) -> int:
    """An adapter in service before the fault: the one that must stay."""
    path = save_random_adapter(tiny_model_dir, tmp_path / "in-service", seed=5)
    with sqlite_database.write() as session:
        adapter = add_adapter(
            session, version="in-service", path=str(path), base_model=str(tiny_model_dir)
        )
        promote_adapter(session, adapter_id=adapter.id)
        return adapter.id


def test_a_retrain_killed_mid_training_changes_nothing_and_is_recovered(
    sqlite_database: Database,
    retrain_config: RetrainConfig,
    fake_runner: FakeRunner,
    in_service: int,
    tmp_path: Path,
) -> None:
    conversations = Conversations(sqlite_database)
    _teach(conversations, 3)
    # Real training in the real child process, long enough that it is surely mid-training.
    config = replace(retrain_config, train=TrainConfig(epochs=500, batch_size=2, max_length=64))
    pickled = tmp_path / "config.pickle"
    pickled.write_bytes(pickle.dumps(config))
    retrain = subprocess.Popen(
        [sys.executable, "-c", KILLABLE_RETRAIN, sqlite_database.url, str(pickled)],
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    job_log = config.reports_dir / "1" / "job" / "job.log"
    spec = config.reports_dir / "1" / "job" / "job.json"
    try:

        def training() -> bool:
            text = job_log.read_text(encoding="utf-8") if job_log.is_file() else ""
            return " step " in text or retrain.poll() is not None

        assert wait_until(training, timeout=240)
        assert retrain.poll() is None, "the retrain ended before it could be killed"
        trainers = pids_running(str(spec))
        assert trainers, "no training process found"
    finally:
        os.kill(retrain.pid, signal.SIGKILL)
        retrain.wait()

    # The training child dies with the process that started it: no orphan keeps training.
    assert wait_until(lambda: not pids_running(str(spec)), timeout=60)
    with sqlite_database.read() as session:
        (run,) = session.scalars(select(RetrainRun)).all()
        assert run.status == "running"  # nobody could write anything else
        assert [a.version for a in session.scalars(select(Adapter))] == ["in-service"]
    assert _active(sqlite_database) == (in_service, "active")

    # The next start (the scheduler, in `uttor serve` or `uttor worker`) marks it interrupted.
    scheduler = create_scheduler(sqlite_database, config, ScheduleConfig())
    assert not scheduler.running
    with sqlite_database.read() as session:
        run = session.get(RetrainRun, 1)
        assert run is not None and run.status == "interrupted"
        assert run.error == "process ended mid-run"
        # The corrections it was training on are still waiting for the next run.
        assert (
            session.scalar(
                select(func.count())
                .select_from(Correction)
                .where(Correction.retrain_run_id.is_(None))
            )
            == 3
        )

    # The next run trains, gates and promotes as usual (the trainer stood in for).
    outcome = run_retrain(sqlite_database, retrain_config, runner=fake_runner, force=True)
    assert outcome.status == "succeeded" and outcome.decision == "promoted", outcome.reason
    assert fake_runner.specs[0].incumbent is not None
    assert fake_runner.specs[0].incumbent.id == in_service
    with sqlite_database.read() as session:
        active = active_adapter(session)
        assert active is not None and active.version == outcome.candidate
        statuses = [r.status for r in session.scalars(select(RetrainRun).order_by(RetrainRun.id))]
        assert statuses == ["interrupted", "succeeded"]


# --- a corrupt or partial adapter ---------------------------------------------------------------


@pytest.fixture(scope="module")
def good_adapter(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_random_adapter(tiny_model_dir, tmp_path_factory.mktemp("good") / "good", seed=7)


@pytest.fixture
def fresh_model(tiny_model_dir: Path) -> LoadedModel:
    """A private copy of the tiny model: loading adapters wraps it, so it is not shared."""
    return load_base(LoadConfig(str(tiny_model_dir)))


@pytest.fixture(scope="module")
def restart_model(tiny_model_dir: Path) -> LoadedModel:
    """The model a restarted service loads; it never gets an adapter (each one is refused)."""
    return load_base(LoadConfig(str(tiny_model_dir)))


def _register(database: Database, path: Path, version: str, *, promote: bool = False) -> int:
    with database.write() as session:
        adapter = add_adapter(session, version=version, path=str(path), base_model="tiny")
        if promote:
            promote_adapter(session, adapter_id=adapter.id)
        return adapter.id


@pytest.mark.parametrize("corruption", list(CORRUPTIONS))
async def test_a_corrupt_adapter_is_refused_at_promotion_and_at_load(
    corruption: str,
    sqlite_database: Database,
    sqlite_url: str,
    good_adapter: Path,
    fresh_model: LoadedModel,
    restart_model: LoadedModel,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    good = _register(sqlite_database, good_adapter, "good", promote=True)
    bad_path = corrupt_copy(good_adapter, tmp_path / "bad", corruption)
    bad = _register(sqlite_database, bad_path, "bad")

    # At promotion: `uttor adapters promote` checks the files and refuses, changing nothing.
    monkeypatch.setenv("UTTOR_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("UTTOR_HOME", str(tmp_path / "home"))
    with pytest.raises(SystemExit) as refused:
        uttor(["adapters", "promote", str(bad)])
    assert refused.value.code == 1
    assert capsys.readouterr().err.startswith("uttor: error: refused: adapter bad")
    assert _active(sqlite_database) == (good, "active")

    # At load: serving already runs the good adapter when the registry names the bad one
    # (promoted by a path that skipped the check, or broken on disk after its promotion).
    config = ServiceConfig(max_batch=1, max_wait_ms=0)
    follow = AdapterConfig(poll_s=3600)  # polled by hand below
    async with GenerationService(
        fresh_model, config, database=sqlite_database, adapters=follow
    ) as service:
        assert service.adapter is not None and service.adapter.id == good
        with sqlite_database.write() as session:
            promote_adapter(session, adapter_id=bad)
        assert await service.check_adapters() is False
        assert bad in service.slot.failed  # reported once, not retried every poll
        assert service.adapter is not None and service.adapter.id == good
        prompt = build_prompt(
            "Where is my parcel?",
            language="en",
            tokenizer=fresh_model.tokenizer,
            config=PromptConfig(system_style="compact"),
        )
        reply = await service.generate(prompt, timeout_s=60)
        assert reply.adapter is not None and reply.adapter.id == good

    # A restart with the bad adapter still in the registry: serving starts, on the base model.
    async with GenerationService(
        restart_model, config, database=sqlite_database, adapters=follow
    ) as restarted:
        assert restarted.adapter is None and bad in restarted.slot.failed


# --- Telegram answers 429, 5xx, or drops the connection ------------------------------------------

#: How to make the next sendMessage to a chat fail, and the status the fake records for it.
TELEGRAM_FAULTS: dict[str, tuple[Callable[[FakeBotApi, int], None], int]] = {
    "429 retry_after": (lambda api, chat: api.fail_next("sendMessage", 1, chat_id=chat), 429),
    "500": (lambda api, chat: api.error_next("sendMessage", 500, chat_id=chat), 500),
    "502": (lambda api, chat: api.error_next("sendMessage", 502, chat_id=chat), 502),
    "connection dropped": (lambda api, chat: api.drop_next("sendMessage", chat_id=chat), DROPPED),
}


@pytest.mark.parametrize("fault", list(TELEGRAM_FAULTS))
async def test_telegram_faults_on_sending_lose_nothing(
    fault: str, start_bot: Any, api: FakeBotApi, staffed_database: Database
) -> None:
    seed_faq(staffed_database)  # memory answers: the test is about delivery, not the model
    bot = await start_bot()
    inject, status = TELEGRAM_FAULTS[fault]
    inject(api, CUSTOMER_ID)  # hits the answer to the customer...
    inject(api, AGENTS_CHAT)  # ...and its mirror to the agents
    mark = api.mark()
    customer = api.user(CUSTOMER_ID)
    await api.say(customer, "What are your delivery charges?")
    (answer,) = await api.wait_for("sendMessage", to_chat(CUSTOMER_ID), since=mark)
    await api.wait_for("sendMessage", to_chat(AGENTS_CHAT), since=mark)
    await api.say(customer, "bKash e taka pathate parchi na")
    await api.wait_for("sendMessage", to_chat(CUSTOMER_ID), since=mark, count=2)
    await api.wait_for("sendMessage", to_chat(AGENTS_CHAT), since=mark, count=2)
    await bot.stop()

    to_customer = sent_to(api, CUSTOMER_ID, since=mark)
    to_agents = sent_to(api, AGENTS_CHAT, since=mark)
    assert [c.status for c in to_customer] == [status, 200, 200]
    assert [c.status for c in to_agents] == [status, 200, 200]
    assert to_customer[0].text == to_customer[1].text == answer.text
    messages, replies = stored(staffed_database, CUSTOMER_ID)
    outbound = [m for m in messages if m.direction == "out"]
    # Each answer stored once, with the id of the one message that reached the customer.
    assert [m.telegram_message_id for m in outbound] == [
        c.result["message_id"] for c in to_customer if c.status == 200
    ]
    assert len(replies) == 2


async def test_polling_survives_5xx_and_dropped_connections(
    start_bot: Any, api: FakeBotApi, staffed_database: Database
) -> None:
    seed_faq(staffed_database)
    bot = await start_bot()
    customer = api.user(CUSTOMER_ID)
    api.error_next("getUpdates", 502)
    api.drop_next("getUpdates")
    mark = api.mark()
    # The long poll parked now returns this update; the next two polls fail.
    first = await api.say(customer, "What are your delivery charges?")

    async def faults_seen() -> None:
        while len(api.find(lambda c: c.method == "getUpdates", since=mark)) < 2:
            await asyncio.sleep(0.05)

    await asyncio.wait_for(faults_seen(), 60)
    second = await api.say(customer, "bKash e taka pathate parchi na")
    await api.wait_for("sendMessage", to_chat(CUSTOMER_ID), since=mark, count=2)
    await api.wait_for("sendMessage", to_chat(AGENTS_CHAT), since=mark, count=2)
    await bot.stop()
    assert not bot.task.exception()
    polls = api.find(lambda c: c.method == "getUpdates", since=mark)
    assert [c.status for c in polls] == [502, DROPPED]
    # Each update handled once: the failed polls did not make the bot see one twice.
    assert len(delivered_to(api, CUSTOMER_ID, since=mark)) == 2
    messages, _ = stored(staffed_database, CUSTOMER_ID)
    inbound = [m.telegram_message_id for m in messages if m.direction == "in"]
    assert inbound == [first["message_id"], second["message_id"]]


# --- the disk fills up while the report is written ----------------------------------------------


class FillingRunner(FakeRunner):
    """The stand-in trainer, after which the disk holding the reports is full."""

    def __init__(self, fill: Callable[[Path], None]) -> None:
        super().__init__()
        self.fill = fill

    def __call__(self, spec: Any, work_dir: Path, **kwargs: Any) -> dict[str, Any]:
        result = super().__call__(spec, work_dir, **kwargs)
        self.fill(work_dir.parent)  # the run's report folder
        return result


def test_a_full_disk_while_reporting_fails_the_run_cleanly(
    sqlite_database: Database,
    retrain_config: RetrainConfig,
    in_service: int,
    record_property: Callable[[str, object], None],
) -> None:
    conversations = Conversations(sqlite_database)
    _teach(conversations, 3)
    with full_disk(retrain_config.reports_dir) as disk:
        record_property("disk_full", disk.how)  # a real tmpfs limit, or /dev/full without root
        runner = FillingRunner(lambda folder: disk.fill(folder, list(REPORT_FILES.values())))
        outcome = run_retrain(sqlite_database, retrain_config, runner=runner, force=True)

        assert outcome.status == "failed" and outcome.decision == "failed"
        assert f"[Errno {errno.ENOSPC}]" in outcome.reason, outcome.reason
        assert outcome.report is None  # no report could be written, and none is claimed
        with sqlite_database.read() as session:
            run = session.get(RetrainRun, outcome.run_id)
            assert run is not None and run.status == "failed" and run.report_path is None
            assert "No space left on device" in (run.error or "")
            # Nothing promoted: the adapter in service stays, the candidate never serves.
            candidate = session.scalar(select(Adapter).where(Adapter.id != in_service))
            assert candidate is None or candidate.status != "active"
            # The agents' corrections wait for the next run.
            assert (
                session.scalar(
                    select(func.count())
                    .select_from(Correction)
                    .where(Correction.retrain_run_id.is_not(None))
                )
                == 0
            )
        assert _active(sqlite_database) == (in_service, "active")

        # Space comes back: the next run (lock released, state consistent) succeeds.
        disk.free()
        again = run_retrain(sqlite_database, retrain_config, runner=FakeRunner(), force=True)
        assert again.status == "succeeded" and again.decision == "promoted", again.reason
        assert Path(again.report or "").is_file()
