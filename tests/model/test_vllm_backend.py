"""The vLLM backend against a scripted OpenAI-compatible server (no vLLM needed).

What the real server does with these requests is tested in tests/vllm_server/; here, the
requests the backend writes, how it reads answers and failures, and how it follows the
adapter registry, with every answer of the server chosen by the test.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from pathlib import Path
from typing import Any

import httpx
import pytest

from model.backends.config import VllmConfig
from model.backends.vllm import VllmBackend, load_base_files
from model.backends.vllm_adapters import lora_name
from model.config import AdapterConfig, DecodingConfig, PipelineConfig, ServiceConfig
from model.memory import CorrectionMemory
from model.pipeline import Pipeline
from model.prompting import build_prompt
from model.service import GenerationError, GenerationTimeout, stop_token_ids
from storage.conversations import upsert_chat, upsert_customer
from storage.db import Database
from storage.models import BotReply
from storage.registry import add_adapter, promote_adapter
from tests.shared.adapters import save_random_adapter

BASE = "served-base"


class FakeVllm:
    """Answers like vLLM 0.32's API server; ``mode`` and the sets below script it."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, dict[str, Any], httpx.Headers]] = []
        self.mode = "ok"
        self.text = " Your order ships today. [/INST] leftover"
        self.finish = "stop"
        self.loaded: set[str] = set()
        self.load_status = 200
        self.refuse_message = "Worker failed with error 'LoRA rank 32 is greater than 16'"

    def calls(self, path: str) -> list[dict[str, Any]]:
        return [body for _, p, body, _ in self.requests if p.endswith(path)]

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else {}
        self.requests.append((request.method, request.url.path, body, request.headers))
        if self.mode == "refused":
            raise httpx.ConnectError("connection refused", request=request)
        if self.mode == "down":
            return httpx.Response(503, json={"error": {"message": "engine dead", "code": 503}})
        path = request.url.path
        if path.endswith("/models"):
            entries = [{"id": BASE, "parent": None, "max_model_len": 512}]
            entries += [{"id": name, "parent": BASE, "max_model_len": None} for name in self.loaded]
            return httpx.Response(200, json={"object": "list", "data": entries})
        if path.endswith("/load_lora_adapter"):
            if self.load_status != 200:
                message = f"Call to add_lora method failed: {self.refuse_message}"
                return httpx.Response(self.load_status, json={"error": {"message": message}})
            if body["lora_name"] in self.loaded:
                message = f"The lora adapter '{body['lora_name']}' has already been loaded."
                return httpx.Response(400, json={"error": {"message": message}})
            self.loaded.add(body["lora_name"])
            return httpx.Response(200, text="Success")
        if path.endswith("/unload_lora_adapter"):
            if body["lora_name"] not in self.loaded:
                return httpx.Response(404, json={"error": {"message": "cannot be found"}})
            self.loaded.discard(body["lora_name"])
            return httpx.Response(200, text="Success")
        if path.endswith("/completions"):
            if body["model"] != BASE and body["model"] not in self.loaded:
                message = f"The model `{body['model']}` does not exist."
                return httpx.Response(404, json={"error": {"message": message}})
            if self.mode == "slow":
                await asyncio.sleep(5)
            if self.mode == "garbage":
                return httpx.Response(200, text="<html>proxy error</html>")
            if self.mode == "bad-request":
                return httpx.Response(400, json={"error": {"message": "prompt too long"}})
            return httpx.Response(
                200,
                json={
                    "choices": [{"index": 0, "text": self.text, "finish_reason": self.finish}],
                    "usage": {"prompt_tokens": 21, "completion_tokens": 9, "total_tokens": 30},
                },
            )
        return httpx.Response(404, json={"detail": "Not Found"})


@pytest.fixture(scope="module")
def base_files(tiny_model_dir: Path) -> tuple[Any, dict[str, Any]]:
    return load_base_files(str(tiny_model_dir))


