"""The pipeline on a real vLLM server: replies, run-time LoRA on promotion and rollback,
refused adapters, time limits, and ``uttor chat`` with the promoted adapter.

The server (conftest.py) serves the quick starter model; adapters are random LoRA weights
saved as training saves them, so a reply with an adapter differs from the base model's.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import torch
from peft import LoraConfig, get_peft_model

from model.backends.vllm import VllmBackend
from model.backends.vllm_adapters import lora_name
from model.backends.vllm_server import ServerProcess
from model.loading import LoadConfig, load_base
from model.pipeline import Pipeline, Reply
from storage.conversations import upsert_chat, upsert_customer
from storage.db import Database
from storage.models import BotReply
from storage.registry import add_adapter, promote_adapter, rollback_adapter
from tests.shared.adapters import save_random_adapter
from tests.shared.cli import run_cli
from tests.vllm_server.conftest import MAX_LORA_RANK, SERVED_NAME
from wiring.build import build_pipeline
from wiring.settings import Settings

# The first test here waits for the model build and the server start (about a minute).
pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

# New questions, written for these tests; none is in the knowledge base or memory.
QUESTIONS = [
    ("Could the rider leave my parcel with the guard downstairs?", "en"),
    ("আমার পাঠানো ছবির সাথে পণ্যের রং মিলছে না, এখন কী করব?", "bn"),
    ("bhai amar voucher code ta kaj korche na checkout e", "banglish"),
    ("আমার refund এর status টা কি একটু check করে দেবেন?", "mixed"),
]
QUESTION = QUESTIONS[0][0]


@pytest.fixture(scope="module")
def adapter_dirs(quick_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    root = tmp_path_factory.mktemp("vllm-server-adapters")
    return [save_random_adapter(quick_model_dir, root / f"a{seed}", seed) for seed in (1, 2)]


@pytest.fixture(scope="module")
def too_large_adapter(quick_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Sound files, a rank above what the server accepts: only vLLM can refuse it."""
    base = load_base(LoadConfig(str(quick_model_dir), quantization="none")).model
    torch.manual_seed(3)
    config = LoraConfig(
        r=MAX_LORA_RANK * 2, lora_alpha=16, target_modules=["q_proj", "v_proj"],
        init_lora_weights=False,
    )  # fmt: skip
    out = tmp_path_factory.mktemp("vllm-server-large") / "too-large"
    get_peft_model(base, config).save_pretrained(out)
    return out


def settings_for(server: ServerProcess, database: Database, **values: Any) -> Settings:
    return Settings(
        database_url=database.url,
        generation_backend="vllm",
        vllm_url=server.url,
        adapter_poll_s=0.2,
        **values,
    )


def pipeline_for(
    server: ServerProcess, database: Database, model_dir: Path, **values: Any
) -> Pipeline:
    pipeline = build_pipeline(settings_for(server, database, **values), database, str(model_dir))
    assert isinstance(pipeline.service, VllmBackend)
    return pipeline


_chats = iter(range(1000, 10_000))


async def ask(pipeline: Pipeline, database: Database, text: str = QUESTION) -> Reply:
    """The reply to ``text`` as the first message of a new chat (no history to differ)."""
    number = next(_chats)

    def new_chat() -> tuple[int, int]:
        with database.write() as session:
            customer = upsert_customer(session, telegram_user_id=number)
            chat = upsert_chat(session, telegram_chat_id=number, customer_id=customer.id)
            return chat.id, customer.id

    chat_id, customer_id = await asyncio.to_thread(new_chat)
    return await pipeline.answer(chat_id=chat_id, customer_id=customer_id, text=text)


def stored(database: Database, reply: Reply) -> BotReply:
    with database.read() as session:
        row = session.get(BotReply, reply.reply_id)
        assert row is not None
        session.expunge(row)
        return row


def served_names(server: ServerProcess) -> set[str]:
    data = httpx.get(f"{server.url}/models", timeout=10).json()["data"]
    return {entry["id"] for entry in data if entry.get("parent")}


