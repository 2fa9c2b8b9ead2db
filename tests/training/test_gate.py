"""The promotion gate on constructed per-item scores: bootstrap intervals decide every check."""

from __future__ import annotations

import random

import pytest

from training.config import GateConfig
from training.gate import CanaryAnswer, FactPairs, Paired, current, decide, script_check
from training.results import FactAnswer, FactRun

GOOD_CANARIES = [
    CanaryAnswer("bn", "অর্ডার কবে আসবে?", "ঢাকার ভিতরে ১-২ দিনে পৌঁছাবে।"),
    CanaryAnswer("en", "When will it arrive?", "Inside Dhaka in 1-2 days."),
    CanaryAnswer("banglish", "kobe ashbe?", "Dhakar moddhe 1-2 diner moddhe pouchabe."),
    CanaryAnswer("mixed", "order কবে আসবে?", "আপনার order ১-২ দিনে deliver হবে।"),
]
LANGUAGES = ("banglish", "bn", "en", "mixed")


def rouge(gains: dict[str, float], *, per_language: int = 60, noise: float = 0.09, seed: int = 0):
    """Incumbent scores and a candidate whose mean gain per language is about ``gains``."""
    rng = random.Random(seed)
    incumbent, candidate, groups = [], [], []
    for language in LANGUAGES:
        for _ in range(per_language):
            base = rng.uniform(0.0, 0.3)
            incumbent.append(base)
            candidate.append(base + gains.get(language, 0.0) + rng.gauss(0, noise))
            groups.append(language)
    return Paired(incumbent, candidate, groups)


def facts(before: list[bool], after: list[bool], contradicted: list[bool] | None = None):
    groups = [LANGUAGES[i % 4] for i in range(len(before))]
    after_wrong = contradicted or [False] * len(after)
    return FactPairs(
        right=Paired([float(x) for x in before], [float(x) for x in after], groups),
        contradicted=Paired([0.0] * len(before), [float(x) for x in after_wrong], groups),
    )


SAME_FACTS = facts([i % 5 != 0 for i in range(200)], [i % 5 != 0 for i in range(200)])


def gate(scores: Paired, config: GateConfig | None = None, fact_pairs=SAME_FACTS, **kwargs):
    return decide(
        scores, loaded=True, canaries=GOOD_CANARIES, config=config, facts=fact_pairs, **kwargs
    )


def test_a_clearly_better_candidate_is_promoted_with_the_interval_it_was_judged_on() -> None:
    decision = gate(rouge({lang: 0.05 for lang in LANGUAGES}))
    assert decision.promote, decision.reason
    assert [c.name for c in decision.checks] == ["improvement", "regression", "facts", "smoke"]
    interval = decision.checks[0].intervals["rougeL"]
    assert 0 < interval["low"] < interval["delta"] < interval["high"]
    assert interval["items"] == 240 and interval["confidence"] == 0.95
    assert (
        "rougeL gain +0.0" in decision.reason and "lower bound is above +0.0000" in decision.reason
    )
    assert set(decision.checks[1].intervals) == {f"rougeL {lang}" for lang in LANGUAGES}
    assert decision.as_dict()["confidence"] == 0.95


def test_a_worse_candidate_is_rejected_with_the_reason() -> None:
    decision = gate(rouge({lang: -0.03 for lang in LANGUAGES}))
    assert not decision.promote
    assert "lower bound is not above +0.0000" in decision.reason


def test_a_point_gain_inside_the_noise_is_not_enough() -> None:
    """+0.006 would have passed the old point rule (gain >= 0.005); its interval spans zero."""
    decision = gate(rouge({lang: 0.006 for lang in LANGUAGES}, seed=3))
    improvement = decision.checks[0]
    assert improvement.intervals["rougeL"]["low"] < 0 < improvement.intervals["rougeL"]["high"]
    assert not decision.promote


def test_min_delta_raises_the_bar_for_the_lower_bound() -> None:
    scores = rouge({lang: 0.05 for lang in LANGUAGES})
    low = gate(scores).checks[0].intervals["rougeL"]["low"]
    assert gate(scores, GateConfig(min_delta=low - 0.001)).promote
    assert not gate(scores, GateConfig(min_delta=low + 0.001)).promote


