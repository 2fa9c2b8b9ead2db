"""The report's side-by-side samples never show personal data a model repeated."""

from __future__ import annotations

from training.evaluate import score
from training.run_report import samples


def test_sample_answers_are_redacted() -> None:
    pairs = [{"text": "amar refund kobe pabo?", "completion": "3-5 working day."}]
    leaky = "Call me on 01711223344, refund in 3 days."
    incumbent = score("base", [leaky], pairs)
    candidate = score("r0001", ["Mail rahim@example.com for it."], pairs)
    (row,) = samples(incumbent, candidate, 4)
    assert "01711223344" not in row["incumbent"] and "<PHONE>" in row["incumbent"]
    assert "rahim@example.com" not in row["candidate"] and "<EMAIL>" in row["candidate"]
    assert row["question"] == "amar refund kobe pabo?" and row["reference"] == "3-5 working day."
