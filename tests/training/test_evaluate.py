"""Evaluation: batched answers scored with Bangla-aware ROUGE, per language, with a CI."""

from __future__ import annotations

import pytest

from training.config import EvalConfig
from training.evaluate import EvalResult, difference, evaluate, paired_bootstrap

PAIRS = [
    {"text": "ডেলিভারি চার্জ কত?", "completion": "ঢাকার ভিতরে ৬০ টাকা, বাইরে ১২০ টাকা।"},
    {"text": "ফেরত দেওয়া যাবে?", "completion": "৭ দিনের মধ্যে ফেরত দেওয়া যায়।"},
    {"text": "How long does delivery take?", "completion": "1-2 days inside Dhaka."},
    {"text": "refund kobe pabo?", "completion": "Wallet e 24 ghontar moddhe refund pabe."},
    {"text": "আমার order cancel করব কীভাবে?", "completion": "My Orders থেকে Cancel চাপুন।"},
]


def test_answers_are_generated_in_batches_and_scored_per_language() -> None:
    batches: list[int] = []
    references = {p["text"]: p["completion"] for p in PAIRS}

    def perfect(questions):
        batches.append(len(questions))
        return [references[q] for q in questions], 3 * len(questions)

    result = evaluate("oracle", perfect, PAIRS, EvalConfig(batch_size=2))
    assert batches == [2, 2, 1]
    assert result.overall == {"rouge1": 1.0, "rouge2": 1.0, "rougeL": 1.0, "rougeLsum": 1.0}
    assert result.counts == {"banglish": 1, "bn": 2, "en": 1, "mixed": 1}
    assert result.new_tokens == 15


def test_bangla_is_scored_not_dropped() -> None:
    """rouge-score's own tokenizer would give two different Bangla answers 1.0 (or 0.0)."""

    def wrong_bangla(questions):
        return ["সব পণ্যে ফ্রি ডেলিভারি।" for _ in questions], 1

    result = evaluate("wrong", wrong_bangla, PAIRS[:2])
    assert result.overall["rouge1"] < 0.3
    half_right = evaluate("half", lambda qs: (["ঢাকার ভিতরে ৬০ টাকা" for _ in qs], 1), PAIRS[:1])
    assert 0.5 < half_right.overall["rouge1"] < 1.0


def test_paired_bootstrap() -> None:
    same = paired_bootstrap([0.1, 0.5, 0.9, 0.3], [0.1, 0.5, 0.9, 0.3], samples=200)
    assert same == {"delta": 0.0, "low": 0.0, "high": 0.0}
    baseline = [i / 100 for i in range(100)]
    shifted = paired_bootstrap(baseline, [b + 0.05 for b in baseline], samples=200)
    assert shifted["delta"] == pytest.approx(0.05)
    assert shifted["low"] == pytest.approx(0.05) and shifted["high"] == pytest.approx(0.05)
    noisy = paired_bootstrap(
        baseline,
        [b + (0.2 if i % 2 else -0.1) for i, b in enumerate(baseline)],
        samples=500,
        seed=3,
    )
    assert noisy["low"] < noisy["delta"] < noisy["high"]
    assert noisy["low"] > 0  # +0.05 on average, clearly positive with 100 pairs
    with pytest.raises(ValueError):
        paired_bootstrap([0.1], [0.1, 0.2])


def test_difference_covers_every_metric_and_results_round_trip() -> None:
    base = evaluate("base", lambda qs: (["ok" for _ in qs], 1), PAIRS)
    good = evaluate("good", lambda qs: ([q for q in qs], 1), PAIRS)
    diff = difference(base, good, EvalConfig(bootstrap_samples=100))
    assert set(diff) == {"rouge1", "rouge2", "rougeL", "rougeLsum"}
    again = EvalResult.from_dict(good.as_dict())
    assert again.overall == good.overall and again.by_language == good.by_language
