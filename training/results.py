"""Typed results that cross a boundary: the training process's answer, an adapter's metrics.

The training process writes :class:`JobResult` as JSON and the retrain pipeline reads it
back with :meth:`JobResult.from_json`; adapters keep :class:`AdapterMetrics` in the registry;
``uttor eval --facts`` and the training process both produce a :class:`FactRun`.
No reader guesses at keys: both sides use these classes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class AdapterSpec:
    """An adapter on disk, as the registry knows it (what the training process is told)."""

    id: int
    version: str
    path: str


@dataclass(frozen=True)
class AdapterMetrics:
    """What the registry remembers of how an adapter scored when it was trained."""

    rouge: dict[str, float] | None = None
    """ROUGE-1/2/L/Lsum F1 on the run's test set (``None``: never evaluated, e.g. by hand)."""
    run_id: int | None = None
    """The retrain run that trained it."""
    facts: dict[str, Any] | None = None
    """Fact accuracy and contradiction rate on the run's fact-check set (``None``: not run)."""

    @property
    def rouge_l(self) -> float | None:
        value = (self.rouge or {}).get("rougeL")
        return float(value) if isinstance(value, int | float) else None

    def as_json(self) -> dict[str, Any]:
        return {"rouge": self.rouge, "run_id": self.run_id, "facts": self.facts}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> AdapterMetrics:
        data = data or {}
        rouge, run_id, facts = data.get("rouge"), data.get("run_id"), data.get("facts")
        return cls(
            rouge=dict(rouge) if isinstance(rouge, dict) else None,
            run_id=run_id if isinstance(run_id, int) else None,
            facts=dict(facts) if isinstance(facts, dict) else None,
        )


@dataclass(frozen=True)
class TrainSummary:
    """How the candidate's training went."""

    examples: int
    skipped: int
    epochs: int
    steps: int
    loss_steps: list[list[float]]
    loss_epochs: list[list[float]]
    final_loss: float | None
    seconds: float
    tokens: int
    tokens_per_s: float
    trainable_parameters: int
    total_parameters: int
    config: dict[str, Any]


@dataclass(frozen=True)
class CanaryResult:
    """A smoke-check question and what the candidate answered."""

    register: str
    question: str
    answer: str


@dataclass(frozen=True)
class SmokeResult:
    """Whether the saved candidate loads again, and its canary answers."""

    loaded: bool
    error: str | None
    canaries: list[CanaryResult] = field(default_factory=list)


@dataclass(frozen=True)
class FactAnswer:
    """One fact-check question, the answer the answering pipeline gave, and its verdict."""

    id: str
    register: str
    fact: str
    question: str
    answer: str
    source: str
    """The reply's source: ``knowledge``, ``memory``, ``model``, ``unsure``, ``fallback``…"""
    right: bool
    """Every ``must`` pattern matched: the answer states the fact."""
    contradicted: bool
    """A ``contradicts`` pattern matched: the answer states a wrong value for the fact."""


@dataclass(frozen=True)
class FactRun:
    """One model's answers to a fact-check set, through the answering pipeline."""

    name: str
    """Adapter version, or ``base``."""
    answers: list[FactAnswer]
    seconds: float = 0.0

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FactRun:
        return cls(
            name=data["name"],
            answers=[FactAnswer(**a) for a in data["answers"]],
            seconds=float(data.get("seconds", 0.0)),
        )


@dataclass(frozen=True)
class JobResult:
    """The training process's answer: the candidate, its training, and every evaluation."""

    version: str
    adapter_dir: str
    train: TrainSummary
    eval: dict[str, dict[str, Any]]
    """Role (``base``, ``active``, ``candidate``) -> :meth:`EvalResult.to_dict` output."""
    smoke: SmokeResult
    incumbent_error: str | None = None
    """Why the active adapter could not be evaluated (the candidate then faces the base)."""
    seconds: float | None = None
    facts: dict[str, FactRun] = field(default_factory=dict)
    """Role (``incumbent``, ``candidate``) -> answers to the fact-check set."""
    facts_error: str | None = None
    """Why the fact-check set could not be answered (the gate's facts check then fails)."""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> JobResult:
        smoke = data["smoke"]
        return cls(
            version=data["version"],
            adapter_dir=data["adapter_dir"],
            train=TrainSummary(**data["train"]),
            eval=data["eval"],
            smoke=SmokeResult(
                loaded=smoke["loaded"],
                error=smoke.get("error"),
                canaries=[CanaryResult(**c) for c in smoke.get("canaries", [])],
            ),
            incumbent_error=data.get("incumbent_error"),
            seconds=data.get("seconds"),
            facts={role: FactRun.from_json(run) for role, run in data.get("facts", {}).items()},
            facts_error=data.get("facts_error"),
        )
