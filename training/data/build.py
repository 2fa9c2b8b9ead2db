"""Build ``mydata.json`` and ``mytest.json`` from the annotated sources in ``src/``.

Each source line is ``{"topic", "register", "split", "text", "completion"}``; the built files
keep only ``text`` and ``completion`` (the seed format), in a stable order, so rebuilding
without source changes gives byte-identical files. Run: ``python -m training.data.build``.
"""

from __future__ import annotations

import json
from pathlib import Path

from training.data import SOURCES_DIR, TEST_FILE, TRAIN_FILE


def read_sources(sources: Path = SOURCES_DIR) -> list[dict[str, str]]:
    """Every annotated pair, file by file, line by line."""
    rows: list[dict[str, str]] = []
    for path in sorted(sources.glob("*.jsonl")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            row = json.loads(line)
            missing = {"topic", "register", "split", "text", "completion"} - row.keys()
            if missing:
                raise ValueError(f"{path.name}:{number}: missing {sorted(missing)}")
            rows.append(row)
    return rows


def write_pairs(path: Path, rows: list[dict[str, str]]) -> None:
    pairs = [{"text": r["text"].strip(), "completion": r["completion"].strip()} for r in rows]
    path.write_text(json.dumps(pairs, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def build() -> tuple[int, int]:
    rows = read_sources()
    train = [r for r in rows if r["split"] == "train"]
    test = [r for r in rows if r["split"] == "test"]
    write_pairs(TRAIN_FILE, train)
    write_pairs(TEST_FILE, test)
    return len(train), len(test)


if __name__ == "__main__":
    n_train, n_test = build()
    print(f"mydata.json: {n_train} pairs; mytest.json: {n_test} pairs")
