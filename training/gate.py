"""The promotion gate: may a candidate adapter replace the one in service?

Three checks, each recorded with a one-line reason whether it passes or not:

1. **improvement** — the candidate's corpus score on the primary metric (ROUGE-L by default)
   beats the incumbent's (the active adapter, or the base model when none is active) by at
   least ``min_delta``;
2. **no regression** — no language with at least ``min_language_items`` test items drops by
   more than ``max_regression`` on that metric (a small language's score is too noisy to veto);
3. **smoke** — the adapter loaded from disk and answered every canary question non-empty and in
   the script of the canary's register.

The gate is a pure function of scores, so tests construct better and worse candidates directly.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from training.config import GateConfig

__all__ = ["CanaryAnswer", "Check", "Decision", "LanguageScores", "decide", "script_check"]

# Registers whose replies are written in Bengali script ("mixed" keeps English terms in Latin
# letters but is Bangla in Bengali script, per model.text.policy), and their minimum share of
# Bengali letters; the others are answered in Latin letters.
_BENGALI_SHARE = {"bn": 0.5, "mixed": 0.15}
_LATIN_SHARE = {"en": 0.8, "banglish": 0.8}


@dataclass(frozen=True)
class LanguageScores:
    """One model's corpus scores: overall and per routed language, with item counts."""

    overall: Mapping[str, float]
    by_language: Mapping[str, Mapping[str, float]]
    counts: Mapping[str, int]


@dataclass(frozen=True)
class CanaryAnswer:
    """What the candidate answered to one canary question."""

    register: str
    question: str
    answer: str


@dataclass(frozen=True)
class Check:
    """One gate check: its name, whether it passed, and why."""

    name: str
    passed: bool
    reason: str


@dataclass(frozen=True)
class Decision:
    """The gate's verdict and every check behind it."""

    promote: bool
    checks: list[Check] = field(default_factory=list)

    @property
    def reason(self) -> str:
        """Failed checks' reasons (or all of them when promoted), joined for one line."""
        chosen = [c for c in self.checks if not c.passed] or self.checks
        return "; ".join(c.reason for c in chosen)

    def as_dict(self) -> dict[str, Any]:
        return {"promote": self.promote, "checks": [asdict(c) for c in self.checks]}


def script_check(register: str, text: str) -> tuple[bool, str]:
    """Whether ``text`` is a non-empty reply in the script of ``register``, and why not."""
    letters = [c for c in text if unicodedata.category(c)[0] in "LM"]
    if not text.strip() or not letters:
        return False, "empty reply"
    bengali = sum(1 for c in letters if "\u0980" <= c <= "\u09ff")
    latin = sum(1 for c in letters if c.isascii())
    if register in _BENGALI_SHARE:
        share, need, script = bengali / len(letters), _BENGALI_SHARE[register], "Bengali"
    elif register in _LATIN_SHARE:
        share, need, script = latin / len(letters), _LATIN_SHARE[register], "Latin"
    else:
        return True, f"no script rule for register {register!r}"
    if share < need:
        return False, f"{share:.0%} {script} letters, {need:.0%} needed"
    return True, f"{share:.0%} {script} letters"


def _improvement(candidate: LanguageScores, incumbent: LanguageScores, cfg: GateConfig) -> Check:
    new, old = candidate.overall[cfg.metric], incumbent.overall[cfg.metric]
    delta = new - old
    passed = delta >= cfg.min_delta
    verb = "beats" if passed else "does not beat"
    return Check(
        "improvement",
        passed,
        f"{cfg.metric} {new:.4f} vs {old:.4f} (delta {delta:+.4f}) {verb} the required "
        f"+{cfg.min_delta:.4f}",
    )


def _regressions(candidate: LanguageScores, incumbent: LanguageScores, cfg: GateConfig) -> Check:
    judged: list[str] = []
    dropped: list[str] = []
    for language, count in sorted(candidate.counts.items()):
        if count < cfg.min_language_items or language not in incumbent.by_language:
            continue
        judged.append(language)
        delta = (
            candidate.by_language[language][cfg.metric]
            - incumbent.by_language[language][cfg.metric]
        )
        if delta < -cfg.max_regression:
            dropped.append(f"{language} {delta:+.4f} over {count} items")
    if dropped:
        reason = f"{cfg.metric} drops more than {cfg.max_regression:.3f} for " + ", ".join(dropped)
        return Check("regression", False, reason)
    if not judged:
        return Check(
            "regression",
            True,
            f"no language has {cfg.min_language_items} test items; none judged",
        )
    return Check(
        "regression",
        True,
        f"no language drops more than {cfg.max_regression:.3f} ({', '.join(judged)})",
    )


def _smoke(loaded: bool, canaries: Sequence[CanaryAnswer], load_error: str | None) -> Check:
    if not loaded:
        return Check("smoke", False, f"adapter did not load: {load_error or 'unknown error'}")
    if not canaries:
        return Check("smoke", False, "no canary questions were answered")
    failures = []
    for canary in canaries:
        ok, why = script_check(canary.register, canary.answer)
        if not ok:
            failures.append(f"{canary.register} {canary.question!r}: {why}")
    if failures:
        return Check("smoke", False, "canary failed: " + "; ".join(failures))
    registers = sorted({c.register for c in canaries})
    return Check(
        "smoke",
        True,
        f"adapter loads; {len(canaries)} canaries answered in script ({', '.join(registers)})",
    )


def decide(
    candidate: LanguageScores | None,
    incumbent: LanguageScores,
    *,
    loaded: bool,
    canaries: Sequence[CanaryAnswer],
    config: GateConfig | None = None,
    load_error: str | None = None,
) -> Decision:
    """Run every check; promote only when all pass.

    ``candidate`` is ``None`` when the adapter could not be scored (it did not load); only the
    smoke check is reported then.
    """
    config = config or GateConfig()
    smoke = _smoke(loaded, canaries, load_error)
    if candidate is None:
        return Decision(promote=False, checks=[smoke])
    checks = [
        _improvement(candidate, incumbent, config),
        _regressions(candidate, incumbent, config),
        smoke,
    ]
    return Decision(promote=all(c.passed for c in checks), checks=checks)
