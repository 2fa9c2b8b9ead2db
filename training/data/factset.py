"""The two evaluation sets next to the shipped pairs: fact checks and false-reuse probes.

``facts.jsonl`` holds questions about single facts of ``FACTS.md``, each with regexes a right
answer must match (``must``) and regexes that match a wrong value for that fact
(``contradicts``). Patterns are Python regexes, matched case-insensitively with ``re.search``
against :func:`answer_form` of the answer (the project's normalization: NFC, decomposed nukta,
Bengali digits as ASCII, case folded, spaces collapsed), so they are written with ASCII digits
and in NFC. ``reuse_probes.jsonl`` holds pairs of a stored question (with its stored answer) and
a new question that looks alike; ``differs_by`` says why the stored answer must not be reused,
or ``none`` for a harmless rephrasing that should reuse it. See README.md here.

Both loaders check every line and raise :class:`ValueError` naming the file and line number.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from model.text.normalize import normalize
from training.data import DATA_DIR

__all__ = [
    "DIFFERS_BY",
    "FACTS_FILE",
    "PROBES_FILE",
    "REGISTERS",
    "SPLITS",
    "FactQuestion",
    "ReuseProbe",
    "answer_form",
    "load_facts",
    "load_probes",
]

FACTS_FILE = DATA_DIR / "facts.jsonl"
PROBES_FILE = DATA_DIR / "reuse_probes.jsonl"
REGISTERS = ("bn", "en", "banglish", "mixed")
SPLITS = ("tune", "unseen", "fresh")
DIFFERS_BY = ("negation", "amount", "order_id", "phone", "place", "product", "none")

_FACT_KEYS = ("id", "fact", "topic", "register", "question", "must", "contradicts", "split")
_PROBE_KEYS = (
    "id",
    "register",
    "differs_by",
    "stored_question",
    "stored_answer",
    "probe_question",
)
_BENGALI_DIGIT = re.compile("[\u09e6-\u09ef]")
_NAME = re.compile(r"[a-z][a-z0-9_]*")


def answer_form(text: str) -> str:
    """The form of an answer the patterns are matched against."""
    return normalize(text)


@cache
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


@dataclass(frozen=True)
class FactQuestion:
    """A question about one fact of FACTS.md and the patterns that judge an answer to it."""

    id: str
    fact: str
    topic: str
    register: str
    question: str
    must: tuple[str, ...]
    contradicts: tuple[str, ...]
    split: str

    def missing(self, answer: str) -> list[str]:
        """The ``must`` patterns the answer does not match (empty: the answer states the fact)."""
        form = answer_form(answer)
        return [p for p in self.must if not _compiled(p).search(form)]

    def passes(self, answer: str) -> bool:
        """True when the answer matches every ``must`` pattern."""
        return not self.missing(answer)

    def contradictions(self, answer: str) -> list[str]:
        """The ``contradicts`` patterns the answer matches (a wrong value stated)."""
        form = answer_form(answer)
        return [p for p in self.contradicts if _compiled(p).search(form)]

    def contradicted(self, answer: str) -> bool:
        return bool(self.contradictions(answer))


@dataclass(frozen=True)
class ReuseProbe:
    """A stored question and answer, and a look-alike new question."""

    id: str
    register: str
    differs_by: str
    stored_question: str
    stored_answer: str
    probe_question: str

    @property
    def should_reuse(self) -> bool:
        """True for the positive controls: the stored answer is right for the probe too."""
        return self.differs_by == "none"


def _rows(path: Path, keys: tuple[str, ...]) -> list[tuple[int, dict[str, Any]]]:
    """The JSON objects of a JSONL file with their line numbers; blank lines are skipped."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError as exc:
        raise ValueError(f"{path}: no such file") from exc
    rows: list[tuple[int, dict[str, Any]]] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{path}, line {number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{where}: not valid JSON ({exc})") from exc
        if not isinstance(row, dict):
            raise ValueError(f"{where}: expected a JSON object")
        missing = [k for k in keys if k not in row]
        if missing:
            raise ValueError(f"{where}: missing keys {missing}")
        unknown = sorted(set(row) - set(keys))
        if unknown:
            raise ValueError(f"{where}: unknown keys {unknown}")
        for key in keys:
            value = row[key]
            if key in ("must", "contradicts"):
                continue
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"{where}: {key!r} must be a non-empty string")
        if row["register"] not in REGISTERS:
            raise ValueError(f"{where}: unknown register {row['register']!r}")
        if row["id"] in seen:
            raise ValueError(
                f"{where}: duplicate id {row['id']!r} (first on line {seen[row['id']]})"
            )
        seen[row["id"]] = number
        rows.append((number, row))
    return rows


def _patterns(where: str, key: str, value: Any, *, required: bool) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(p, str) and p for p in value):
        raise ValueError(f"{where}: {key!r} must be a list of non-empty strings")
    if required and not value:
        raise ValueError(f"{where}: {key!r} is empty")
    for pattern in value:
        try:
            _compiled(pattern)
        except re.error as exc:
            raise ValueError(f"{where}: bad regex in {key!r}: {pattern!r} ({exc})") from exc
        if unicodedata.normalize("NFC", pattern) != pattern:
            raise ValueError(f"{where}: regex in {key!r} is not NFC: {pattern!r}")
        if _BENGALI_DIGIT.search(pattern):
            raise ValueError(f"{where}: regex in {key!r} has Bengali digits: {pattern!r}")
    return tuple(value)


def load_facts(path: Path = FACTS_FILE) -> list[FactQuestion]:
    """Read ``facts.jsonl``; any bad line raises :class:`ValueError` with its line number."""
    questions = []
    for number, row in _rows(path, _FACT_KEYS):
        where = f"{path}, line {number}"
        if row["split"] not in SPLITS:
            raise ValueError(f"{where}: unknown split {row['split']!r}")
        for key in ("fact", "topic"):
            if not _NAME.fullmatch(row[key]):
                raise ValueError(f"{where}: {key!r} must be a snake_case name: {row[key]!r}")
        questions.append(
            FactQuestion(
                id=row["id"],
                fact=row["fact"],
                topic=row["topic"],
                register=row["register"],
                question=row["question"],
                must=_patterns(where, "must", row["must"], required=True),
                contradicts=_patterns(where, "contradicts", row["contradicts"], required=False),
                split=row["split"],
            )
        )
    return questions


def load_probes(path: Path = PROBES_FILE) -> list[ReuseProbe]:
    """Read ``reuse_probes.jsonl``; any bad line raises :class:`ValueError` with its number."""
    probes = []
    for number, row in _rows(path, _PROBE_KEYS):
        if row["differs_by"] not in DIFFERS_BY:
            raise ValueError(f"{path}, line {number}: unknown differs_by {row['differs_by']!r}")
        probes.append(ReuseProbe(**{key: row[key] for key in _PROBE_KEYS}))
    return probes
