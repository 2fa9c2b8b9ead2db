"""The knowledge base: the shipped sample (``uttor init``, benchmarks) and the company's own.

The company's entries come from files (:mod:`operations.knowledge_files` reads CSV, JSON,
JSONL and Markdown Q&A): every row is checked first, and a file with any bad row imports
nothing. ``uttor knowledge …`` and the operators' ``/kb`` commands call these actions; every
change is audited and reaches serving at the next question, without a retrain.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from model.text.languages import REGISTERS
from model.text.normalize import is_blank, normalize, strip_controls
from operations.errors import Missing, Refused
from operations.knowledge_files import (
    MAX_PROBLEMS,
    FileProblem,
    Problem,
    file_format,
    render,
)
from operations.knowledge_rows import check_file, register_name, topic_slug
from storage.db import Database
from storage.errors import NotFound, StorageError
from storage.knowledge import (
    Imported,
    KnowledgeEntry,
    count_knowledge,
    edit_knowledge,
    get_knowledge,
    import_knowledge,
    knowledge_entries,
    knowledge_sources,
    remove_knowledge,
    remove_source,
)
from storage.knowledge_history import shipped_changed_by_operator

__all__ = [
    "DEFAULT_SOURCE",
    "ImportRefused",
    "ImportResult",
    "check_file",
    "edit_entry",
    "export_file",
    "import_file",
    "list_entries",
    "init_shipped_knowledge",
    "load_shipped_knowledge",
    "remove_entries",
    "remove_entries_of",
    "search_entries",
    "show_entry",
]


def load_shipped_knowledge(database: Database) -> int:
    """Load the shipped FAQ (training/data/mydata.json) into the knowledge base; idempotent.

    Each entry gets the register and topic its question has in the annotated sources
    (training/data/src/), so retrieval can answer a topic in the customer's register; a
    question the sources do not hold keeps its routed language and no topic.
    """
    from model.text.langid import detect
    from storage.knowledge import replace_knowledge
    from training.data import TRAIN_FILE, load_pairs

    try:
        pairs = load_pairs(TRAIN_FILE)
        annotated = shipped_annotations()
    except ValueError as exc:
        raise Refused(f"shipped knowledge base unreadable: {exc}") from exc
    rows = []
    for pair in pairs:
        register, topic = annotated.get(normalize(pair["text"]), (None, None))
        rows.append(
            (pair["text"], pair["completion"], register or detect(pair["text"]).label, topic)
        )
    with database.write() as session:
        return replace_knowledge(session, source="shipped", pairs=rows)


def init_shipped_knowledge(database: Database) -> tuple[int, bool]:
    """What ``uttor init`` does with the shipped FAQ: (shipped entries now, whether loaded).

    It loads (or refreshes) the sample unless an operator removed or edited entries of it
    since the last load (:func:`storage.knowledge.shipped_changed_by_operator`): a removal is
    not undone by the next ``uttor init``. ``uttor knowledge import training/data/mydata.json
    --source shipped --replace`` brings the sample back.
    """
    with database.read() as session:
        if shipped_changed_by_operator(session):
            return count_knowledge(session, source="shipped"), False
    return load_shipped_knowledge(database), True


def shipped_annotations() -> dict[str, tuple[str, str]]:
    """Normalized question -> (register, topic) of every pair in training/data/src/*.jsonl."""
    import json

    from training.data import SOURCES_DIR

    found: dict[str, tuple[str, str]] = {}
    for path in sorted(SOURCES_DIR.glob("*.jsonl")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                found[normalize(row["text"])] = (row["register"], row["topic"])
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise ValueError(f"{path}, line {number}: {exc}") from exc
    return found


# --- the company's own knowledge: import, list, search, show, edit, remove, export -----------

#: Where ``uttor knowledge import`` puts entries unless told otherwise.
DEFAULT_SOURCE = "company"


class ImportRefused(Refused):
    """The file has bad rows; nothing was imported. ``problems`` lists them by line."""

    def __init__(self, path: Path, problems: list[Problem]) -> None:
        shown = "; ".join(str(p) for p in problems[:MAX_PROBLEMS])
        more = f"; and {len(problems) - MAX_PROBLEMS} more" if len(problems) > MAX_PROBLEMS else ""
        rows = "problem" if len(problems) == 1 else "problems"
        super().__init__(f"{path.name}: {len(problems)} {rows}, nothing imported: {shown}{more}")
        self.problems = problems


class _DryRun(Exception):
    def __init__(self, result: Imported) -> None:
        self.result = result


@dataclass(frozen=True)
class ImportResult:
    """What an import did (or, with ``dry_run``, would do)."""

    path: str
    format: str
    source: str
    rows: int
    added: int
    updated: int
    unchanged: int
    removed: int
    dry_run: bool


def import_file(
    database: Database,
    path: Path,
    *,
    source: str = DEFAULT_SOURCE,
    replace: bool = False,
    given_format: str | None = None,
    dry_run: bool = False,
    actor_user_id: int | None = None,
) -> ImportResult:
    """Import a knowledge file all or nothing: any bad row refuses the whole file.

    Rows whose question ``source`` already has update that entry (same id); ``replace`` also
    removes the source's entries the file does not have. One transaction: a failure half-way
    leaves the knowledge base as it was. Serving answers from the new entries at the next
    question (the write changes :func:`storage.knowledge.knowledge_stamp`).
    """
    checked = check_file(path, given_format)
    if checked.problems:
        raise ImportRefused(path, checked.problems)
    rows = [row for _, row in checked.rows]
    try:
        with database.write() as session:
            done = import_knowledge(
                session, source=source, rows=rows, replace=replace, actor_user_id=actor_user_id
            )
            if dry_run:  # leaving the transaction by an exception rolls it back
                raise _DryRun(done)
    except _DryRun as stop:
        done = stop.result
    except StorageError as exc:  # a bad source name
        raise Refused(str(exc)) from exc
    return ImportResult(
        str(path),
        checked.format,
        done.source,
        len(rows),
        done.added,
        done.updated,
        done.unchanged,
        done.removed,
        dry_run,
    )


def _register_filter(register: str | None) -> str | None:
    if register is None:
        return None
    name = register_name(register)
    if name is None and register.strip().casefold() not in ("other", "und"):
        raise Refused(f"unknown register {register!r}; use one of: {', '.join(REGISTERS)}")
    return name or register.strip().casefold()


def list_entries(
    database: Database,
    *,
    source: str | None = None,
    topic: str | None = None,
    register: str | None = None,
    words: Sequence[str] = (),
    limit: int | None = None,
    offset: int = 0,
) -> tuple[list[KnowledgeEntry], int]:
    """(entries, how many match in all) of the knowledge base, filtered."""
    language = _register_filter(register)
    topic = topic_slug(topic) if topic else None
    words = [w for w in words if w.strip()]
    with database.read() as session:
        found = knowledge_entries(
            session,
            source=source,
            topic=topic,
            language=language,
            words=words,
            limit=limit,
            offset=offset,
        )
        total = count_knowledge(session, source=source, topic=topic, language=language, words=words)
    return found, total


def search_entries(database: Database, text: str, *, limit: int = 10) -> list[KnowledgeEntry]:
    """Entries sharing the most words with ``text`` (question words count double)."""
    words = [w for w in normalize(text).split() if len(w) > 1 or w.isdigit()]
    if not words:
        return []
    with database.read() as session:
        entries = knowledge_entries(session)
    scored = []
    for entry in entries:
        question, answer = normalize(entry.question), normalize(entry.answer)
        score = sum(2 * (w in question) + (w in answer) for w in words)
        if score:
            scored.append((-score, entry.id, entry))
    return [entry for *_, entry in sorted(scored)[:limit]]


def show_entry(database: Database, entry_id: int) -> KnowledgeEntry:
    """One entry, or Missing."""
    with database.read() as session:
        entry = get_knowledge(session, entry_id=entry_id)
    if entry is None:
        raise Missing("knowledge entry", entry_id)
    return entry


def edit_entry(
    database: Database, entry_id: int, answer: str, *, actor_user_id: int | None
) -> tuple[KnowledgeEntry, KnowledgeEntry]:
    """Give an entry a new answer, in place and audited; (before, after)."""
    answer = strip_controls(answer)
    if is_blank(answer):
        raise Refused("the new answer is empty")
    try:
        with database.write() as session:
            return edit_knowledge(
                session, entry_id=entry_id, answer=answer, actor_user_id=actor_user_id
            )
    except NotFound as exc:
        raise Missing("knowledge entry", entry_id) from exc
    except StorageError as exc:  # too long
        raise Refused(str(exc)) from exc


def remove_entries(
    database: Database, entry_ids: Sequence[int], *, actor_user_id: int | None
) -> list[KnowledgeEntry]:
    """Remove entries all or none (an unknown id removes nothing); what was removed."""
    try:
        with database.write() as session:
            return remove_knowledge(session, entry_ids=entry_ids, actor_user_id=actor_user_id)
    except StorageError as exc:
        raise Refused(str(exc)) from exc


def remove_entries_of(database: Database, source: str, *, actor_user_id: int | None) -> int:
    """Remove every entry of ``source``; how many. An unknown source is refused."""
    with database.write() as session:
        if source not in dict(knowledge_sources(session)):
            raise Refused(f"no knowledge source {source!r}")
        return remove_source(session, source=source, actor_user_id=actor_user_id)


def export_file(
    database: Database,
    path: Path,
    *,
    source: str | None = None,
    topic: str | None = None,
    register: str | None = None,
    given_format: str | None = None,
) -> tuple[int, str]:
    """Write the entries to ``path`` in a format import reads back; (entries, format).

    Written to a temporary file first and renamed, so a failed export never leaves half a file.
    """
    try:
        kind = file_format(path, given_format)
    except FileProblem as exc:
        raise Refused(str(exc)) from exc
    if not path.parent.is_dir():
        raise Refused(f"{path.parent}: no such folder")
    entries, _ = list_entries(database, source=source, topic=topic, register=register)
    text = render(entries, kind)
    # A BOM lets Excel open a UTF-8 CSV as UTF-8 (Bangla intact); the importer skips it.
    encoding = "utf-8-sig" if kind in ("csv", "tsv") else "utf-8"
    partial = path.with_name(f".{path.name}.partial")
    try:
        partial.write_text(text, encoding=encoding, newline="")
        os.replace(partial, path)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise Refused(f"{path}: {exc.strerror or exc}") from exc
    return len(entries), kind
