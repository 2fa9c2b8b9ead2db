"""The promotion gate on constructed scores: better promotes, worse or broken is rejected."""

from __future__ import annotations

import pytest

from training.config import GateConfig
from training.gate import CanaryAnswer, LanguageScores, decide, script_check

GOOD_CANARIES = [
    CanaryAnswer("bn", "অর্ডার কবে আসবে?", "ঢাকার ভিতরে ১-২ দিনে পৌঁছাবে।"),
    CanaryAnswer("en", "When will it arrive?", "Inside Dhaka in 1-2 days."),
    CanaryAnswer("banglish", "kobe ashbe?", "Dhakar moddhe 1-2 diner moddhe pouchabe."),
    CanaryAnswer("mixed", "order কবে আসবে?", "আপনার order ১-২ দিনে deliver হবে।"),
]


def scores(rouge_l: float, per_language: dict[str, float], counts: dict[str, int]):
    def full(value: float) -> dict[str, float]:
        return {"rouge1": value + 0.05, "rouge2": value / 2, "rougeL": value, "rougeLsum": value}

    return LanguageScores(
        overall=full(rouge_l),
        by_language={lang: full(v) for lang, v in per_language.items()},
        counts=counts,
    )


COUNTS = {"bn": 60, "en": 60, "banglish": 60, "mixed": 60}
INCUMBENT = scores(0.20, {"bn": 0.20, "en": 0.20, "banglish": 0.20, "mixed": 0.20}, COUNTS)


def test_a_better_candidate_is_promoted() -> None:
    better = scores(0.25, {"bn": 0.25, "en": 0.24, "banglish": 0.26, "mixed": 0.25}, COUNTS)
    decision = decide(better, INCUMBENT, loaded=True, canaries=GOOD_CANARIES)
    assert decision.promote, decision.reason
    assert [c.name for c in decision.checks] == ["improvement", "regression", "smoke"]
    assert "+0.0500" in decision.reason


def test_a_worse_candidate_is_rejected_with_the_reason() -> None:
    worse = scores(0.18, {"bn": 0.18, "en": 0.18, "banglish": 0.18, "mixed": 0.18}, COUNTS)
    decision = decide(worse, INCUMBENT, loaded=True, canaries=GOOD_CANARIES)
    assert not decision.promote
    assert "does not beat" in decision.reason and "-0.0200" in decision.reason


def test_a_gain_below_min_delta_is_not_enough() -> None:
    tiny_gain = scores(0.204, {"bn": 0.204, "en": 0.204, "banglish": 0.204, "mixed": 0.204}, COUNTS)
    assert not decide(tiny_gain, INCUMBENT, loaded=True, canaries=GOOD_CANARIES).promote
    lenient = GateConfig(min_delta=0.001)
    assert decide(tiny_gain, INCUMBENT, loaded=True, canaries=GOOD_CANARIES, config=lenient).promote


def test_a_language_regression_vetoes_a_better_average() -> None:
    uneven = scores(0.26, {"bn": 0.17, "en": 0.30, "banglish": 0.29, "mixed": 0.28}, COUNTS)
    decision = decide(uneven, INCUMBENT, loaded=True, canaries=GOOD_CANARIES)
    assert not decision.promote
    assert "bn -0.0300 over 60 items" in decision.reason


def test_small_languages_do_not_veto() -> None:
    counts = {**COUNTS, "bn": 19}
    incumbent = scores(0.20, {"bn": 0.20, "en": 0.20, "banglish": 0.20, "mixed": 0.20}, counts)
    uneven = scores(0.26, {"bn": 0.10, "en": 0.30, "banglish": 0.29, "mixed": 0.28}, counts)
    decision = decide(uneven, incumbent, loaded=True, canaries=GOOD_CANARIES)
    assert decision.promote, decision.reason
    assert "bn" not in decision.checks[1].reason


def test_the_primary_metric_is_configurable() -> None:
    better_l = scores(0.25, {"bn": 0.25, "en": 0.25, "banglish": 0.25, "mixed": 0.25}, COUNTS)
    on_r2 = GateConfig(metric="rouge2")
    decision = decide(better_l, INCUMBENT, loaded=True, canaries=GOOD_CANARIES, config=on_r2)
    assert decision.promote and "rouge2 0.1250 vs 0.1000" in decision.checks[0].reason


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
    better = scores(0.25, {"bn": 0.25, "en": 0.25, "banglish": 0.25, "mixed": 0.25}, COUNTS)
    canaries = [c for c in GOOD_CANARIES if c.register != register]
    canaries.append(CanaryAnswer(register, "?", answer))
    decision = decide(better, INCUMBENT, loaded=True, canaries=canaries)
    assert not decision.promote
    assert decision.checks[2].name == "smoke" and not decision.checks[2].passed


def test_an_adapter_that_does_not_load_is_rejected() -> None:
    decision = decide(
        None, INCUMBENT, loaded=False, canaries=[], load_error="OSError: truncated file"
    )
    assert not decision.promote
    assert decision.reason == "adapter did not load: OSError: truncated file"


def test_script_check() -> None:
    assert script_check("mixed", "আপনার order টা ২ দিনে deliver হবে।")[0]
    assert script_check("banglish", "Apnar order 2 diner moddhe ashbe.")[0]
    assert not script_check("bn", "   ")[0]
