"""Knowledge files: read CSV, JSON, JSONL and Markdown Q&A into records; write them back.

Reading never stops at the first problem: every record is read and every problem is reported
with the line it starts on, so one look at the list fixes the file. :mod:`operations.knowledge`
checks the records' values and imports them only when there is no problem at all.

The columns (CSV header, JSON keys) are ``question`` and ``answer`` (``text`` and
``completion`` too, as the shipped ``mydata.json`` spells them), optional ``register`` (also
``language``) and ``topic``. Markdown: ``# Topic`` headings group entries (optional), each
entry starts with ``## question`` or ``Q: question``, an optional ``Register: en`` line may
follow it, and the answer is everything up to the next heading or question (an ``A:`` prefix
is dropped). docs/knowledge.md shows each format.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from model.text.languages import REGISTERS
from storage.knowledge import KnowledgeEntry

#: Bigger files are refused before they are read: split them.
MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_ROWS = 50_000
#: At most this many problems are listed; the count says how many there were.
MAX_PROBLEMS = 25
FORMATS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".md": "md",
    ".markdown": "md",
}
COLUMNS = {
    "question": "question",
    "text": "question",
    "answer": "answer",
    "completion": "answer",
    "register": "register",
    "language": "register",
    "topic": "topic",
}
_MD_TOPIC = re.compile(r"^#\s+(.*)$")
_MD_QUESTION = re.compile(r"^(?:##\s+|Q:\s*)(.*)$", re.IGNORECASE)
_MD_REGISTER = re.compile(r"^(?:register|language):\s*(.*)$", re.IGNORECASE)
_MD_ANSWER = re.compile(r"^A:\s*", re.IGNORECASE)
# An answer line that would read as markup is written with a backslash before it.
_MD_ESCAPE = re.compile(r"^(?:#|Q:|A:|register:|language:|\\)", re.IGNORECASE)


class FileProblem(Exception):
    """The file cannot be read at all (missing, too big, not text, unknown format)."""


@dataclass(frozen=True)
class Problem:
    """One bad row: the line it starts on and why."""

    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass(frozen=True)
class Raw:
    """One record as the file holds it: its first line and its fields by column."""

    line: int
    fields: dict[str, Any]


def file_format(path: Path, given: str | None = None) -> str:
    """The format named by ``given`` or by the file's extension."""
    if given:
        name = given.lower().lstrip(".")
        name = FORMATS.get(f".{name}", name)
    else:
        name = FORMATS.get(path.suffix.lower(), "")
    if name in FORMATS.values():
        return name
    known = ", ".join(sorted(FORMATS))
    raise FileProblem(f"{path.name}: unknown format; name the file {known} or pass --format")