def test_the_confidence_is_configurable() -> None:
    borderline = rouge({lang: 0.008 for lang in LANGUAGES}, seed=10)
    strict, loose = GateConfig(confidence=0.99), GateConfig(confidence=0.6)
    intervals = [gate(borderline, c).checks[0].intervals["rougeL"] for c in (strict, loose)]
    assert intervals[0]["low"] < intervals[1]["low"]
    assert not gate(borderline, strict).promote and gate(borderline, loose).promote


def test_a_language_that_clearly_lost_vetoes_a_better_average() -> None:
    uneven = rouge({"bn": -0.08, "en": 0.10, "banglish": 0.10, "mixed": 0.10})
    decision = gate(uneven)
    assert decision.checks[0].passed and not decision.promote
    assert decision.checks[1].name == "regression" and not decision.checks[1].passed
    assert "falls (whole interval below +0.0000) for bn" in decision.reason


def test_a_noisy_small_drop_in_one_language_does_not_veto() -> None:
    """One-sided: a drop whose interval still reaches above zero is noise, not a regression."""
    uneven = rouge({"bn": -0.005, "en": 0.06, "banglish": 0.06, "mixed": 0.06}, seed=2)
    decision = gate(uneven)
    bn = decision.checks[1].intervals["rougeL bn"]
    assert bn["low"] < 0 < bn["high"]
    assert decision.promote, decision.reason


def test_max_regression_tolerates_a_bounded_loss() -> None:
    uneven = rouge({"bn": -0.08, "en": 0.10, "banglish": 0.10, "mixed": 0.10})
    high = gate(uneven).checks[1].intervals["rougeL bn"]["high"]
    assert gate(uneven, GateConfig(max_regression=-high + 0.001)).promote


def test_small_languages_do_not_veto() -> None:
    uneven = rouge({"bn": -0.3, "en": 0.10, "banglish": 0.10, "mixed": 0.10}, per_language=19)
    decision = gate(uneven, GateConfig(min_language_items=20))
    assert decision.checks[1].passed and "none judged" in decision.checks[1].reason


def test_the_primary_metric_is_configurable() -> None:
    decision = gate(rouge({lang: 0.05 for lang in LANGUAGES}), GateConfig(metric="rouge2"))
    assert decision.promote and "rouge2 gain" in decision.checks[0].reason
    assert "rouge2" in decision.checks[0].intervals


def test_the_decision_is_seeded() -> None:
    scores = rouge({lang: 0.012 for lang in LANGUAGES}, seed=5)
    assert gate(scores, seed=1) == gate(scores, seed=1)


# --- facts --------------------------------------------------------------------------------------


def test_facts_kept_pass_and_facts_lost_are_refused() -> None:
    better = rouge({lang: 0.05 for lang in LANGUAGES})
    assert gate(better).checks[2].passed
    before = [i % 5 != 0 for i in range(200)]
    lost = [ok and i % 4 != 1 for i, ok in enumerate(before)]  # 40 facts fewer, none gained
    decision = gate(better, fact_pairs=facts(before, lost))
    assert not decision.promote
    assert "fact accuracy falls" in decision.reason
    assert decision.checks[2].intervals["fact accuracy"]["high"] < 0


def test_one_fact_lost_and_one_gained_is_not_a_fall() -> None:
    before = [i % 5 != 0 for i in range(200)]
    after = list(before)
    after[1], after[0] = False, True
    decision = gate(rouge({lang: 0.05 for lang in LANGUAGES}), fact_pairs=facts(before, after))
    assert decision.promote, decision.reason
    assert "fact accuracy 80.0% -> 80.0%" in decision.checks[2].reason


def test_more_contradictions_are_refused() -> None:
    before = [i % 5 != 0 for i in range(200)]
    wrong = [i % 10 == 0 for i in range(200)]  # a wrong value stated for 20 questions
    decision = gate(
        rouge({lang: 0.05 for lang in LANGUAGES}), fact_pairs=facts(before, before, wrong)
    )
    assert not decision.promote and "contradictions rise" in decision.reason


