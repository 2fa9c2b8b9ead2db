"""The generation service: micro-batching, left padding, token counts, timeouts and errors."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from model.loading import LoadConfig, LoadedModel, load_base
from model.prompting import PromptConfig, build_prompt
from model.service import (
    DecodingConfig,
    GenerationError,
    GenerationService,
    GenerationTimeout,
    ServiceConfig,
)

SHORT = DecodingConfig(max_new_tokens=6)
QUESTIONS = [
    "Where is my order?",
    "amar refund kobe pabo?",
    "আমার অর্ডার কবে আসবে?",
    "আমার order টা cancel করতে চাই",
    "Can I pay with bKash?",
    "hello",
]


@pytest.fixture(scope="module")
def loaded(tiny_model_dir: Path) -> LoadedModel:
    return load_base(LoadConfig(str(tiny_model_dir)))


def prompts(loaded: LoadedModel, count: int) -> list[str]:
    config = PromptConfig(system_style="compact")
    return [
        build_prompt(QUESTIONS[i % len(QUESTIONS)], language="en", tokenizer=loaded.tokenizer,
                     config=config)
        for i in range(count)
    ]  # fmt: skip


async def test_concurrent_requests_are_batched(loaded: LoadedModel) -> None:
    config = ServiceConfig(max_batch=4, max_wait_ms=200, decoding=SHORT)
    async with GenerationService(loaded, config) as service:
        results = await asyncio.gather(*(service.generate(p) for p in prompts(loaded, 6)))
        assert list(service.batch_sizes) == [4, 2]
    assert [r.batch_size for r in results] == [4, 4, 4, 4, 2, 2]
    assert all(r.completion_tokens >= 1 and r.adapter is None for r in results)


async def test_batched_replies_equal_one_at_a_time_replies(loaded: LoadedModel) -> None:
    """Left padding: a short prompt batched with long ones gets the same greedy reply."""
    texts = prompts(loaded, 4)
    one = ServiceConfig(max_batch=1, max_wait_ms=0, decoding=SHORT)
    async with GenerationService(loaded, one) as service:
        alone = [await service.generate(p) for p in texts]
    many = ServiceConfig(max_batch=4, max_wait_ms=200, decoding=SHORT)
    async with GenerationService(loaded, many) as service:
        batched = await asyncio.gather(*(service.generate(p) for p in texts))
        assert list(service.batch_sizes) == [4]
    assert [r.text for r in batched] == [r.text for r in alone]
    assert [r.prompt_tokens for r in batched] == [r.prompt_tokens for r in alone]
    lengths = [len(loaded.tokenizer(p, add_special_tokens=False)["input_ids"]) for p in texts]
    assert [r.prompt_tokens for r in alone] == lengths


async def test_a_request_past_its_time_limit_times_out(loaded: LoadedModel) -> None:
    async with GenerationService(loaded, ServiceConfig(decoding=SHORT)) as service:
        with pytest.raises(GenerationTimeout):
            await service.generate(prompts(loaded, 1)[0], timeout_s=0)
        # The service keeps working for the next request.
        assert (await service.generate(prompts(loaded, 1)[0])).completion_tokens >= 1


async def test_a_model_error_fails_the_whole_batch_but_not_the_service(
    loaded: LoadedModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = ServiceConfig(max_batch=4, max_wait_ms=100, decoding=SHORT)
    async with GenerationService(loaded, config) as service:

        def broken(*args: object, **kwargs: object) -> None:
            raise RuntimeError("CUDA out of memory")

        monkeypatch.setattr(service.slot.base, "generate", broken)
        outcomes = await asyncio.gather(
            *(service.generate(p) for p in prompts(loaded, 3)), return_exceptions=True
        )
        assert all(isinstance(o, GenerationError) for o in outcomes)
        assert "out of memory" in str(outcomes[0])
        monkeypatch.undo()
        assert (await service.generate(prompts(loaded, 1)[0])).completion_tokens >= 1


def test_replies_stop_at_the_end_of_turn(loaded: LoadedModel) -> None:
    service = GenerationService(loaded, ServiceConfig(decoding=DecodingConfig(max_new_tokens=40)))
    assert service.stop_ids == [
        loaded.tokenizer.eos_token_id,
        loaded.tokenizer.convert_tokens_to_ids("[INST]"),
    ]
    texts, _, counts, stopped = service.generate_texts(prompts(loaded, 3))
    for text, count, ended in zip(texts, counts, stopped, strict=True):
        assert "[INST]" not in text and "</s>" not in text
        assert ended or count == 40