def register(database: Database, path: Path, version: str) -> int:
    with database.write() as session:
        return add_adapter(session, version=version, path=str(path), base_model="quick").id


def promote_elsewhere(url: str, adapter_id: int) -> None:
    """Promote through a database connection of its own, as another process would."""
    other = Database(url)
    try:
        with other.write() as session:
            promote_adapter(session, adapter_id=adapter_id)
    finally:
        other.dispose()


async def wait_for_adapter(pipeline: Pipeline, adapter_id: int, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        current = pipeline.service.adapter
        if current is not None and current.id == adapter_id:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"adapter {adapter_id} never served; serving {pipeline.service.adapter}")


# --- replies ------------------------------------------------------------------------------------


async def test_the_pipeline_answers_through_the_server(
    vllm_server: ServerProcess, quick_model_dir: Path, sqlite_database: Database
) -> None:
    async with pipeline_for(vllm_server, sqlite_database, quick_model_dir) as pipeline:
        tokenizer = pipeline.service.tokenizer
        assert (await pipeline.service._base_model())[0] == SERVED_NAME
        for text, register_ in QUESTIONS:
            reply = await ask(pipeline, sqlite_database, text)
            assert reply.source == "model" and reply.text, (register_, reply)
            assert reply.adapter is None and not reply.flagged
            row = stored(sqlite_database, reply)
            # The server counted exactly the prompt's tokens: no second BOS was added.
            assert row.prompt_tokens == len(tokenizer(row.prompt, add_special_tokens=False)[0])
            assert 0 < row.completion_tokens <= 96
        # Greedy: the same question in a new chat gets the same answer.
        first, again = await ask(pipeline, sqlite_database), await ask(pipeline, sqlite_database)
        assert first.text == again.text


async def test_settings_reach_the_server(
    vllm_server: ServerProcess, quick_model_dir: Path, sqlite_database: Database
) -> None:
    pipeline = pipeline_for(vllm_server, sqlite_database, quick_model_dir, max_new_tokens=3)
    async with pipeline:
        reply = await ask(pipeline, sqlite_database, QUESTIONS[2][0])
    assert reply.source == "model" and 0 < reply.completion_tokens <= 3


async def test_sixteen_chats_at_once(
    vllm_server: ServerProcess, quick_model_dir: Path, sqlite_database: Database
) -> None:
    async with pipeline_for(vllm_server, sqlite_database, quick_model_dir) as pipeline:
        replies = await asyncio.gather(
            *(ask(pipeline, sqlite_database, QUESTIONS[i % 4][0]) for i in range(16))
        )
    assert [r.source for r in replies] == ["model"] * 16
    assert len({r.reply_id for r in replies}) == 16


async def test_past_the_time_limit_the_customer_gets_the_flagged_fallback(
    vllm_server: ServerProcess, quick_model_dir: Path, sqlite_database: Database
) -> None:
    pipeline = pipeline_for(
        vllm_server, sqlite_database, quick_model_dir, generation_timeout_s=0.001
    )
    async with pipeline:
        reply = await ask(pipeline, sqlite_database)
    assert reply.source == "fallback" and reply.flagged and reply.text
    assert stored(sqlite_database, reply).flagged


# --- adapters -----------------------------------------------------------------------------------


