"""What a run that trained a candidate adds to its report and its metrics column.

Kept apart from ``training/pipeline.py`` (which decides and records) because it only
reshapes the training process's :class:`~training.results.JobResult` for people to read.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from training.config import EvalConfig
from training.evaluate import EvalResult, difference
from training.gate import Decision
from training.results import JobResult

__all__ = ["fill_report", "run_metrics", "samples"]


def run_metrics(
    evals: dict[str, EvalResult],
    incumbent: EvalResult,
    candidate: EvalResult | None,
    config: EvalConfig,
) -> dict[str, Any]:
    """The run's metrics column: corpus scores and the candidate − incumbent intervals."""
    metrics: dict[str, Any] = {
        "base": evals["base"].overall,
        "active": incumbent.overall,
        "candidate": candidate.overall if candidate else None,
        "active_is_base": "active" not in evals,
    }
    if candidate is not None:
        metrics["difference"] = difference(incumbent, candidate, config)
    return metrics


def fill_report(
    report: dict[str, Any],
    result: JobResult,
    evals: dict[str, EvalResult],
    incumbent: EvalResult,
    candidate: EvalResult | None,
    decision: Decision,
    metrics: dict[str, Any],
    *,
    sample_size: int,
) -> None:
    """Add models, metrics, gate, languages, training and samples to ``report``."""
    has_active = "active" in evals
    report["models"] = {
        "base": "base model",
        "active": incumbent.name if has_active else None,
        "candidate": candidate.name if candidate else None,
    }
    report["metrics"] = {
        "base": evals["base"].overall,
        "active": incumbent.overall if has_active else None,
        "candidate": candidate.overall if candidate else None,
    }
    report["incumbent"] = incumbent.name
    report["incumbent_error"] = result.incumbent_error
    report["difference"] = metrics.get("difference", {})
    report["gate"] = decision.as_dict()
    report["languages"] = {
        "counts": evals["base"].counts,
        **{role: e.by_language for role, e in evals.items()},
    }
    report["training"] = asdict(result.train)
    report["evaluation"] = {
        role: {
            "seconds": e.seconds,
            "new_tokens": e.new_tokens,
            "tokens_per_s": round(e.tokens_per_s, 1),
        }
        for role, e in evals.items()
    }
    report["job_seconds"] = result.seconds
    report["canaries"] = [asdict(c) for c in result.smoke.canaries]
    report["samples"] = samples(incumbent, candidate, sample_size)


def samples(
    incumbent: EvalResult, candidate: EvalResult | None, wanted: int
) -> list[dict[str, str]]:
    """A spread of test questions (every language) with both answers side by side."""
    if candidate is None:
        return []
    by_language: dict[str, list[int]] = {}
    for index, language in enumerate(candidate.languages):
        by_language.setdefault(language, []).append(index)
    total = len(candidate.predictions)
    picked: list[int] = []
    # Round-robin over languages so every register shows up in a short sample.
    while len(picked) < min(wanted, total):
        for indices in by_language.values():
            if indices and len(picked) < wanted:
                picked.append(indices.pop(0))
    return [
        {
            "question": candidate.questions[i] if candidate.questions else "",
            "language": candidate.languages[i],
            "reference": candidate.references[i] if candidate.references else "",
            "incumbent": incumbent.predictions[i],
            "candidate": candidate.predictions[i],
        }
        for i in sorted(picked)
    ]
