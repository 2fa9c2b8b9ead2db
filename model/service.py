"""Async, micro-batched generation: the one way the bot and ``uttor chat`` run the model.

Callers ``await service.generate(prompt)`` on the event loop. Requests queue up; a batcher
task takes up to ``max_batch`` of them (waiting at most ``max_wait_ms`` for company once the
first one arrives; while a batch runs, new requests accumulate on their own) and hands the
batch to a single worker thread, which pads on the left and runs one greedy ``generate`` for
all of them. One thread owns the model: batches never overlap, and adapter swaps happen
between batches (:mod:`model.adapters`).

Each request has a deadline. A request past it is answered with :class:`GenerationTimeout`
at once, and the worker stops spending tokens on its row (a per-row stopping criterion).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import torch

from model.adapters import AdapterRef, AdapterSlot, AdapterWatcher, load_active
from model.config import AdapterConfig, DecodingConfig, ServiceConfig
from model.fingerprint import fingerprint
from model.loading import LoadedModel
from model.prompting import FORMAT_TOKENS
from storage.db import Database

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Generation:
    """One generated reply and what it cost."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    adapter: AdapterRef | None
    latency_ms: float
    batch_size: int
    stopped: bool
    """True when the model ended its turn; False when it ran out of ``max_new_tokens``."""


class GenerationError(Exception):
    """Generation failed (the model raised); the caller answers with a fallback."""


class GenerationTimeout(GenerationError):
    """The request passed its time limit."""


@dataclass(eq=False)
class _Request:
    prompt: str
    deadline: float
    future: asyncio.Future[Generation]
    submitted: float
    abandoned: bool = False


class _DeadlineCriteria:
    """Stops each row at its request's deadline, or once its caller stopped waiting."""

    def __init__(self, requests: list[_Request]) -> None:
        self.requests = requests

    def __call__(self, input_ids: torch.Tensor, scores: Any, **kwargs: Any) -> torch.Tensor:
        now = time.monotonic()
        done = [r.abandoned or now >= r.deadline for r in self.requests]
        return torch.tensor(done, dtype=torch.bool, device=input_ids.device)