def read_text(path: Path) -> str:
    """The file as text: UTF-8 (with or without BOM), or UTF-16 with its BOM."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise FileProblem(f"{path}: {exc.strerror or exc}") from exc
    if size > MAX_FILE_BYTES:
        raise FileProblem(
            f"{path.name} is {size / 2**20:.1f} MiB; the limit is {MAX_FILE_BYTES // 2**20} MiB "
            "— split it into several files"
        )
    try:
        data = path.read_bytes()
    except OSError as exc:  # a folder, or no permission
        raise FileProblem(f"{path}: {exc.strerror or exc}") from exc
    if data.startswith(b"PK\x03\x04"):
        raise FileProblem(f"{path.name} is a zip (an Excel workbook?); save it as CSV UTF-8")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise FileProblem(
            f"{path.name}, line {line}: not UTF-8 text (byte 0x{data[exc.start]:02x}); "
            "save the file as UTF-8 (in Excel: CSV UTF-8)"
        ) from exc
    if "\x00" in text:
        raise FileProblem(f"{path.name} is not a text file (it holds NUL bytes)")
    return text


def read_records(
    path: Path, given_format: str | None = None
) -> tuple[str, list[Raw], list[Problem]]:
    """(format, records with their lines, problems) of ``path``; the rows are checked later."""
    if path.is_dir():
        raise FileProblem(f"{path}: a folder, not a file")
    kind = file_format(path, given_format)
    text = read_text(path)
    problems: list[Problem] = []
    records = list(_READERS[kind](text, problems))
    if not records and not problems:
        problems.append(Problem(1, "no entries in the file"))
    if len(records) > MAX_ROWS:
        raise FileProblem(f"{path.name} has {len(records)} entries; the limit is {MAX_ROWS}")
    return kind, records, problems


def _columns(names: list[str], line: int, problems: list[Problem]) -> list[str] | None:
    mapped = [COLUMNS.get(name.strip().casefold(), "") for name in names]
    unknown = [n for n, m in zip(names, mapped, strict=True) if not m]
    missing = [c for c in ("question", "answer") if c not in mapped]
    if unknown:
        problems.append(
            Problem(
                line,
                f"unknown column {', '.join(map(repr, unknown))}; the columns are "
                "question, answer, register (optional), topic (optional)",
            )
        )
    elif missing:  # an unknown column is most likely the missing one misspelled
        problems.append(Problem(line, f"no {' or '.join(missing)} column"))
    twice = sorted({m for m in mapped if m and mapped.count(m) > 1})
    if twice:
        problems.append(Problem(line, f"column {', '.join(twice)} given twice"))
    return None if unknown or missing or twice else mapped


def _read_csv(text: str, problems: list[Problem], delimiter: str = ",") -> Iterator[Raw]:
    first = text.split("\n", 1)[0]
    if delimiter == "," and "," not in first:
        # Excel in many locales saves "CSV" with semicolons; a header tells which it is.
        delimiter = next((d for d in ";\t" if d in first), delimiter)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = next(reader, None)
        if header is None:
            return
        columns = _columns(header, 1, problems)
        if columns is None:
            return
        start = reader.line_num + 1
        for fields in reader:
            if any(f.strip() for f in fields):
                if len(fields) != len(columns):
                    problems.append(
                        Problem(start, f"{len(fields)} fields, the header has {len(columns)}")
                    )
                else:
                    yield Raw(start, dict(zip(columns, fields, strict=True)))
            start = reader.line_num + 1
    except csv.Error as exc:
        problems.append(Problem(reader.line_num, f"not valid CSV ({exc})"))


def _read_tsv(text: str, problems: list[Problem]) -> Iterator[Raw]:
    return _read_csv(text, problems, delimiter="\t")


def _object(value: Any, line: int, problems: list[Problem]) -> Raw | None:
    if not isinstance(value, dict):
        problems.append(Problem(line, "expected an object with question and answer"))
        return None
    columns = _columns(list(value), line, problems)
    if columns is None:
        return None
    return Raw(line, dict(zip(columns, value.values(), strict=True)))


def _read_json(text: str, problems: list[Problem]) -> Iterator[Raw]:
    """A JSON list of objects, each reported at the line it starts on."""
    decoder = json.JSONDecoder()
    position = _skip(text, 0)
    if not text.startswith("[", position):
        problems.append(
            Problem(
                _line(text, position),
                "expected a JSON list of objects (one object per line is JSONL: name the "
                "file .jsonl)",
            )
        )
        return
    position = _skip(text, position + 1)
    if text.startswith("]", position):
        return
    while True:
        try:
            value, end = decoder.raw_decode(text, position)
        except json.JSONDecodeError as exc:
            problems.append(Problem(_line(text, exc.pos), f"not valid JSON ({exc.msg})"))
            return
        raw = _object(value, _line(text, position), problems)
        if raw is not None:
            yield raw
        position = _skip(text, end)
        if text.startswith(",", position):
            position = _skip(text, position + 1)
        elif text.startswith("]", position):
            if text[_skip(text, position + 1) :]:
                problems.append(Problem(_line(text, position), "text after the JSON list"))
            return
        else:
            problems.append(Problem(_line(text, position), "expected , or ] in the JSON list"))
            return


def _skip(text: str, position: int) -> int:
    while position < len(text) and text[position] in " \t\r\n":
        position += 1
    return position


def _line(text: str, position: int) -> int:
    return text.count("\n", 0, position) + 1


def _read_jsonl(text: str, problems: list[Problem]) -> Iterator[Raw]:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(Problem(number, f"not valid JSON ({exc.msg})"))
            continue
        raw = _object(value, number, problems)
        if raw is not None:
            yield raw


def _read_markdown(text: str, problems: list[Problem]) -> Iterator[Raw]:
    topic: str | None = None
    current: dict[str, Any] | None = None
    start, answer = 0, []  # the current entry's first line, its answer lines

    def finish() -> Raw | None:
        if current is None:
            return None
        current["answer"] = "\n".join(answer).strip()
        return Raw(start, current)

    for number, line in enumerate(text.splitlines(), start=1):
        heading, question = _MD_TOPIC.match(line), _MD_QUESTION.match(line)
        if heading or question:
            if (done := finish()) is not None:
                yield done
            current, answer = None, []
            if heading:
                topic = heading.group(1).strip() or None
                continue
            assert question is not None
            current, start = {"question": question.group(1), "topic": topic}, number
            continue
        if current is None:
            if line.strip():
                problems.append(Problem(number, "text before the first question (## or Q:)"))
            continue
        register = _MD_REGISTER.match(line)
        if register and not any(a.strip() for a in answer) and "register" not in current:
            current["register"] = register.group(1)
            continue
        if not any(a.strip() for a in answer):
            line = _MD_ANSWER.sub("", line, count=1)
        answer.append(line[1:] if line.startswith("\\") else line)
    if (done := finish()) is not None:
        yield done


_READERS = {
    "csv": _read_csv,
    "tsv": _read_tsv,
    "json": _read_json,
    "jsonl": _read_jsonl,
    "md": _read_markdown,
}


def _register_of(entry: KnowledgeEntry) -> str:
    """Registers only: a routed label such as ``und`` is detected again when imported."""
    return entry.language if entry.language in REGISTERS else ""


def render(entries: list[KnowledgeEntry], kind: str) -> str:
    """The entries as a file of ``kind`` that :func:`parse_file` reads back to the same rows."""
    records = [
        {
            "question": e.question,
            "answer": e.answer,
            "register": _register_of(e),
            "topic": e.topic or "",
        }
        for e in entries
    ]
    if kind in ("csv", "tsv"):
        out = io.StringIO()
        writer = csv.writer(out, delimiter="," if kind == "csv" else "\t", lineterminator="\n")
        writer.writerow(["question", "answer", "register", "topic"])
        writer.writerows([r["question"], r["answer"], r["register"], r["topic"]] for r in records)
        return out.getvalue()
    if kind == "json":
        return json.dumps(records, ensure_ascii=False, indent=1) + "\n"
    if kind == "jsonl":
        return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    return _render_markdown(records)


def _render_markdown(records: list[dict[str, str]]) -> str:
    lines: list[str] = []
    topic: str | None = None
    for record in sorted(records, key=lambda r: r["topic"]):  # stable: file order per topic
        if record["topic"] != topic and record["topic"]:
            lines += [f"# {record['topic']}", ""]
        topic = record["topic"]
        lines.append(f"## {record['question']}")
        if record["register"]:
            lines.append(f"Register: {record['register']}")
        lines += ["\\" + a if _MD_ESCAPE.match(a) else a for a in record["answer"].splitlines()]
        lines.append("")
    return "\n".join(lines)