async def test_promotion_and_rollback_load_adapters_at_run_time(
    vllm_server: ServerProcess,
    quick_model_dir: Path,
    sqlite_database: Database,
    adapter_dirs: list[Path],
) -> None:
    url = sqlite_database.url
    first = register(sqlite_database, adapter_dirs[0], "v1")
    second = register(sqlite_database, adapter_dirs[1], "v2")
    async with pipeline_for(vllm_server, sqlite_database, quick_model_dir) as pipeline:
        base = await ask(pipeline, sqlite_database)
        assert base.adapter is None

        promote_elsewhere(url, first)  # the watcher notices within its poll period
        await wait_for_adapter(pipeline, first)
        one = await ask(pipeline, sqlite_database)
        assert (one.source, one.adapter, one.adapter_id) == ("model", "v1", first)
        assert stored(sqlite_database, one).adapter_id == first
        assert one.text != base.text  # the adapter's weights took part
        ref_one = pipeline.service.adapter
        assert lora_name(ref_one) in served_names(vllm_server)

        promote_elsewhere(url, second)
        await wait_for_adapter(pipeline, second)  # the watcher may switch first
        two = await ask(pipeline, sqlite_database)
        assert (two.adapter, two.adapter_id) == ("v2", second)
        assert stored(sqlite_database, two).adapter_id == second
        names = served_names(vllm_server)
        assert lora_name(pipeline.service.adapter) in names
        assert lora_name(ref_one) not in names  # the retired adapter was unloaded

        with sqlite_database.write() as session:
            rollback_adapter(session)
        await wait_for_adapter(pipeline, first)
        back = await ask(pipeline, sqlite_database)
        assert (back.adapter, back.adapter_id) == ("v1", first)
        assert back.text == one.text
        assert served_names(vllm_server) == {lora_name(ref_one)}


async def test_an_adapter_the_server_refuses_keeps_the_current_one_serving(
    vllm_server: ServerProcess,
    quick_model_dir: Path,
    sqlite_database: Database,
    adapter_dirs: list[Path],
    too_large_adapter: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = sqlite_database.url
    good = register(sqlite_database, adapter_dirs[0], "good")
    large = register(sqlite_database, too_large_adapter, "too-large")
    promote_elsewhere(url, good)
    async with pipeline_for(vllm_server, sqlite_database, quick_model_dir) as pipeline:
        assert pipeline.service.adapter is not None and pipeline.service.adapter.id == good
        promote_elsewhere(url, large)
        assert not await pipeline.service.check_adapters()
        reply = await ask(pipeline, sqlite_database)
        assert (reply.source, reply.adapter) == ("model", "good")
        refused = pipeline.service.status()["refused"]
        assert "max_lora_rank" in refused["too-large"]
    assert "too-large cannot serve on vLLM" in caplog.text


async def test_an_adapter_the_server_lost_is_loaded_again(
    vllm_server: ServerProcess,
    quick_model_dir: Path,
    sqlite_database: Database,
    adapter_dirs: list[Path],
) -> None:
    adapter = register(sqlite_database, adapter_dirs[1], "lost")
    promote_elsewhere(sqlite_database.url, adapter)
    async with pipeline_for(vllm_server, sqlite_database, quick_model_dir) as pipeline:
        name = lora_name(pipeline.service.adapter)
        # Another process unloads it (or the server restarted): the next reply reloads it.
        httpx.post(f"{vllm_server.url}/unload_lora_adapter", json={"lora_name": name}, timeout=10)
        assert name not in served_names(vllm_server)
        reply = await ask(pipeline, sqlite_database)
    assert (reply.source, reply.adapter) == ("model", "lost")
    assert name in served_names(vllm_server)


def test_uttor_chat_answers_through_vllm_with_the_promoted_adapter(
    vllm_server: ServerProcess,
    quick_model_dir: Path,
    adapter_dirs: list[Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name, value in {
        "UTTOR_HOME": str(tmp_path / "home"),
        "UTTOR_BASE_MODEL": str(quick_model_dir),
        "UTTOR_GENERATION_BACKEND": "vllm",
        "UTTOR_VLLM_URL": vllm_server.url,
        # init loads the knowledge base; a question it does not ground goes to the model.
        "UTTOR_UNSURE": "model",
    }.items():
        monkeypatch.setenv(name, value)
    code, out, err = run_cli(["init", "--json"], capsys)
    assert code == 0, err
    url = f"sqlite:///{(tmp_path / 'home' / 'uttor.db').resolve()}"
    database = Database(url)
    try:
        adapter = register(database, adapter_dirs[0], "promoted")
    finally:
        database.dispose()
    promote_elsewhere(url, adapter)
    code, out, err = run_cli(["chat", "--once", QUESTIONS[1][0], "--json"], capsys)
    assert code == 0, err
    reply = json.loads(out)
    assert (reply["source"], reply["adapter"]) == ("model", "promoted"), reply
