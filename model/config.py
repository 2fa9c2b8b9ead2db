"""Configuration of the model layer: small frozen dataclasses, one line of doc per field.

``wiring/configs.py`` builds these from the ``UTTOR_`` settings; nothing under ``model/`` reads the
environment, so tests construct exactly the configuration they mean. This module imports
nothing heavy, so the settings can take their defaults from here without loading torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Quantization = Literal["nf4", "none"]
SystemStyle = Literal["auto", "compact", "full"]
Unsure = Literal["handoff", "model"]
Related = Literal["auto", "model", "handoff"]


@dataclass(frozen=True)
class LoadConfig:
    """Where the base model comes from and how it is held in memory."""

    base_model: str
    """Local directory or Hugging Face hub id of a causal LM."""
    quantization: Quantization = "nf4"
    """``nf4``: 4-bit NormalFloat with double quantization; ``none``: unquantized weights."""
    device: str | None = None
    """``cpu`` or ``cuda`` (``cuda:1``…); ``None`` picks CUDA when it is available."""
    setting_name: str = "UTTOR_BASE_MODEL"
    """The setting to name in error messages, so operators know what to change."""


@dataclass(frozen=True)
class DecodingConfig:
    """How tokens are chosen."""

    max_new_tokens: int = 96
    """Most tokens in one reply."""
    min_new_tokens: int = 1
    """Fewest tokens before the end of turn may come (an empty reply helps nobody)."""
    repetition_penalty: float = 1.15
    """Above 1 discourages repeating earlier tokens (small models loop without it)."""
    do_sample: bool = False
    """Greedy decoding when off (the default: same question, same answer)."""
    temperature: float = 0.7
    """Sampling temperature (only with ``do_sample``)."""
    top_p: float = 0.9
    """Nucleus sampling mass (only with ``do_sample``)."""


@dataclass(frozen=True)
class ServiceConfig:
    """Batching and time limits of the generation service."""

    max_batch: int = 16
    """Most requests generated together in one batch."""
    max_wait_ms: float = 2.0
    """How long the first request of an idle service waits for others to join its batch."""
    timeout_s: float = 30.0
    """Per-request time limit, queueing included; past it the caller gets a fallback."""
    decoding: DecodingConfig = field(default_factory=DecodingConfig)
    """Decoding settings."""
    threads: int | None = None
    """torch CPU threads for the whole process (``None``: torch's default, one per core)."""


@dataclass(frozen=True)
class PromptConfig:
    """How prompts are written."""

    company: str = "Bazarghor"
    """Company name used in the system prompt."""
    system_style: SystemStyle = "auto"
    """``compact``, ``full``, or ``auto`` (compact for starter models, full otherwise)."""
    system_template: str | None = None
    """A custom system prompt; ``{company}`` and ``{instruction}`` are filled in."""
    history_tokens: int = 160
    """Token budget for earlier turns of the chat; 0 sends only the current question."""


@dataclass(frozen=True)
class MemoryConfig:
    """What the company knows, and when a stored answer is sent instead of the model's."""

    threshold: float = 0.76
    """Similarity (cosine of :mod:`model.retrieval` features, 0 to 1) at or above which a question
    reuses an agent's correction of a near-duplicate question (guards permitting)."""
    knowledge_threshold: float = 0.5
    """Topic vote (best entry's similarity + the topic centroid's, 0 to 2) at or above which the
    question counts as asking that knowledge-base topic and gets its entry's answer."""
    entry_threshold: float = 0.2
    """Least similarity of the knowledge entry whose answer is sent to the question asked."""
    related_threshold: float = 0.3
    """Least similarity of an entry put into the model's prompt; below it nothing is related
    and a question that is not small talk is handed to an agent (``unsure``)."""
    prompt_entries: int = 3
    """Most retrieved entries in the model's prompt."""
    min_chars: int = 6
    """Questions shorter than this (normalized) never reuse a correction: "ok" needs context."""
    use_knowledge: bool = True
    """Answer from the knowledge base too (off: corrections only)."""
    embedding_model: str | None = None
    """Local sentence-transformers folder whose similarity is blended into retrieval's."""


@dataclass(frozen=True)
class AdapterConfig:
    """How serving follows the adapter registry."""

    poll_s: float = 2.0
    """Seconds between two reads of the registry (a promotion is live within this + load)."""
    follow_registry: bool = True
    """Load the registry's active adapter; off serves the base model only."""


@dataclass(frozen=True)
class PipelineConfig:
    """How the pipeline builds prompts and what it stores."""

    prompt: PromptConfig = field(default_factory=PromptConfig)
    """Prompt format, system prompt style and history budget."""
    history_messages: int = 8
    """Most recent messages of the chat read as context (then cut to the token budget)."""
    store_prompts: bool = True
    """Keep each model prompt in its reply record (for agents and debugging)."""
    unsure: Unsure = "handoff"
    """A question nothing the company knows answers (and not small talk): ``handoff`` sends the
    honest note that an agent will answer and flags it; ``model`` lets the model answer."""
    related: Related = "auto"
    """A question with related entries but no confident stored answer: ``model`` answers with
    the entries in its prompt; ``handoff`` treats it as unsure; ``auto`` is ``model`` for chat
    models and ``handoff`` for starter models, which were not trained to read entries."""

    def reads_entries(self, compact: bool) -> bool:
        """Whether the model answers questions with related entries in its prompt (starter
        models, ``compact``, do under ``auto`` only when told to: with a few million
        parameters they do not learn to read them). Training builds its prompts with entries
        exactly when this holds, so the model learns the prompts it is served."""
        if self.related == "auto":
            return not compact or self.unsure == "model"
        return self.related == "model" or self.unsure == "model"
