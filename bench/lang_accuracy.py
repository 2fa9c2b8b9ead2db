"""Accuracy of the language detector on the evaluation set, with a confusion matrix.

Usage, from the repository root::

    python bench/lang_accuracy.py             # tables as plain text
    python bench/lang_accuracy.py --markdown  # tables for docs/routing.md
    python bench/lang_accuracy.py --errors    # also list every misrouted message

Rows of the confusion matrix are the gold labels of ``tests/data/lang_eval.tsv``, columns
what :func:`model.text.langid.detect` answered.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

from lang import EVAL_SET, load_eval_set  # bench/lang.py, which also puts the repo on sys.path

from model.text.langid import LANGS, detect


def evaluate(path: Path = EVAL_SET) -> tuple[Counter[tuple[str, str]], list[tuple[str, str, str]]]:
    """Counts of (gold, predicted) and the list of (gold, predicted, text) misses."""
    confusion: Counter[tuple[str, str]] = Counter()
    misses = []
    for gold, text in load_eval_set(path):
        predicted = detect(text).label
        confusion[gold, predicted] += 1
        if predicted != gold:
            misses.append((gold, predicted, text))
    return confusion, misses


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
    parser.add_argument(
        "--set",
        type=Path,
        default=EVAL_SET,
        help="a label<TAB>text file (default tests/data/lang_eval.tsv; the blind set is "
        "tests/data/lang_eval_blind.tsv)",
    )
    args = parser.parse_args(argv)

    confusion, misses = evaluate(args.set)
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
    if args.errors:
        print(f"\n{len(misses)} misrouted")
        for gold, predicted, text in misses:
            print(f"{gold:>8} -> {predicted:<8} {text!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
