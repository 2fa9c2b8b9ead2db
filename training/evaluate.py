"""ROUGE evaluation of a model (base or base + adapter) on a held-out set of pairs.

Answers are generated greedily in batches with the serving prompt; each answer is scored
against its reference with ROUGE-1/2/L/Lsum F1 and the Bangla-aware tokenizer
(:mod:`model.text.rouge`). Scores are reported overall (mean of per-pair F1, as the seed
paper's tooling does), per routed language of the question, and — between two models scored
on the same pairs — as a paired bootstrap confidence interval of the difference (95 % unless
configured), which is also what the promotion gate decides on (:mod:`training.gate`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from model.config import PromptConfig
from model.text.langid import detect
from model.text.rouge import ROUGE_KEYS, score_pairs
from training.config import EvalConfig
from training.examples import Knowledge
from training.results import AdapterSpec

__all__ = [
    "AdapterUnavailable",
    "EvalResult",
    "Generator",
    "ModelUnderTest",
    "difference",
    "evaluate",
    "language_of",
    "paired_bootstrap",
    "score",
]

#: ``generate(questions) -> (answers, new_tokens)``: one batch of greedy answers.
Generator = Callable[[Sequence[str]], tuple[list[str], int]]


#: Seconds a question may wait for the evaluation's generation service.
EVAL_WAIT_S = 3600.0


class AdapterUnavailable(Exception):
    """The adapter to evaluate cannot be loaded onto this base; the message says why."""


class ModelUnderTest:
    """The base model behind the serving generation code, switched between adapters."""

    def __init__(
        self,
        base_model: str,
        quantization: str,
        eval_config: EvalConfig,
        *,
        device: str | None = None,
        prompt: PromptConfig | None = None,
        knowledge: Knowledge | None = None,
    ) -> None:
        from model.config import AdapterConfig, LoadConfig, ServiceConfig
        from model.loading import load_base
        from model.service import GenerationService
        from model.starter import is_starter_model

        self.loaded = load_base(
            LoadConfig(base_model, quantization=quantization, device=device)  # type: ignore[arg-type]
        )
        # Serving decides the same way (wiring/build.py): starter models get compact prompts.
        self.compact = is_starter_model(Path(base_model))
        self.prompt = prompt or PromptConfig()
        #: The entries each question's prompt carries, as serving shows them.
        self.knowledge = knowledge
        # Answers are measured, not timed: a busy, niced process must not turn slow answers
        # into fallbacks (the fact-check questions go through the service's queue).
        config = ServiceConfig(
            max_batch=eval_config.batch_size, decoding=eval_config.decoding, timeout_s=EVAL_WAIT_S
        )
        self.service = GenerationService(
            self.loaded, config, adapters=AdapterConfig(follow_registry=False)
        )
        self.base_model = base_model

    def use(self, adapter: AdapterSpec | None) -> None:
        """Switch to ``adapter`` (``None``: the base model); raises when it does not load."""
        from model.adapters import AdapterLoadError, AdapterRef, stage

        ref = (
            None
            if adapter is None
            else AdapterRef(adapter.id, adapter.version, adapter.path, self.base_model)
        )
        slot = self.service.slot
        try:
            # The base's fingerprint, as serving passes it: an adapter of another base fails.
            slot.offer(stage(ref, slot.fingerprint))
        except AdapterLoadError as exc:
            raise AdapterUnavailable(str(exc)) from exc
        slot.apply()
        if slot.current != ref:
            raise AdapterUnavailable(
                f"adapter {adapter.version if adapter else 'base'} did not load"
            )

    def generate(self, questions: Sequence[str]) -> tuple[list[str], int]:
        """Greedy answers to new-chat questions, as serving would give them."""
        from training.train import prompt_for

        tokenizer = self.loaded.tokenizer
        prompts = [
            prompt_for(
                q, tokenizer, compact=self.compact, config=self.prompt, knowledge=self.knowledge
            )
            for q in questions
        ]
        texts, _, counts, _ = self.service.generate_texts(prompts)
        return texts, sum(counts)


def language_of(question: str) -> str:
    """The routed language a test question is reported under."""
    return detect(question).label


@dataclass
class EvalResult:
    """One model's answers and scores on one test set."""

    name: str
    predictions: list[str]
    per_item: list[dict[str, float]]
    languages: list[str]
    seconds: float = 0.0
    new_tokens: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
    questions: list[str] = field(default_factory=list)
    """The test questions, aligned with ``predictions`` (reports show them side by side)."""
    references: list[str] = field(default_factory=list)
    """The reference answers, aligned with ``predictions``."""

    @property
    def overall(self) -> dict[str, float]:
        return _mean(self.per_item)

    @property
    def by_language(self) -> dict[str, dict[str, float]]:
        groups: dict[str, list[dict[str, float]]] = {}
        for language, item in zip(self.languages, self.per_item, strict=True):
            groups.setdefault(language, []).append(item)
        return {language: _mean(items) for language, items in sorted(groups.items())}

    @property
    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for language in self.languages:
            counts[language] = counts.get(language, 0) + 1
        return dict(sorted(counts.items()))

    @property
    def tokens_per_s(self) -> float:
        return self.new_tokens / self.seconds if self.seconds else 0.0

    def item_scores(self, metric: str) -> list[float]:
        """Each test item's score on ``metric``, in test-set order (what the gate resamples)."""
        return [item[metric] for item in self.per_item]

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "overall": self.overall,
            "by_language": self.by_language,
            "counts": self.counts,
            "predictions": self.predictions,
            "per_item": self.per_item,
            "languages": self.languages,
            "seconds": self.seconds,
            "new_tokens": self.new_tokens,
            "extra": self.extra,
            "questions": self.questions,
            "references": self.references,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EvalResult:
        return cls(
            name=data["name"],
            predictions=list(data["predictions"]),
            per_item=list(data["per_item"]),
            languages=list(data["languages"]),
            seconds=float(data.get("seconds", 0.0)),
            new_tokens=int(data.get("new_tokens", 0)),
            extra=dict(data.get("extra", {})),
            questions=list(data.get("questions", [])),
            references=list(data.get("references", [])),
        )


