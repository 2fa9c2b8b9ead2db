"""What a run that trained a candidate adds to its report, its metrics column and its outcome.

Kept apart from ``training/pipeline.py`` (which decides and records) because it only
reshapes the training process's :class:`~training.results.JobResult` for people to read.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from model.text.redact import redact
from training.config import RetrainConfig
from training.evaluate import EvalResult, difference
from training.facts import summary
from training.gate import Decision
from training.report import summary_text
from training.results import FactRun, JobResult

__all__ = ["RetrainOutcome", "fill_report", "outcome", "run_metrics", "samples"]

#: Fact-check questions shown in the report whose verdict the candidate changed.
FACT_SAMPLE = 12


@dataclass
class RetrainOutcome:
    """What a retrain run did; ``as_json`` is the ``uttor retrain --json`` object."""

    run_id: int | None
    status: str
    decision: str | None
    reason: str
    metrics: dict[str, dict[str, float] | None] = field(
        default_factory=lambda: {"active": None, "candidate": None}
    )
    report: str | None = None
    candidate: str | None = None
    summary: str = ""
    photo: Path | None = None
    facts: dict[str, Any] | None = None
    """Fact accuracy and contradiction rate of incumbent and candidate, when measured."""

    def as_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "status": self.status,
            "decision": self.decision,
            "reason": self.reason,
            "metrics": self.metrics,
            "facts": self.facts,
            "report": self.report,
            "candidate": self.candidate,
        }


def outcome(
    run_id: int,
    report: dict[str, Any],
    status: str,
    decision: str,
    reason: str,
    metrics: dict[str, Any],
    written: dict[str, Path],
    *,
    candidate: str | None = None,
    facts: dict[str, Any] | None = None,
) -> RetrainOutcome:
    """The outcome of a finished run, with the caption-sized summary of its report."""
    return RetrainOutcome(
        run_id=run_id,
        status=status,
        decision=decision,
        reason=reason,
        metrics={"active": metrics.get("active"), "candidate": metrics.get("candidate")},
        report=str(written["html"]) if written.get("html") else None,
        candidate=candidate,
        summary=summary_text(report),
        photo=written.get("rouge"),
        facts=facts,
    )


def run_metrics(
    evals: dict[str, EvalResult],
    incumbent: EvalResult,
    candidate: EvalResult | None,
    result: JobResult,
    config: RetrainConfig,
) -> dict[str, Any]:
    """The run's metrics column: corpus scores, the candidate − incumbent intervals, facts."""
    metrics: dict[str, Any] = {
        "base": evals["base"].overall,
        "active": incumbent.overall,
        "candidate": candidate.overall if candidate else None,
        "active_is_base": "active" not in evals,
    }
    if candidate is not None:
        confidence = config.gate.confidence
        metrics["difference"] = difference(incumbent, candidate, config.eval, confidence=confidence)
    if result.facts:
        metrics["facts"] = {
            role: {k: v for k, v in summary(run).items() if k not in ("name", "seconds")}
            for role, run in result.facts.items()
        }
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
    sample_size: int = 8,
) -> None:
    """Add models, metrics, gate, languages, facts, training and samples to ``report``."""
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
    if result.incumbent_error:
        report["incumbent_note"] = (
            f"the active adapter could not be loaded ({result.incumbent_error}); the candidate "
            "was compared with the base model, which is what serving falls back to"
        )
    report["difference"] = metrics.get("difference", {})
    report["gate"] = decision.as_dict()
    report["languages"] = {
        "counts": evals["base"].counts,
        **{role: e.by_language for role, e in evals.items()},
    }
    report["facts"] = fact_report(result)
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


def fact_report(result: JobResult) -> dict[str, Any] | None:
    """Fact accuracy per role and register, and the questions whose verdict changed."""
    if not result.facts and not result.facts_error:
        return None
    runs = result.facts
    return {
        "roles": {role: summary(run) for role, run in runs.items()},
        "error": result.facts_error,
        "changed": changed(runs["incumbent"], runs["candidate"])
        if "incumbent" in runs and "candidate" in runs
        else [],
    }


def changed(incumbent: FactRun, candidate: FactRun, wanted: int = FACT_SAMPLE) -> list[dict]:
    """Questions the candidate got wrong that the incumbent got right (first), then the
    reverse; answers redacted (a remembered answer may carry a customer's details)."""
    before = {a.id: a for a in incumbent.answers}
    lost = [(before[a.id], a) for a in candidate.answers if before[a.id].right and not a.right]
    won = [(before[a.id], a) for a in candidate.answers if a.right and not before[a.id].right]
    return [
        {
            "question": new.question,
            "register": new.register,
            "fact": new.fact,
            "incumbent": redact(old.answer).text,
            "candidate": redact(new.answer).text,
            "candidate_right": new.right,
            "sources": f"{old.source} / {new.source}",
        }
        for old, new in (lost + won)[:wanted]
    ]


def samples(
    incumbent: EvalResult, candidate: EvalResult | None, wanted: int
) -> list[dict[str, str]]:
    """A spread of test questions (every language) with both answers side by side.

    The models' answers are redacted: a model can repeat personal data it saw in training,
    and the report goes to operators' chats (questions and references come redacted already).
    """
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
            "incumbent": redact(incumbent.predictions[i]).text,
            "candidate": redact(candidate.predictions[i]).text,
        }
        for i in sorted(picked)
    ]
