"""ROUGE evaluation of a model (base or base + adapter) on a held-out set of pairs.

Answers are generated greedily in batches with the serving prompt; each answer is scored
against its reference with ROUGE-1/2/L/Lsum F1 and the Bangla-aware tokenizer
(:mod:`model.text.rouge`). Scores are reported overall (mean of per-pair F1, as the seed
paper's tooling does), per routed language of the question, and — between two models scored
on the same pairs — as a paired bootstrap 95 % confidence interval of the difference.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from model.text.langid import detect
from model.text.rouge import ROUGE_KEYS, score_pairs
from training.config import EvalConfig
from training.gate import LanguageScores

__all__ = [
    "EvalResult",
    "Generator",
    "evaluate",
    "language_of",
    "paired_bootstrap",
    "score",
]

#: ``generate(questions) -> (answers, new_tokens)``: one batch of greedy answers.
Generator = Callable[[Sequence[str]], tuple[list[str], int]]


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

    def scores(self) -> LanguageScores:
        """What the gate compares."""
        return LanguageScores(
            overall=self.overall, by_language=self.by_language, counts=self.counts
        )

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


def paired_bootstrap(
    baseline: Sequence[float], candidate: Sequence[float], *, samples: int = 1000, seed: int = 0
) -> dict[str, float]:
    """Mean difference ``candidate - baseline`` and its percentile bootstrap 95 % interval.

    Items are resampled with replacement, the same indices for both models (the pairing
    removes the variance of question difficulty from the interval).
    """
    if len(baseline) != len(candidate) or not baseline:
        raise ValueError("paired bootstrap needs two equally long, non-empty score lists")
    diffs = [c - b for b, c in zip(baseline, candidate, strict=True)]
    n = len(diffs)
    rng = random.Random(seed)
    means = sorted(sum(diffs[rng.randrange(n)] for _ in range(n)) / n for _ in range(samples))
    low = means[int(0.025 * (samples - 1))]
    high = means[int(round(0.975 * (samples - 1)))]
    return {"delta": sum(diffs) / n, "low": low, "high": high}


def difference(
    incumbent: EvalResult, candidate: EvalResult, config: EvalConfig | None = None
) -> dict[str, dict[str, float]]:
    """Paired bootstrap of every ROUGE key between two results on the same pairs."""
    config = config or EvalConfig()
    return {
        key: paired_bootstrap(
            [item[key] for item in incumbent.per_item],
            [item[key] for item in candidate.per_item],
            samples=config.bootstrap_samples,
            seed=config.seed,
        )
        for key in ROUGE_KEYS
    }
