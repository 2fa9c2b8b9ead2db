"""Configuration of the retrain loop as small frozen dataclasses, one line of doc per field.

``wiring/configs.py`` builds these from the ``UTTOR_`` settings; nothing under ``training/``
reads the environment itself, so tests construct exactly the configuration they mean.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from model.config import DecodingConfig, MemoryConfig, PipelineConfig, PromptConfig

#: The ROUGE variant the gate decides on unless configured otherwise.
PRIMARY_METRIC = "rougeL"

#: LoRA target modules by default: every linear layer of attention and MLP (see docs/retraining.md).
DEFAULT_TARGETS: tuple[str, ...] = ("all-linear",)


@dataclass(frozen=True)
class ExportConfig:
    """How database pairs join the shipped data and split into train and test."""

    test_share: float = 0.1
    """Share of new database questions held out for the test set, chosen by a hash."""
    leak_similarity: float = 0.6
    """Character-trigram Jaccard at or above which a training question counts as a test one."""


@dataclass(frozen=True)
class TrainConfig:
    """QLoRA fine-tuning of one candidate adapter (seed paper: r=32, alpha=16, dropout=0.1)."""

    epochs: int = 8
    """Passes over the training pairs."""
    learning_rate: float = 5e-3
    """Peak AdamW learning rate (linear warm-up, then linear decay to zero). Tuned for the
    starter model (docs/retraining.md); for a 7B base use about 2e-4."""
    batch_size: int = 8
    """Pairs per optimizer step."""
    max_length: int = 512
    """Tokens per example (prompt + completion). A longer one is dropped and counted, never
    cut; served prompts with retrieved entries and earlier turns run to about 330 tokens."""
    seed: int = 0
    """Seed of the data order, LoRA initialization and dropout."""
    lora_r: int = 32
    """LoRA rank."""
    lora_alpha: int = 16
    """LoRA scaling numerator (the update is scaled by alpha / r)."""
    lora_dropout: float = 0.1
    """Dropout on the LoRA input."""
    target_modules: tuple[str, ...] = DEFAULT_TARGETS
    """Module names to adapt, or ``("all-linear",)`` for every linear layer but the output."""
    warmup_ratio: float = 0.06
    """Share of the steps spent warming the learning rate up."""
    weight_decay: float = 0.0
    """AdamW weight decay on the LoRA weights."""
    max_grad_norm: float = 1.0
    """Gradient-norm clip."""
    threads: int | None = None
    """CPU threads of training; ``None``: all cores but one in the training process (the bot
    keeps a core), torch's default when training runs in the caller's process."""


@dataclass(frozen=True)
class EvalConfig:
    """Greedy generation on the test set and ROUGE."""

    batch_size: int = 16
    """Questions generated together."""
    decoding: DecodingConfig = field(default_factory=DecodingConfig)
    """Decoding as serving does it (greedy; the same token limit and repetition penalty)."""
    bootstrap_samples: int = 1000
    """Paired bootstrap resamples for the intervals of the difference (and the gate's)."""
    seed: int = 0
    """Seed of the bootstrap."""
    sample_size: int = 8
    """Test questions shown side by side in the report."""


@dataclass(frozen=True)
class Canary:
    """A question the candidate must answer non-empty and in the script of its register."""

    register: str
    question: str


DEFAULT_CANARIES: tuple[Canary, ...] = (
    Canary("bn", "আমার অর্ডার কবে আসবে?"),
    Canary("bn", "টাকা ফেরত পেতে কত দিন লাগে?"),
    Canary("en", "When will my order arrive?"),
    Canary("en", "How can I pay for my order?"),
    Canary("banglish", "amar order kobe ashbe?"),
    Canary("banglish", "taka ferot pete koto din lage?"),
    Canary("mixed", "আমার order টা কবে deliver হবে?"),
    Canary("mixed", "refund পেতে কত দিন লাগবে?"),
)


FactRule = Literal["keep", "improve", "off"]


@dataclass(frozen=True)
class GateConfig:
    """When a candidate adapter may replace the one in service (docs/retraining.md)."""

    metric: str = PRIMARY_METRIC
    """ROUGE variant compared (rouge1, rouge2, rougeL, rougeLsum)."""
    confidence: float = 0.95
    """Confidence of the paired-bootstrap intervals every check decides on."""
    min_delta: float = 0.0
    """The lower end of the interval of the gain on ``metric`` must lie above this."""
    max_regression: float = 0.0
    """A language is vetoed when its whole interval lies below minus this."""
    min_language_items: int = 20
    """Test items a language needs before it can veto (fewer: too few to resample)."""
    facts: FactRule = "keep"
    """``keep``: refuse a candidate whose fact accuracy is lower (interval wholly below zero) or
    whose contradictions are more frequent; ``improve``: also require the lower end of the
    fact-accuracy gain above zero; ``off``: no fact check (and no fact evaluation)."""
    canaries: tuple[Canary, ...] = DEFAULT_CANARIES
    """Smoke-check questions, a few per register."""


@dataclass(frozen=True)
class FactsConfig:
    """The fact-check set and the answering pipeline it runs through (as serving builds it)."""

    file: Path | None = None
    """Fact-check set (``None``: the shipped ``training/data/facts.jsonl``)."""
    split: str | None = None
    """Only the questions of this split (``tune``, ``unseen`` or ``fresh``); ``None``: all."""
    memory: MemoryConfig = field(default_factory=MemoryConfig)
    """Correction memory and knowledge lookup, as serving configures it."""
    pipeline: PipelineConfig = field(default_factory=PipelineConfig)
    """Prompts, history and what replies store, as serving configures them."""


@dataclass(frozen=True)
class RetrainConfig:
    """Everything one retrain run needs."""

    home: Path
    """``UTTOR_HOME``: adapters under ``adapters/``, reports under ``reports/``."""
    base_model: str
    """Directory or hub id of the base model the adapters sit on."""
    quantization: str = "nf4"
    """``nf4`` or ``none``, as serving loads the base."""
    device: str | None = None
    """``cpu``, ``cuda``…; ``None`` picks CUDA when available (as serving does)."""
    prompt: PromptConfig = field(default_factory=PromptConfig)
    """Serving's prompt settings: training and evaluation must write the same prompts."""
    train_file: Path | None = None
    """Shipped training pairs (``None``: the packaged ``mydata.json``)."""
    test_file: Path | None = None
    """Shipped held-out pairs (``None``: the packaged ``mytest.json``)."""
    min_new_pairs: int = 20
    """Fewer new database pairs than this since the last trained run skips a nightly run."""
    timeout_s: float = 6 * 3600
    """Wall-clock limit of the training-and-evaluation process."""
    nice: int = 10
    """Niceness added to the training process so the bot's replies keep the CPU first."""
    operators_chat_id: int | None = None
    """Where the scheduled job pushes its report."""
    export: ExportConfig = field(default_factory=ExportConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    gate: GateConfig = field(default_factory=GateConfig)
    facts: FactsConfig = field(default_factory=FactsConfig)

    @property
    def adapters_dir(self) -> Path:
        return self.home / "adapters"

    @property
    def reports_dir(self) -> Path:
        return self.home / "reports"
