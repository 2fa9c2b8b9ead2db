"""An instant responder for benchmarks of the bot and storage path: the model, replaced.

The pipeline stays the real one (routing, the inbound message stored, history read, correction
memory looked up, the reply and its record stored); only the generation service is swapped for
one that answers at once. It lives here, in the benchmarks, and nowhere in the product.
"""

from __future__ import annotations

from model.config import PipelineConfig
from model.memory import CorrectionMemory
from model.pipeline import Pipeline
from model.service import Generation
from storage.db import Database

#: What the instant responder answers: bilingual, short, plainly a benchmark reply.
INSTANT_ANSWER = "ধন্যবাদ, আপনার প্রশ্নটি পেয়েছি। Thanks, we got your question (benchmark reply)."


class InstantService:
    """A :class:`model.backend.GenerationBackend` with no model: the fixed answer at once."""

    #: ``build_prompt`` counts history tokens with the tokenizer; ``None`` makes it estimate.
    tokenizer = None
    adapter = None

    def __init__(self) -> None:
        self.calls = 0

    async def start(self) -> None:
        """Nothing to load."""

    async def close(self) -> None:
        """Nothing to release."""

    async def ready(self) -> InstantService:
        """Always ready."""
        return self

    async def generate(self, prompt: str, *, timeout_s: float | None = None) -> Generation:
        """The fixed answer, at once (no await: no event-loop hop either)."""
        self.calls += 1
        return Generation(
            text=INSTANT_ANSWER,
            prompt_tokens=0,
            completion_tokens=0,
            adapter=None,
            latency_ms=0.0,
            batch_size=1,
            stopped=True,
        )


def instant_pipeline(database: Database, config: PipelineConfig | None = None) -> Pipeline:
    """The real pipeline on ``database`` with the instant responder instead of the model."""
    return Pipeline(
        database,
        InstantService(),  # type: ignore[arg-type]  # duck-typed on purpose
        CorrectionMemory(database),
        config,
        compact_prompt=True,
    )