@pytest.fixture(scope="module")
def adapter_dirs(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    root = tmp_path_factory.mktemp("vllm-adapters")
    return [save_random_adapter(tiny_model_dir, root / f"a{seed}", seed) for seed in (1, 2)]


@pytest.fixture
def fake() -> FakeVllm:
    return FakeVllm()


def backend(
    base_files: tuple[Any, dict[str, Any]],
    fake: FakeVllm,
    *,
    database: Database | None = None,
    service: ServiceConfig | None = None,
    config: VllmConfig | None = None,
) -> VllmBackend:
    tokenizer, base_config = base_files
    return VllmBackend(
        tokenizer,
        config or VllmConfig(url="http://vllm.test/v1"),
        service,
        database=database,
        adapters=AdapterConfig(poll_s=60),  # tests poll by hand (check_adapters)
        base_config=base_config,
        transport=httpx.MockTransport(fake),
    )


def prompt(tokenizer: Any) -> str:
    return build_prompt("When will my order arrive?", language="en", tokenizer=tokenizer)


def register(database: Database, path: Path, version: str) -> int:
    with database.write() as session:
        return add_adapter(session, version=version, path=str(path), base_model="tiny").id


def promote(database: Database, adapter_id: int) -> None:
    with database.write() as session:
        promote_adapter(session, adapter_id=adapter_id)


# --- requests and answers ---------------------------------------------------------------------


async def test_requests_decode_as_local_serving_does(base_files: Any, fake: FakeVllm) -> None:
    tokenizer, _ = base_files
    service = ServiceConfig(decoding=DecodingConfig(max_new_tokens=7, repetition_penalty=1.3))
    config = VllmConfig(url="http://vllm.test/v1/", api_key="s3cret")
    async with backend(base_files, fake, service=service, config=config) as vllm:
        generation = await vllm.generate(prompt(tokenizer))
    body = fake.calls("/completions")[0]
    assert body["model"] == BASE  # asked of the server, not configured
    assert body["prompt"] == prompt(tokenizer)
    assert body["temperature"] == 0.0 and body["n"] == 1  # greedy
    assert body["max_tokens"] == 7 and body["min_tokens"] == 1
    assert body["repetition_penalty"] == 1.3
    assert body["stop_token_ids"] == stop_token_ids(tokenizer)
    assert tokenizer.eos_token_id in body["stop_token_ids"]
    assert "[INST]" in body["stop"]
    assert body["add_special_tokens"] is False  # the prompt carries its BOS already
    suppressed = {int(i) for i in body["logit_bias"]}
    assert tokenizer.bos_token_id in suppressed and tokenizer.pad_token_id in suppressed
    assert set(body["stop_token_ids"]).isdisjoint(suppressed)
    assert body["truncate_prompt_tokens"] == 512 - 7
    assert all(h["authorization"] == "Bearer s3cret" for *_, h in fake.requests)
    # The reply is cut at a format marker, as local serving cuts it.
    assert generation.text == "Your order ships today."
    assert (generation.prompt_tokens, generation.completion_tokens) == (21, 9)
    assert generation.stopped and generation.adapter is None


async def test_a_reply_cut_by_the_token_limit_is_not_stopped(
    base_files: Any, fake: FakeVllm
) -> None:
    fake.finish, fake.text = "length", " and then and then"
    async with backend(base_files, fake) as vllm:
        generation = await vllm.generate(prompt(base_files[0]))
    assert generation.text == "and then and then" and not generation.stopped


@pytest.mark.parametrize(
    ("mode", "error"),
    [
        ("refused", GenerationError),
        ("down", GenerationError),
        ("garbage", GenerationError),
        ("bad-request", GenerationError),
        ("slow", GenerationTimeout),
    ],
)
async def test_failures_become_generation_errors(
    base_files: Any, fake: FakeVllm, mode: str, error: type[Exception]
) -> None:
    fake.mode = mode
    async with backend(base_files, fake) as vllm:
        with pytest.raises(error) as raised:
            await vllm.generate(prompt(base_files[0]), timeout_s=0.3)
    if error is GenerationError:
        assert not isinstance(raised.value, GenerationTimeout)


async def test_many_chats_wait_at_once(base_files: Any, fake: FakeVllm) -> None:
    """Requests are not queued behind each other: 64 slow answers take one answer's time."""
    delay = 0.3

    async def slow(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/completions"):
            await asyncio.sleep(delay)
        return await fake(request)

    tokenizer, base_config = base_files
    vllm = VllmBackend(tokenizer, base_config=base_config, transport=httpx.MockTransport(slow))
    async with vllm:
        started = asyncio.get_running_loop().time()
        replies = await asyncio.gather(*(vllm.generate(prompt(tokenizer)) for _ in range(64)))
        elapsed = asyncio.get_running_loop().time() - started
    assert len(replies) == 64 and elapsed < delay * 4


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_server_down_gives_the_flagged_fallback(
    base_files: Any, sqlite_database: Database
) -> None:
    tokenizer, base_config = base_files
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    vllm = VllmBackend(tokenizer, VllmConfig(url=url), base_config=base_config)
    with sqlite_database.write() as session:
        customer = upsert_customer(session, telegram_user_id=7)
        chat_id = upsert_chat(session, telegram_chat_id=7, customer_id=customer.id).id
        customer_id = customer.id
    memory = CorrectionMemory(sqlite_database)
    async with Pipeline(sqlite_database, vllm, memory, PipelineConfig()) as pipeline:
        reply = await pipeline.answer(
            chat_id=chat_id, customer_id=customer_id, text="Where is my parcel now?"
        )
    assert reply.source == "fallback" and reply.flagged and reply.text
    with sqlite_database.read() as session:
        stored = session.get(BotReply, reply.reply_id)
        assert stored is not None and stored.flagged and stored.source == "fallback"


# --- adapters -----------------------------------------------------------------------------------


async def test_promotions_load_the_adapter_name_it_and_unload_the_retired_one(
    base_files: Any, fake: FakeVllm, sqlite_database: Database, adapter_dirs: list[Path]
) -> None:
    first = register(sqlite_database, adapter_dirs[0], "v1")
    second = register(sqlite_database, adapter_dirs[1], "v2")
    promote(sqlite_database, first)
    async with backend(base_files, fake, database=sqlite_database) as vllm:
        assert vllm.adapter is not None and vllm.adapter.id == first  # loaded at start
        one = lora_name(vllm.adapter)
        assert fake.calls("/load_lora_adapter") == [
            {"lora_name": one, "lora_path": str(adapter_dirs[0])}
        ]
        generation = await vllm.generate(prompt(base_files[0]))
        assert fake.calls("/completions")[-1]["model"] == one
        assert generation.adapter is not None and generation.adapter.version == "v1"

        promote(sqlite_database, second)  # as another process would
        assert await vllm.check_adapters()
        two = lora_name(vllm.adapter)
        assert fake.loaded == {two}  # the retired adapter was unloaded
        generation = await vllm.generate(prompt(base_files[0]))
        assert fake.calls("/completions")[-1]["model"] == two
        assert generation.adapter is not None and generation.adapter.version == "v2"
        assert not await vllm.check_adapters()  # nothing changed: nothing asked
        assert len(fake.calls("/load_lora_adapter")) == 2


async def test_an_adapter_the_server_refuses_keeps_the_current_one_serving(
    base_files: Any,
    fake: FakeVllm,
    sqlite_database: Database,
    adapter_dirs: list[Path],
    caplog: pytest.LogCaptureFixture,
) -> None:
    first = register(sqlite_database, adapter_dirs[0], "v1")
    refused = register(sqlite_database, adapter_dirs[1], "v2")
    promote(sqlite_database, first)
    async with backend(base_files, fake, database=sqlite_database) as vllm:
        fake.load_status = 500
        promote(sqlite_database, refused)
        with caplog.at_level(logging.ERROR):
            assert not await vllm.check_adapters()
        assert vllm.adapter is not None and vllm.adapter.id == first
        assert "v2" in caplog.text and "rank 32" in caplog.text
        assert "rank 32" in vllm.status()["refused"]["v2"]
        generation = await vllm.generate(prompt(base_files[0]))
        assert generation.adapter is not None and generation.adapter.version == "v1"
        # Reported once: not asked again until the registry changes.
        asked = len(fake.calls("/load_lora_adapter"))
        assert not await vllm.check_adapters()
        assert len(fake.calls("/load_lora_adapter")) == asked


async def test_an_adapter_of_another_base_is_refused_before_the_server_is_asked(
    base_files: Any, fake: FakeVllm, sqlite_database: Database, adapter_dirs: list[Path]
) -> None:
    tokenizer, base_config = base_files
    wider = {**base_config, "hidden_size": base_config["hidden_size"] * 2, "head_dim": None}
    vllm = VllmBackend(
        tokenizer,
        VllmConfig(url="http://vllm.test/v1"),
        database=sqlite_database,
        adapters=AdapterConfig(poll_s=60),
        base_config=wider,
        transport=httpx.MockTransport(fake),
    )
    promote(sqlite_database, register(sqlite_database, adapter_dirs[0], "v1"))
    async with vllm:
        assert vllm.adapter is None
        assert "another base model" in vllm.status()["refused"]["v1"]
    assert fake.calls("/load_lora_adapter") == []


async def test_an_unreachable_server_is_not_a_refusal(
    base_files: Any, fake: FakeVllm, sqlite_database: Database, adapter_dirs: list[Path]
) -> None:
    promote(sqlite_database, register(sqlite_database, adapter_dirs[0], "v1"))
    fake.mode = "refused"
    async with backend(base_files, fake, database=sqlite_database) as vllm:
        assert vllm.adapter is None and vllm.status()["refused"] == {}
        fake.mode = "ok"  # the server came up
        assert await vllm.check_adapters()
        assert vllm.adapter is not None and vllm.adapter.version == "v1"


async def test_an_adapter_loaded_by_another_process_is_shared(
    base_files: Any, fake: FakeVllm, sqlite_database: Database, adapter_dirs: list[Path]
) -> None:
    adapter = register(sqlite_database, adapter_dirs[0], "v1")
    promote(sqlite_database, adapter)
    async with (
        backend(base_files, fake, database=sqlite_database) as one,
        backend(base_files, fake, database=sqlite_database) as two,
    ):
        assert one.adapter == two.adapter and len(fake.loaded) == 1


async def test_a_lost_adapter_is_loaded_again_and_the_request_retried(
    base_files: Any, fake: FakeVllm, sqlite_database: Database, adapter_dirs: list[Path]
) -> None:
    promote(sqlite_database, register(sqlite_database, adapter_dirs[0], "v1"))
    async with backend(base_files, fake, database=sqlite_database) as vllm:
        fake.loaded.clear()  # the server restarted, or another process unloaded it
        replies = await asyncio.gather(*(vllm.generate(prompt(base_files[0])) for _ in range(8)))
    assert all(r.adapter is not None and r.adapter.version == "v1" for r in replies)
    assert len(fake.calls("/load_lora_adapter")) == 2  # once at start, once to recover
