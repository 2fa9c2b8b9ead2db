"""The gate's error rates, by seeded simulation of nightly runs.

Each simulated run scores an incumbent and a candidate on a test set shaped like the shipped
``mytest.json`` (240 pairs, 60 per register) and a fact-check set shaped like ``facts.jsonl``
(200 questions), then asks :func:`training.gate.decide`. Per-item ROUGE-L is a latent item
difficulty plus each model's own noise, clipped to [0, 1], with the noise calibrated to the
reproduced seed-table run (docs/retraining.md): its ROUGE-L interval was +0.044 (+0.033 …
+0.056) on 240 pairs, a half-width of about 0.0115. Facts: most questions are answered from
the knowledge base (the same verdict for both models), the rest by the model, whose verdicts
vary between models of equal quality.

* a candidate **identical** to the active one (same answers) is never promoted;
* a candidate **as good as** the active one (other answers, same expected score) is promoted in
  at most 5 % of 200 runs — the old point rule (gain ≥ 0.005) promoted it far more often;
* a candidate **truly better by the seed paper's margin** (ROUGE-L +0.044 in expectation,
  facts unchanged) is promoted in at least 80 % of 200 runs.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from training.config import GateConfig
from training.gate import CanaryAnswer, FactPairs, Paired, decide

RUNS = 200
LANGUAGES = ("banglish", "bn", "en", "mixed")
PER_LANGUAGE = 60
FACT_QUESTIONS = 200
MODEL_ANSWERED = 40  # fact questions the knowledge base does not answer
SEED_MARGIN = 0.044  # ROUGE-L gain of the reproduced seed-table run
NOISE = 0.066  # per model and item; gives the seed run's interval half-width (checked below)
CANARIES = [
    CanaryAnswer("bn", "?", "আমাদের হটলাইন ১৬৭৮৯।"),
    CanaryAnswer("en", "?", "Our hotline is 16789."),
    CanaryAnswer("banglish", "?", "Amader hotline 16789."),
    CanaryAnswer("mixed", "?", "আমাদের hotline ১৬৭৮৯।"),
]


def _clip(value: float) -> float:
    return min(1.0, max(0.0, value))


def simulate(rng: random.Random, gain: float, *, same_answers: bool = False) -> tuple:
    """One night: (ROUGE-L pairs, fact pairs) of an incumbent and a candidate."""
    incumbent, candidate, groups = [], [], []
    for language in LANGUAGES:
        for _ in range(PER_LANGUAGE):
            difficulty = rng.betavariate(1.3, 8.0)  # mean ~0.14, like the starter's scores
            old = _clip(difficulty + rng.gauss(0, NOISE))
            new = old if same_answers else _clip(difficulty + gain + rng.gauss(0, NOISE))
            incumbent.append(old)
            candidate.append(new)
            groups.append(language)
    right_old, right_new, wrong_old, wrong_new, fact_groups = [], [], [], [], []
    for i in range(FACT_QUESTIONS):
        fact_groups.append(LANGUAGES[i % 4])
        if i < MODEL_ANSWERED:
            a, b = rng.random() < 0.2, rng.random() < 0.2
            c, d = (not a) and rng.random() < 0.1, (not b) and rng.random() < 0.1
            if same_answers:
                b, d = a, c
        else:
            a = b = True
            c = d = False
        right_old.append(float(a))
        right_new.append(float(b))
        wrong_old.append(float(c))
        wrong_new.append(float(d))
    facts = FactPairs(
        right=Paired(right_old, right_new, fact_groups),
        contradicted=Paired(wrong_old, wrong_new, fact_groups),
    )
    return Paired(incumbent, candidate, groups), facts


def promoted(gain: float, *, same_answers: bool = False, rule: Callable | None = None) -> int:
    """How many of RUNS simulated nights promote the candidate."""
    rng = random.Random(f"gate-simulation {gain} {same_answers}")
    count = 0
    for run in range(RUNS):
        rouge, facts = simulate(rng, gain, same_answers=same_answers)
        if rule is not None:
            count += rule(rouge)
            continue
        decision = decide(
            rouge, loaded=True, canaries=CANARIES, config=GateConfig(), facts=facts, seed=run
        )
        count += decision.promote
    return count


def old_point_rule(rouge: Paired) -> bool:
    """The gate before bootstrap intervals: point gain >= 0.005 and no language drop > 0.02."""

    def mean(values: list[float]) -> float:
        return sum(values) / len(values)

    gain = mean(list(rouge.candidate)) - mean(list(rouge.incumbent))
    drops = [
        mean(list(p.candidate)) - mean(list(p.incumbent)) < -0.02
        for p in (rouge.subset(language) for language in LANGUAGES)
    ]
    return gain >= 0.005 and not any(drops)


def test_the_simulation_has_the_noise_and_margin_of_the_seed_run() -> None:
    rng = random.Random(1)
    halves, gains = [], []
    for _ in range(40):
        rouge, _ = simulate(rng, SEED_MARGIN)
        decision = decide(rouge, loaded=True, canaries=CANARIES, facts=None)
        interval = decision.checks[0].intervals["rougeL"]
        halves.append((interval["high"] - interval["low"]) / 2)
        gains.append(interval["delta"])
    assert 0.0095 <= sum(halves) / len(halves) <= 0.0135  # the seed run: about 0.0115
    assert abs(sum(gains) / len(gains) - SEED_MARGIN) < 0.004  # clipping keeps the margin


@pytest.mark.slow
def test_an_identical_candidate_is_never_promoted() -> None:
    assert promoted(0.0, same_answers=True) == 0


@pytest.mark.slow
def test_an_equally_good_candidate_is_promoted_in_at_most_5_percent_of_runs() -> None:
    count = promoted(0.0)
    assert count <= RUNS * 0.05, f"{count} of {RUNS} promoted"
    # Not vacuous: the same nights through the old point rule promote far more often.
    assert promoted(0.0, rule=old_point_rule) >= RUNS * 0.10


@pytest.mark.slow
def test_a_candidate_better_by_the_seed_margin_is_promoted_in_at_least_80_percent() -> None:
    count = promoted(SEED_MARGIN)
    assert count >= RUNS * 0.80, f"only {count} of {RUNS} promoted"