def test_improve_needs_the_fact_accuracy_gain_above_zero() -> None:
    config = GateConfig(facts="improve")
    better = rouge({lang: 0.05 for lang in LANGUAGES})
    same = gate(better, config)
    assert not same.promote and "has its lower bound not above zero" in same.reason
    before = [i % 5 != 0 for i in range(200)]
    assert gate(better, config, fact_pairs=facts(before, [True] * 200)).promote


def test_facts_off_skips_the_check_and_missing_facts_fail_it() -> None:
    better = rouge({lang: 0.05 for lang in LANGUAGES})
    off = gate(better, GateConfig(facts="off"), fact_pairs=None)
    assert off.promote and "facts" not in [c.name for c in off.checks]
    missing = gate(better, fact_pairs=None, facts_error="RuntimeError: scratch copy gone")
    assert not missing.promote
    assert missing.reason == "fact accuracy was not measured: RuntimeError: scratch copy gone"


def test_fact_runs_pair_by_question_id() -> None:
    def run(name: str, verdicts: dict[str, bool]) -> FactRun:
        return FactRun(
            name,
            [
                FactAnswer(i, "bn", "hotline", "?", "", "model", ok, False)
                for i, ok in verdicts.items()
            ],
        )

    pairs = FactPairs.of(run("a", {"f1": True, "f2": False}), run("b", {"f2": True, "f1": True}))
    assert list(pairs.right.incumbent) == [0.0, 1.0] and list(pairs.right.candidate) == [1.0, 1.0]
    with pytest.raises(ValueError):
        FactPairs.of(run("a", {"f1": True}), run("b", {"f9": True}))


# --- the comparison still holds at promotion -----------------------------------------------------


def test_current_check_names_each_reason() -> None:
    fine = current(lost=None, compared="r1", active="r1", rejected=[], exported=4)
    assert fine.passed and "active adapter still r1; none of the 4" in fine.reason
    moved = current(lost=None, compared="r1", active="r2", rejected=[], exported=4)
    assert not moved.passed and "changed during the run (was r1, now r2)" in moved.reason
    from_base = current(lost=None, compared=None, active="r2", rejected=[], exported=4)
    assert "was none (the base model), now r2" in from_base.reason
    poisoned = current(lost=None, compared="r1", active="r1", rejected=[7, 9], exported=4)
    assert not poisoned.passed and "correction(s) 7, 9 were rejected" in poisoned.reason
    lost = current(
        lost="the lease was taken over", compared="r1", active="r1", rejected=[], exported=4
    )
    assert not lost.passed and lost.reason.startswith("stopped before promotion: the lease")


# --- smoke ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("register", "answer"),
    [
        ("bn", ""),
        ("bn", "Your order arrives in 2 days."),
        ("mixed", "order deliver hobe 2 dine"),
        ("en", "আপনার অর্ডার ২ দিনে আসবে।"),
        ("banglish", "অর্ডার ২ দিনে আসবে"),
        ("en", "!!! 16789"),
    ],
)
def test_smoke_fails_on_empty_or_wrong_script(register: str, answer: str) -> None:
    canaries = [c for c in GOOD_CANARIES if c.register != register]
    canaries.append(CanaryAnswer(register, "?", answer))
    decision = decide(
        rouge({lang: 0.05 for lang in LANGUAGES}), loaded=True, canaries=canaries, facts=SAME_FACTS
    )
    assert not decision.promote
    assert decision.checks[-1].name == "smoke" and not decision.checks[-1].passed


def test_an_adapter_that_does_not_load_is_rejected() -> None:
    decision = decide(None, loaded=False, canaries=[], load_error="OSError: truncated file")
    assert not decision.promote
    assert decision.reason == "adapter did not load: OSError: truncated file"


def test_script_check() -> None:
    assert script_check("mixed", "আপনার order টা ২ দিনে deliver হবে।")[0]
    assert script_check("banglish", "Apnar order 2 diner moddhe ashbe.")[0]
    assert not script_check("bn", "   ")[0]
