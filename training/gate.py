"""The promotion gate: may a candidate adapter replace the one in service?

Every check compares the candidate with the incumbent (the active adapter, or the base model
when none is active or the active one does not load) on the same items, through a paired
bootstrap interval of the mean difference at ``GateConfig.confidence`` (95 % by default):

1. **improvement** — the lower end of the interval of the gain on the primary metric (ROUGE-L)
   lies above ``min_delta`` (zero by default): the candidate is better, not merely luckier;
2. **regression** — no language with at least ``min_language_items`` test items has its whole
   interval below ``-max_regression``: a language vetoes only when the resampling shows that it
   lost, so a small, noisy language does not veto by chance;
3. **facts** — on the fact-check set answered through the real answering pipeline: refused
   when the fact accuracy interval lies wholly below zero or the contradiction-rate interval
   wholly above zero (``keep``); with ``improve`` the lower end of the fact-accuracy gain must
   also lie above zero; ``off`` skips it;
4. **smoke** — the adapter loaded from disk and answered every canary question non-empty and in
   the script of the canary's register.

Each check keeps the interval it decided on, so the report shows what the decision used. The
gate is a pure function of per-item scores: tests and the seeded simulation in
``tests/training/test_gate_simulation.py`` construct them directly.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from training.config import GateConfig, RetrainConfig
from training.evaluate import EvalResult, paired_bootstrap
from training.results import FactRun, JobResult

__all__ = [
    "CanaryAnswer",
    "Check",
    "Decision",
    "FactPairs",
    "Paired",
    "current",
    "decide",
    "decide_job",
    "script_check",
]

# Registers whose replies are written in Bengali script ("mixed" keeps English terms in Latin
# letters but is Bangla in Bengali script, per model.text.policy), and their minimum share of
# Bengali letters; the others are answered in Latin letters.
_BENGALI_SHARE = {"bn": 0.5, "mixed": 0.15}
_LATIN_SHARE = {"en": 0.8, "banglish": 0.8}


@dataclass(frozen=True)
class Paired:
    """Two models' scores on the same items, aligned, with each item's group (its language)."""

    incumbent: Sequence[float]
    candidate: Sequence[float]
    groups: Sequence[str] = ()

    def subset(self, group: str) -> Paired:
        keep = [i for i, g in enumerate(self.groups) if g == group]
        incumbent = [self.incumbent[i] for i in keep]
        return Paired(incumbent, [self.candidate[i] for i in keep], [group] * len(keep))


@dataclass(frozen=True)
class FactPairs:
    """Per question of the fact-check set: stated the fact (1/0) and contradicted it (1/0)."""

    right: Paired
    contradicted: Paired

    @classmethod
    def of(cls, incumbent: FactRun, candidate: FactRun) -> FactPairs:
        """Two runs over the same questions, matched by question id."""
        before = {a.id: a for a in incumbent.answers}
        if set(before) != {a.id for a in candidate.answers}:
            raise ValueError("the two fact runs did not answer the same questions")
        pairs = [(before[a.id], a) for a in candidate.answers]
        groups = [a.register for _, a in pairs]
        return cls(
            right=Paired(
                [float(old.right) for old, _ in pairs], [float(a.right) for _, a in pairs], groups
            ),
            contradicted=Paired(
                [float(old.contradicted) for old, _ in pairs],
                [float(a.contradicted) for _, a in pairs],
                groups,
            ),
        )


@dataclass(frozen=True)
class CanaryAnswer:
    """What the candidate answered to one canary question."""

    register: str
    question: str
    answer: str


@dataclass(frozen=True)
class Check:
    """One gate check: its name, whether it passed, why, and the intervals it decided on."""

    name: str
    passed: bool
    reason: str
    intervals: dict[str, dict[str, float]] = field(default_factory=dict)
    """What was compared (``rougeL``, ``rougeL bn``, ``fact accuracy``…) -> its interval."""


@dataclass(frozen=True)
class Decision:
    """The gate's verdict and every check behind it."""

    promote: bool
    checks: list[Check] = field(default_factory=list)
    confidence: float = 0.95

    @property
    def reason(self) -> str:
        """Failed checks' reasons (or all of them when promoted), joined for one line."""
        chosen = [c for c in self.checks if not c.passed] or self.checks
        return "; ".join(c.reason for c in chosen)

    def as_dict(self) -> dict[str, Any]:
        return {
            "promote": self.promote,
            "confidence": self.confidence,
            "checks": [asdict(c) for c in self.checks],
        }


@dataclass(frozen=True)
class _Bootstrap:
    confidence: float
    samples: int
    seed: int

    def __call__(self, pair: Paired) -> dict[str, float]:
        interval = paired_bootstrap(
            pair.incumbent,
            pair.candidate,
            samples=self.samples,
            seed=self.seed,
            confidence=self.confidence,
        )
        return {**interval, "items": len(pair.candidate)}


def _span(interval: dict[str, float]) -> str:
    return (
        f"{interval['delta']:+.4f} ({interval['confidence']:.0%} CI "
        f"{interval['low']:+.4f} … {interval['high']:+.4f})"
    )


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


def _improvement(rouge: Paired, cfg: GateConfig, boot: _Bootstrap) -> Check:
    interval = boot(rouge)
    passed = interval["low"] > cfg.min_delta
    verdict = "is above" if passed else "is not above"
    return Check(
        "improvement",
        passed,
        f"{cfg.metric} gain {_span(interval)}: lower bound {verdict} {cfg.min_delta:+.4f}",
        {cfg.metric: interval},
    )


