"""Accuracy of the language detector on an evaluation set, with a confusion matrix.

Usage, from the repository root::

    python bench/lang_accuracy.py                 # the main set, tables as plain text
    python bench/lang_accuracy.py --set hard      # the hard set (also blind, hard-tuning,
                                                  # hard-held-out, or a path to a TSV file)
    python bench/lang_accuracy.py --markdown      # tables for docs/routing.md
    python bench/lang_accuracy.py --errors        # also list every misrouted message
    python bench/lang_accuracy.py --set hard --check   # exit 1 if a target below is missed

Rows of the confusion matrix are the gold labels of the set, columns what
:func:`model.text.langid.detect` answered. Targets: recall of at least 97 % for bn, en,
banglish and mixed, 90 % for other, and 97 % overall; they are printed for every set.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

from lang import (  # bench/lang.py, which also puts the repo on sys.path
    BLIND_SET,
    EVAL_SET,
    HARD_SET,
    HARD_TUNING_ROWS,
    load_eval_set,
)

from model.text.langid import LANGS, detect

TARGETS = {"bn": 0.97, "en": 0.97, "banglish": 0.97, "mixed": 0.97, "other": 0.90}
OVERALL_TARGET = 0.97

SETS = {
    "main": (EVAL_SET, slice(None)),
    "blind": (BLIND_SET, slice(None)),
    "hard": (HARD_SET, slice(None)),
    "hard-tuning": (HARD_SET, slice(None, HARD_TUNING_ROWS)),
    "hard-held-out": (HARD_SET, slice(HARD_TUNING_ROWS, None)),
}


def load_set(name: str) -> list[tuple[str, str]]:
    """(label, text) rows of a named set (:data:`SETS`) or of a label<TAB>text file."""
    if name in SETS:
        path, rows = SETS[name]
        return load_eval_set(path)[rows]
    return load_eval_set(Path(name))


def evaluate(
    path: Path = EVAL_SET, rows: list[tuple[str, str]] | None = None
) -> tuple[Counter[tuple[str, str]], list[tuple[str, str, str]]]:
    """Counts of (gold, predicted) and the list of (gold, predicted, text) misses."""
    confusion: Counter[tuple[str, str]] = Counter()
    misses = []
    for gold, text in load_eval_set(path) if rows is None else rows:
        predicted = detect(text).label
        confusion[gold, predicted] += 1
        if predicted != gold:
            misses.append((gold, predicted, text))
    return confusion, misses


def missed_targets(confusion: Counter[tuple[str, str]]) -> list[str]:
    """The targets this confusion matrix misses, as readable lines (empty when all hold)."""
    missed = []
    for label, target in TARGETS.items():
        support = sum(confusion[label, p] for p in LANGS)
        if support and confusion[label, label] / support < target:
            missed.append(f"{label}: recall {confusion[label, label] / support:.3f} < {target}")
    total = sum(confusion.values())
    correct = sum(confusion[label, label] for label in LANGS)
    if total and correct / total < OVERALL_TARGET:
        missed.append(f"overall: accuracy {correct / total:.3f} < {OVERALL_TARGET}")
    return missed


def per_class(confusion: Counter[tuple[str, str]]) -> list[tuple[str, int, float, float, float]]:
    """(label, support, precision, recall, F1) for every label."""
    rows = []
    for label in LANGS:
        true_pos = confusion[label, label]
        support = sum(confusion[label, p] for p in LANGS)
        predicted = sum(confusion[g, label] for g in LANGS)
        precision = true_pos / predicted if predicted else 0.0
        recall = true_pos / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        rows.append((label, support, precision, recall, f1))
    return rows


def _table(header: list[str], rows: list[list[str]], markdown: bool) -> str:
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join(lines)
    widths = [max(len(c) for c in column) for column in zip(header, *rows, strict=True)]
    fmt = "  ".join(f"{{:>{w}}}" for w in widths)
    return "\n".join(fmt.format(*row) for row in [header, *rows])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables")
    parser.add_argument("--errors", action="store_true", help="list misrouted messages")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument(
        "--set",
        default="main",
        help=f"one of {', '.join(SETS)} (default main: tests/data/lang_eval.tsv), or a "
        "label<TAB>text file",
    )
    args = parser.parse_args(argv)

    confusion, misses = evaluate(rows=load_set(args.set))
    total = sum(confusion.values())
    correct = sum(confusion[label, label] for label in LANGS)
    classes = per_class(confusion)
    rows = [[label, str(n), f"{p:.3f}", f"{r:.3f}", f"{f:.3f}"] for label, n, p, r, f in classes]
    macro_f1 = sum(f for *_, f in classes) / len(classes)
    rows.append(["overall", str(total), "", f"accuracy {correct / total:.3f}", f"{macro_f1:.3f}"])
    print(f"evaluation set: {args.set}")
    print(_table(["label", "n", "precision", "recall", "F1"], rows, args.markdown))
    print("(overall F1 is the macro average)\n")
    print("confusion matrix (rows: gold, columns: detected)")
    matrix = [[gold] + [str(confusion[gold, p]) for p in LANGS] for gold in LANGS]
    print(_table(["gold \\ detected", *LANGS], matrix, args.markdown))
    missed = missed_targets(confusion)
    print("\ntargets: " + ("all hold" if not missed else "MISSED " + "; ".join(missed)))
    if args.errors:
        print(f"\n{len(misses)} misrouted")
        for gold, predicted, text in misses:
            print(f"{gold:>8} -> {predicted:<8} {text!r}")
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    sys.exit(main())
