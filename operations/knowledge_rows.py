"""Checking a knowledge file's records: every value of every row, every problem by line.

A row becomes a :class:`storage.knowledge.KnowledgeRow` only when all of it is right: a
question and an answer (not blank, not too long), a known register or none (then it is
detected from the question), a topic short enough. A question twice in one file is a problem
too: which of the two answers the company means is for a person to decide.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from model.text.langid import detect
from model.text.languages import REGISTERS
from model.text.normalize import is_blank, normalize, strip_controls
from operations.errors import Refused
from operations.knowledge_files import FileProblem, Problem, Raw, read_records
from storage.knowledge import MAX_ANSWER_CHARS, MAX_QUESTION_CHARS, MAX_TOPIC_CHARS, KnowledgeRow

__all__ = ["REGISTER_ALIASES", "Checked", "check_file", "register_name", "topic_slug"]

REGISTER_ALIASES = {
    "bangla": "bn",
    "bengali": "bn",
    "বাংলা": "bn",
    "english": "en",
    "romanized": "banglish",
    "code-mixed": "mixed",
}
_TOPIC_SPACES = re.compile(r"[\s\-]+")


@dataclass(frozen=True)
class Checked:
    """A file's rows that passed every check (with their lines), and every problem found."""

    format: str
    rows: list[tuple[int, KnowledgeRow]]
    problems: list[Problem]


def check_file(path: Path, given_format: str | None = None) -> Checked:
    """Read ``path`` and check every row; raises Refused when the file cannot be read at all."""
    try:
        kind, records, problems = read_records(path, given_format)
    except FileProblem as exc:
        raise Refused(str(exc)) from exc
    rows: list[tuple[int, KnowledgeRow]] = []
    first_line: dict[str, int] = {}
    for record in records:
        row = _check_record(record, problems)
        if row is None:
            continue
        key = normalize(row.question)
        if key in first_line:
            problems.append(
                Problem(record.line, f"the same question as line {first_line[key]} (keep one)")
            )
            continue
        first_line[key] = record.line
        rows.append((record.line, row))
    return Checked(kind, rows, sorted(problems, key=lambda p: p.line))


def _field(record: Raw, name: str, problems: list[Problem]) -> str | None:
    value = record.fields.get(name)
    if value is None:
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        problems.append(Problem(record.line, f"{name} must be text, not {type(value).__name__}"))
        return None
    return strip_controls(value)


def _check_record(record: Raw, problems: list[Problem]) -> KnowledgeRow | None:
    line, before = record.line, len(problems)
    question, answer = _field(record, "question", problems), _field(record, "answer", problems)
    register, topic = _field(record, "register", problems), _field(record, "topic", problems)
    if question is not None:
        question = " ".join(question.split())
        if is_blank(question):
            problems.append(Problem(line, "empty question"))
        elif len(question) > MAX_QUESTION_CHARS:
            problems.append(
                Problem(
                    line, f"question of {len(question)} characters (at most {MAX_QUESTION_CHARS})"
                )
            )
    if answer is not None:
        answer = answer.strip()
        if is_blank(answer):
            problems.append(Problem(line, "empty answer"))
        elif len(answer) > MAX_ANSWER_CHARS:
            problems.append(
                Problem(
                    line,
                    f"answer of {len(answer)} characters (at most "
                    f"{MAX_ANSWER_CHARS}: four Telegram messages)",
                )
            )
    language = _register(register, line, problems)
    topic = _topic(topic, line, problems)
    if len(problems) > before or question is None or answer is None:
        return None
    return KnowledgeRow(question, answer, language or detect(question).label, topic)


def register_name(value: str) -> str | None:
    """The register ``value`` names (``Bangla`` is ``bn``), or ``None`` when it names none."""
    folded = value.strip().casefold()
    folded = REGISTER_ALIASES.get(folded, folded)
    return folded if folded in REGISTERS else None


def topic_slug(value: str) -> str:
    """Topics are slugs: "Delivery charge" and "delivery_charge" are one topic."""
    return _TOPIC_SPACES.sub("_", value.strip().casefold())


def _register(value: str | None, line: int, problems: list[Problem]) -> str | None:
    if not value or not value.strip():
        return None  # detected from the question
    name = register_name(value)
    if name is None:
        problems.append(
            Problem(
                line,
                f"unknown register {value.strip()!r}; use {', '.join(REGISTERS)}, "
                "or leave it empty to detect it",
            )
        )
    return name


def _topic(value: str | None, line: int, problems: list[Problem]) -> str | None:
    if not value or not value.strip():
        return None
    slug = topic_slug(value)
    if len(slug) > MAX_TOPIC_CHARS:
        problems.append(Problem(line, f"topic longer than {MAX_TOPIC_CHARS} characters"))
        return None
    return slug