def _mean(items: Sequence[dict[str, float]]) -> dict[str, float]:
    if not items:
        return {key: 0.0 for key in ROUGE_KEYS}
    return {key: sum(item[key] for item in items) / len(items) for key in ROUGE_KEYS}


def score(
    name: str,
    predictions: Sequence[str],
    pairs: Sequence[dict[str, str]],
    *,
    seconds: float = 0.0,
    new_tokens: int = 0,
) -> EvalResult:
    """Score predictions aligned with ``pairs`` (``{"text", "completion"}``)."""
    references = [p["completion"] for p in pairs]
    return EvalResult(
        name=name,
        predictions=list(predictions),
        per_item=score_pairs(list(predictions), references),
        languages=[language_of(p["text"]) for p in pairs],
        seconds=seconds,
        new_tokens=new_tokens,
        questions=[p["text"] for p in pairs],
        references=references,
    )


def evaluate(
    name: str,
    generate: Generator,
    pairs: Sequence[dict[str, str]],
    config: EvalConfig | None = None,
    *,
    on_batch: Callable[[int, int], None] | None = None,
) -> EvalResult:
    """Generate an answer to every test question in batches and score them."""
    config = config or EvalConfig()
    if not pairs:
        raise ValueError("the test set is empty")
    questions = [p["text"] for p in pairs]
    predictions: list[str] = []
    new_tokens = 0
    started = time.perf_counter()
    for start in range(0, len(questions), config.batch_size):
        answers, tokens = generate(questions[start : start + config.batch_size])
        predictions.extend(answers)
        new_tokens += tokens
        if on_batch is not None:
            on_batch(len(predictions), len(questions))
    seconds = round(time.perf_counter() - started, 2)
    return score(name, predictions, pairs, seconds=seconds, new_tokens=new_tokens)


#: Resampled means computed at once; bounds the memory of one bootstrap on a large test set.
_BLOCK_CELLS = 2_000_000


def paired_bootstrap(
    baseline: Sequence[float],
    candidate: Sequence[float],
    *,
    samples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> dict[str, float]:
    """Mean difference ``candidate - baseline`` and its percentile bootstrap interval.

    Items are resampled with replacement, the same indices for both models (the pairing
    removes the variance of question difficulty from the interval). ``low`` and ``high`` are
    the ``(1 - confidence) / 2`` and ``(1 + confidence) / 2`` quantiles of the resampled means,
    so either end alone is a one-sided bound at ``(1 + confidence) / 2``.
    """
    import numpy as np

    if len(baseline) != len(candidate) or not baseline:
        raise ValueError("paired bootstrap needs two equally long, non-empty score lists")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie between 0 and 1, not {confidence}")
    diffs = np.asarray(candidate, dtype=np.float64) - np.asarray(baseline, dtype=np.float64)
    n = len(diffs)
    rng = np.random.default_rng(seed)
    rows = max(1, _BLOCK_CELLS // n)
    means = np.concatenate(
        [
            diffs[rng.integers(0, n, size=(min(rows, samples - start), n))].mean(axis=1)
            for start in range(0, samples, rows)
        ]
    )
    tail = (1 - confidence) / 2
    # "lower"/"higher": bounds are resampled means, never interpolated past them (an interval
    # of differences that are all zero is exactly [0, 0]).
    low = float(np.quantile(means, tail, method="lower"))
    high = float(np.quantile(means, 1 - tail, method="higher"))
    return {"delta": float(diffs.mean()), "low": low, "high": high, "confidence": confidence}


def difference(
    incumbent: EvalResult,
    candidate: EvalResult,
    config: EvalConfig | None = None,
    *,
    confidence: float = 0.95,
) -> dict[str, dict[str, float]]:
    """Paired bootstrap of every ROUGE key between two results on the same pairs."""
    config = config or EvalConfig()
    return {
        key: paired_bootstrap(
            incumbent.item_scores(key),
            candidate.item_scores(key),
            samples=config.bootstrap_samples,
            seed=config.seed,
            confidence=confidence,
        )
        for key in ROUGE_KEYS
    }
