"""The shipped data: the sample company's Q&A pairs and the starter corpus.

``mydata.json`` and ``mytest.json`` are lists of ``{"text", "completion"}`` (the seed format);
``build.py`` makes them from the annotated sources in ``src/``. See README.md here. An export
(:mod:`training.export`) adds what a database pair's customer was served: ``reply_language``,
``history`` (``[{"role", "text"}]``) and, when the model was prompted, ``prompt``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).resolve().parent
TRAIN_FILE = DATA_DIR / "mydata.json"
TEST_FILE = DATA_DIR / "mytest.json"
CORPUS_DIR = DATA_DIR / "corpus"
SOURCES_DIR = DATA_DIR / "src"


def load_pairs(path: Path) -> list[dict[str, Any]]:
    """Read a ``[{"text", "completion"}]`` file, refusing anything else with a clear message."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ValueError(f"{path}: no such file") from exc
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(data, list):
        raise ValueError(f"{path}: expected a JSON list of {{'text', 'completion'}} objects")
    for index, item in enumerate(data):
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("text"), str)
            or not isinstance(item.get("completion"), str)
        ):
            raise ValueError(f"{path}: item {index} is not a {{'text', 'completion'}} object")
        if not _served_ok(item):
            raise ValueError(f"{path}: item {index} has a malformed prompt, language or history")
    return data


def _served_ok(item: dict[str, Any]) -> bool:
    """The optional served-prompt keys, when present, have the types the export writes."""
    history = item.get("history", [])
    return (
        isinstance(item.get("prompt", ""), str)
        and isinstance(item.get("reply_language", ""), str)
        and isinstance(history, list)
        and all(
            isinstance(turn, dict)
            and turn.get("role") in ("user", "assistant")
            and isinstance(turn.get("text"), str)
            for turn in history
        )
    )