def _regressions(rouge: Paired, cfg: GateConfig, boot: _Bootstrap) -> Check:
    intervals: dict[str, dict[str, float]] = {}
    dropped: list[str] = []
    for language in sorted(set(rouge.groups)):
        pair = rouge.subset(language)
        if len(pair.candidate) < cfg.min_language_items:
            continue
        interval = intervals[f"{cfg.metric} {language}"] = boot(pair)
        if interval["high"] < -cfg.max_regression:
            dropped.append(f"{language} {_span(interval)} over {len(pair.candidate)} items")
    limit = f"{-cfg.max_regression or 0.0:+.4f}"  # "or": no "-0.0000" for a zero tolerance
    if dropped:
        reason = f"{cfg.metric} falls (whole interval below {limit}) for " + ", ".join(dropped)
        return Check("regression", False, reason, intervals)
    if not intervals:
        reason = f"no language has {cfg.min_language_items} test items; none judged"
        return Check("regression", True, reason)
    judged = ", ".join(name.split()[-1] for name in intervals)
    return Check(
        "regression", True, f"no language's interval lies below {limit} ({judged})", intervals
    )


def _facts(facts: FactPairs | None, error: str | None, cfg: GateConfig, boot: _Bootstrap) -> Check:
    if facts is None or not facts.right.candidate:
        return Check("facts", False, f"fact accuracy was not measured: {error or 'no answers'}")
    right, wrong = boot(facts.right), boot(facts.contradicted)
    intervals = {"fact accuracy": right, "contradiction rate": wrong}
    items = len(facts.right.candidate)
    before = sum(facts.right.incumbent) / items
    after = sum(facts.right.candidate) / items
    failures = []
    if cfg.facts == "improve" and not right["low"] > 0:
        failures.append(f"fact accuracy gain {_span(right)} has its lower bound not above zero")
    elif right["high"] < 0:
        failures.append(f"fact accuracy falls {_span(right)}")
    if wrong["low"] > 0:
        failures.append(f"contradictions rise {_span(wrong)}")
    if failures:
        return Check("facts", False, "; ".join(failures) + f" over {items} questions", intervals)
    return Check(
        "facts",
        True,
        f"fact accuracy {before:.1%} -> {after:.1%}, change {_span(right)}; contradiction "
        f"rate change {_span(wrong)} over {items} questions",
        intervals,
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


def decide_job(
    result: JobResult, incumbent: EvalResult, candidate: EvalResult | None, config: RetrainConfig
) -> Decision:
    """The gate on a training process's result: per-item ROUGE of the test set (against the
    active adapter, or the base model when none is active or it did not load) and
    per-question facts."""
    metric = config.gate.metric
    rouge = None
    if candidate is not None:
        scores = incumbent.item_scores(metric), candidate.item_scores(metric)
        rouge = Paired(*scores, candidate.languages)
    runs, smoke = result.facts, result.smoke
    both = "incumbent" in runs and "candidate" in runs
    return decide(
        rouge,
        loaded=smoke.loaded,
        canaries=[CanaryAnswer(c.register, c.question, c.answer) for c in smoke.canaries],
        config=config.gate,
        load_error=smoke.error,
        facts=FactPairs.of(runs["incumbent"], runs["candidate"]) if both else None,
        facts_error=result.facts_error or "the training process answered no fact questions",
        samples=config.eval.bootstrap_samples,
        seed=config.eval.seed,
    )


def current(
    *,
    lost: str | None,
    compared: str | None,
    active: str | None,
    rejected: Sequence[int],
    exported: int,
) -> Check:
    """Whether the comparison still holds at promotion time: the run still holds the retrain
    lock (``lost`` says why not), the active adapter is the one compared with (versions,
    ``None``: the base model), and no exported correction was rejected meanwhile."""
    problems = []
    if lost:
        problems.append(f"stopped before promotion: {lost}")
    was = compared or "none (the base model)"
    if active != compared:
        now = active or "none (the base model)"
        problems.append(f"the active adapter changed during the run (was {was}, now {now})")
    if rejected:
        problems.append(
            f"correction(s) {', '.join(map(str, rejected))} were rejected during the run and "
            "the candidate was trained or tested on them"
        )
    if problems:
        return Check("current", False, "; ".join(problems))
    return Check(
        "current",
        True,
        f"active adapter still {was}; none of the {exported} exported corrections rejected; "
        "retrain lock held",
    )


def decide(
    rouge: Paired | None,
    *,
    loaded: bool,
    canaries: Sequence[CanaryAnswer],
    config: GateConfig | None = None,
    load_error: str | None = None,
    facts: FactPairs | None = None,
    facts_error: str | None = None,
    samples: int = 1000,
    seed: int = 0,
) -> Decision:
    """Run every check; promote only when all pass.

    ``rouge`` holds each test item's score on the gate metric for incumbent and candidate
    (``None`` when the candidate could not be scored because it did not load; only the smoke
    check is reported then). ``facts`` is ignored when ``config.facts`` is ``off``; when it is
    missing otherwise, the facts check fails with ``facts_error``. ``samples`` and ``seed``
    fix the bootstrap, so the same scores always give the same decision.
    """
    config = config or GateConfig()
    boot = _Bootstrap(config.confidence, samples, seed)
    smoke = _smoke(loaded, canaries, load_error)
    if rouge is None:
        return Decision(promote=False, checks=[smoke], confidence=config.confidence)
    checks = [_improvement(rouge, config, boot), _regressions(rouge, config, boot)]
    if config.facts != "off":
        checks.append(_facts(facts, facts_error, config, boot))
    checks.append(smoke)
    return Decision(
        promote=all(c.passed for c in checks), checks=checks, confidence=config.confidence
    )