class GenerationService:
    """Micro-batched generation on one worker thread, with the registry's adapter."""

    def __init__(
        self,
        loaded: LoadedModel,
        config: ServiceConfig | None = None,
        *,
        database: Database | None = None,
        adapters: AdapterConfig | None = None,
    ) -> None:
        self.loaded = loaded
        self.tokenizer = loaded.tokenizer
        self.config = config or ServiceConfig()
        self.database = database
        self.adapter_config = adapters or AdapterConfig()
        self.slot = AdapterSlot(loaded.model, fingerprint(loaded.model.config, loaded.tokenizer))
        #: Sizes of the most recent batches, newest last (tests and the benchmark read it).
        self.batch_sizes: deque[int] = deque(maxlen=10_000)
        self.stop_ids = stop_token_ids(self.tokenizer)
        self.suppressed_ids = suppressed_token_ids(self.tokenizer, self.stop_ids)
        self.max_prompt_tokens = max_prompt_tokens(loaded.model, self.config.decoding)
        self._pending: deque[_Request] = deque()
        self._arrived = asyncio.Event()
        self._full = asyncio.Event()
        self._executor: ThreadPoolExecutor | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._watcher: AdapterWatcher | None = None

    # --- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        """Load the active adapter and start the batcher (and the registry watcher)."""
        if self._executor is not None:
            return
        if self.config.threads:
            # Process-wide: on a small shared CPU one thread avoids OpenMP spin-wait collapse.
            torch.set_num_threads(self.config.threads)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="uttor-generate")
        loop = asyncio.get_running_loop()
        follow = self.database is not None and self.adapter_config.follow_registry
        if follow:
            await loop.run_in_executor(self._executor, load_active, self.slot, self.database)
        self._tasks.append(asyncio.create_task(self._batch_loop(), name="uttor-batcher"))
        if follow:
            assert self.database is not None
            self._watcher = AdapterWatcher(
                self.slot, self.database, self.adapter_config, apply=self._apply_adapter
            )
            self._tasks.append(asyncio.create_task(self._watcher.run(), name="uttor-adapters"))

    async def close(self) -> None:
        """Stop the tasks; the batch in progress finishes first."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        for request in self._pending:
            if not request.future.done():
                request.future.set_exception(GenerationError("the generation service stopped"))
        self._pending.clear()
        if self._executor is not None:
            await asyncio.to_thread(self._executor.shutdown, wait=True)
            self._executor = None

    async def __aenter__(self) -> GenerationService:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def ready(self) -> GenerationService:
        """Loaded already (the pipeline awaits this before it writes a prompt)."""
        return self

    @property
    def adapter(self) -> AdapterRef | None:
        """The adapter serving now (``None``: the base model)."""
        return self.slot.current

    def refusals(self) -> dict[str, str]:
        """Adapters this process could not load (version -> why)."""
        return dict(self.slot.refusals)

    async def check_adapters(self) -> bool:
        """Poll the registry now instead of waiting for the watcher; True when it switched."""
        if self._watcher is None:
            return False
        return await self._watcher.check()

    # --- requests ---------------------------------------------------------------------------

    async def generate(self, prompt: str, *, timeout_s: float | None = None) -> Generation:
        """Generate the reply to a prompt (from :func:`model.prompting.build_prompt`).

        Raises :class:`GenerationTimeout` past the time limit and :class:`GenerationError`
        when the model fails.
        """
        if self._executor is None:
            await self.start()
        loop = asyncio.get_running_loop()
        limit = self.config.timeout_s if timeout_s is None else timeout_s
        now = time.monotonic()
        request = _Request(prompt, now + limit, loop.create_future(), now)
        self._pending.append(request)
        self._arrived.set()
        if len(self._pending) >= self.config.max_batch:
            self._full.set()
        try:
            return await asyncio.wait_for(request.future, limit)
        except TimeoutError:
            raise GenerationTimeout(f"no reply within {limit:g} s") from None
        finally:
            # Timed out or cancelled: the batcher skips it, the worker stops its row.
            request.abandoned = True

    async def _batch_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = await self._next_batch()
            if not batch:
                continue
            try:
                results = await loop.run_in_executor(self._executor, self._run_batch, batch)
            except Exception as exc:
                log.exception("generation failed for a batch of %d", len(batch))
                for request in batch:
                    if not request.future.done():
                        request.future.set_exception(GenerationError(f"generation failed: {exc}"))
                continue
            for request, result in zip(batch, results, strict=True):
                if not request.future.done():
                    request.future.set_result(result)

    async def _next_batch(self) -> list[_Request]:
        while not self._pending:
            self._arrived.clear()
            await self._arrived.wait()
        wait_s = self.config.max_wait_ms / 1000
        if len(self._pending) < self.config.max_batch and wait_s > 0:
            self._full.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._full.wait(), wait_s)
        batch: list[_Request] = []
        while self._pending and len(batch) < self.config.max_batch:
            request = self._pending.popleft()
            if not request.abandoned and not request.future.done():
                batch.append(request)
        return batch

    async def _apply_adapter(self) -> None:
        """Apply a staged adapter on the generation thread, between batches."""
        assert self._executor is not None
        await asyncio.get_running_loop().run_in_executor(self._executor, self.slot.apply)

    # --- the worker thread ------------------------------------------------------------------

    def _run_batch(self, batch: list[_Request]) -> list[Generation]:
        self.slot.apply()
        adapter = self.slot.current
        started = time.monotonic()
        texts, prompt_tokens, completion_tokens, stopped = self.generate_texts(
            [r.prompt for r in batch], criteria=_DeadlineCriteria(batch)
        )
        self.batch_sizes.append(len(batch))
        log.debug("batch of %d in %.0f ms", len(batch), (time.monotonic() - started) * 1000)
        finished = time.monotonic()
        return [
            Generation(
                text=texts[i],
                prompt_tokens=prompt_tokens[i],
                completion_tokens=completion_tokens[i],
                adapter=adapter,
                latency_ms=round((finished - r.submitted) * 1000, 1),
                batch_size=len(batch),
                stopped=stopped[i],
            )
            for i, r in enumerate(batch)
        ]

    def generation_config(self) -> Any:
        """The ``transformers.GenerationConfig`` every batch uses (benchmarks reuse it)."""
        from transformers import GenerationConfig

        decoding = self.config.decoding
        return GenerationConfig(
            max_new_tokens=decoding.max_new_tokens,
            min_new_tokens=decoding.min_new_tokens,
            suppress_tokens=self.suppressed_ids or None,
            do_sample=decoding.do_sample,
            temperature=decoding.temperature if decoding.do_sample else None,
            top_p=decoding.top_p if decoding.do_sample else None,
            repetition_penalty=decoding.repetition_penalty,
            eos_token_id=self.stop_ids,
            pad_token_id=self.tokenizer.pad_token_id,
            bos_token_id=self.tokenizer.bos_token_id,
        )

    @torch.inference_mode()
    def generate_texts(
        self, prompts: list[str], *, criteria: Any = None
    ) -> tuple[list[str], list[int], list[int], list[bool]]:
        """Generate for a batch of prompts now (worker thread or benchmarks only).

        Returns texts, prompt token counts, completion token counts and whether each row
        ended its turn.
        """
        from transformers import StoppingCriteriaList

        tokenizer = self.tokenizer
        encoded = tokenizer(
            prompts,
            add_special_tokens=False,
            padding=True,
            truncation=True,
            max_length=self.max_prompt_tokens,
            return_tensors="pt",
        ).to(self.loaded.device)
        generation_config = self.generation_config()
        output = self.slot.model.generate(
            **encoded,
            generation_config=generation_config,
            stopping_criteria=StoppingCriteriaList([criteria]) if criteria else None,
        )
        new_tokens = output[:, encoded["input_ids"].shape[1] :].tolist()
        prompt_tokens = encoded["attention_mask"].sum(dim=1).tolist()
        texts, counts, stopped = [], [], []
        for row in new_tokens:
            end = next((i for i, t in enumerate(row) if t in self.stop_ids), None)
            # Rows stopped early by a deadline are padded; padding is not reply text.
            kept = [t for t in row[:end] if t != tokenizer.pad_token_id]
            texts.append(clean_reply(tokenizer.decode(kept, skip_special_tokens=True)))
            counts.append(len(kept))
            stopped.append(end is not None)
        return texts, [int(n) for n in prompt_tokens], counts, stopped


def stop_token_ids(tokenizer: Any) -> list[int]:
    """End of sequence, plus the start of a new user turn where it is one token."""
    ids = [tokenizer.eos_token_id]
    vocab = tokenizer.get_vocab()
    for marker in FORMAT_TOKENS[:1]:  # "[INST]": the model began writing the customer's turn
        if marker in vocab and vocab[marker] not in ids:
            ids.append(vocab[marker])
    return [i for i in ids if i is not None]


def suppressed_token_ids(tokenizer: Any, stop_ids: list[int]) -> list[int]:
    """Special tokens that never belong inside a reply (BOS, padding, system markers…)."""
    return sorted(set(tokenizer.all_special_ids) - set(stop_ids))


def max_prompt_tokens(model: Any, decoding: DecodingConfig) -> int:
    """Longest prompt that leaves room for a full reply in the model's context."""
    context = getattr(model.config, "max_position_embeddings", None) or 4096
    return max(16, context - decoding.max_new_tokens)


def clean_reply(text: str) -> str:
    """Cut a reply at chat-format markers the model wrote as plain text; trim whitespace."""
    for marker in ("[INST]", "[/INST]", "<</SYS>>", "<<SYS>>"):
        text = text.split(marker, 1)[0]
    return text.strip()
