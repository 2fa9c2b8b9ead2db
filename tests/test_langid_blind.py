"""The detector on a blind set: written by someone who had not seen the detector or its data.

``tests/data/lang_eval_blind.tsv`` (360 messages) measures how the rules generalize; the
main set (``lang_eval.tsv``) was written by the detector's author. The threshold here is the
overall accuracy target; per-class figures are in docs/routing.md (``bench/lang_accuracy.py
--set blind``).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from model.text.langid import LANGS, detect

BLIND_SET = Path(__file__).parent / "data" / "lang_eval_blind.tsv"


def test_blind_set_accuracy() -> None:
    lines = BLIND_SET.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "label\ttext"
    rows = [line.split("\t", 1) for line in lines[1:] if line]
    counts = Counter(label for label, _ in rows)
    assert set(counts) == set(LANGS) and len(rows) >= 360
    correct = sum(detect(text).label == label for label, text in rows)
    assert correct / len(rows) >= 0.97
