"""The knowledge base: the company's questions and answers, which retrieval answers from.

Entries belong to a *source*: ``shipped`` (the sample company's FAQ that ``uttor init`` loads)
or what operators import (``company`` by default). A question is unique within its source.
Every change goes through a function here, and each one writes an audit line: the audit line
is also what :func:`knowledge_stamp` watches, so an answer edited in place (same row count,
same ids) still makes every serving process reload its index before the next question.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, delete, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from storage.errors import InvalidValue, NotFound
from storage.models import LANGUAGES, MAX_ROW_ID, AuditLog, Knowledge
from storage.staff import audit

#: A longer question is a paste accident, not a question a customer asks.
MAX_QUESTION_CHARS = 1000
#: A long policy text is fine (the bot splits it at paragraph breaks into Telegram's 4096-
#: character messages); past four messages it is a document to link, not an answer.
MAX_ANSWER_CHARS = 16000
MAX_TOPIC_CHARS = 64
MAX_SOURCE_CHARS = 64
#: Audit actions that change the knowledge base (what :func:`knowledge_stamp` watches).
KNOWLEDGE_ACTIONS = ("knowledge.replace", "knowledge.import", "knowledge.edit", "knowledge.remove")
# The shipped sample sorts first, so on equal similarity the company's own entry (later) wins.
SHIPPED = "shipped"
_SHIPPED = SHIPPED


@dataclass(frozen=True)
class KnowledgeEntry:
    """One stored question and answer."""

    id: int
    source: str
    question: str
    answer: str
    language: str | None
    """The question's register (``bn``, ``en``, ``banglish``, ``mixed``) or routed label."""
    topic: str | None
    created_at: datetime


@dataclass(frozen=True)
class KnowledgeRow:
    """A question and answer to store (what an import file's row becomes once checked)."""

    question: str
    answer: str
    language: str | None = None
    topic: str | None = None


@dataclass(frozen=True)
class Imported:
    """What an import changed in its source."""

    source: str
    added: int
    updated: int
    unchanged: int
    removed: int


def question_key(question: str) -> str:
    """How questions are told apart within a source: case and spacing do not count."""
    return " ".join(question.split()).casefold()


def _entry(row: Knowledge) -> KnowledgeEntry:
    return KnowledgeEntry(
        id=row.id,
        source=row.source,
        question=row.question,
        answer=row.answer,
        language=row.language,
        topic=row.topic,
        created_at=row.created_at,
    )


def _check_row(row: KnowledgeRow) -> KnowledgeRow:
    """The row with its texts stripped, or InvalidValue (callers check rows first)."""
    question, answer = " ".join(row.question.split()), row.answer.strip()
    if not question or not answer:
        raise InvalidValue("knowledge entries need a question and an answer")
    if len(question) > MAX_QUESTION_CHARS:
        raise InvalidValue(f"a knowledge question is at most {MAX_QUESTION_CHARS} characters")
    if len(answer) > MAX_ANSWER_CHARS:
        raise InvalidValue(f"a knowledge answer is at most {MAX_ANSWER_CHARS} characters")
    if row.language is not None and row.language not in LANGUAGES:
        raise InvalidValue(f"unknown language {row.language!r}")
    topic = (row.topic or "").strip() or None
    if topic is not None and len(topic) > MAX_TOPIC_CHARS:
        raise InvalidValue(f"a topic is at most {MAX_TOPIC_CHARS} characters")
    return KnowledgeRow(question, answer, row.language, topic)


def _check_source(source: str) -> str:
    source = source.strip()
    if not source or len(source) > MAX_SOURCE_CHARS:
        raise InvalidValue(f"a knowledge source is a name of 1 to {MAX_SOURCE_CHARS} characters")
    return source


def replace_knowledge(
    session: Session,
    *,
    source: str,
    pairs: Iterable[tuple[str, str, str | None] | tuple[str, str, str | None, str | None]],
    actor_user_id: int | None = None,
) -> int:
    """Make the pairs of ``source`` exactly ``pairs`` (question, answer, language[, topic]).

    Idempotent; returns how many pairs the source now holds. Later duplicates of a question
    replace earlier ones, as a re-edited FAQ would.
    """
    source = _check_source(source)
    latest: dict[str, KnowledgeRow] = {}
    for pair in pairs:
        row = _check_row(KnowledgeRow(*pair))
        latest[question_key(row.question)] = row
    session.execute(delete(Knowledge).where(Knowledge.source == source))
    session.add_all(
        Knowledge(
            source=source, question=r.question, answer=r.answer, language=r.language, topic=r.topic
        )
        for r in latest.values()
    )
    session.flush()
    audit(
        session,
        actor_user_id=actor_user_id,
        action="knowledge.replace",
        target_type="knowledge_source",
        target_id=source,
        detail={"entries": len(latest)},
    )
    return len(latest)


def import_knowledge(
    session: Session,
    *,
    source: str,
    rows: Sequence[KnowledgeRow],
    replace: bool = False,
    actor_user_id: int | None = None,
) -> Imported:
    """Add or update ``rows`` in ``source``, in the caller's one transaction.

    A row whose question the source already has (ignoring case and spacing) updates that entry
    in place, so its id stays what operators know it by. ``replace`` also removes the source's
    entries the rows do not name. A question twice in ``rows`` is refused: which of two
    answers the company means is for a person to say.
    """
    source = _check_source(source)
    checked = [_check_row(row) for row in rows]
    seen: set[str] = set()
    for row in checked:
        key = question_key(row.question)
        if key in seen:
            raise InvalidValue(f"the question {row.question!r} is given twice")
        seen.add(key)
    existing = {
        question_key(k.question): k
        for k in session.scalars(select(Knowledge).where(Knowledge.source == source))
    }
    added = updated = unchanged = 0
    for row in checked:
        current = existing.get(question_key(row.question))
        if current is None:
            session.add(
                Knowledge(
                    source=source,
                    question=row.question,
                    answer=row.answer,
                    language=row.language,
                    topic=row.topic,
                )
            )
            added += 1
            continue
        values = (row.question, row.answer, row.language, row.topic)
        if (current.question, current.answer, current.language, current.topic) == values:
            unchanged += 1
            continue
        current.question, current.answer, current.language, current.topic = values
        updated += 1
    removed = 0
    if replace:
        stale = [k.id for key, k in existing.items() if key not in seen]
        if stale:
            session.execute(delete(Knowledge).where(Knowledge.id.in_(stale)))
        removed = len(stale)
    session.flush()
    result = Imported(source, added, updated, unchanged, removed)
    audit(
        session,
        actor_user_id=actor_user_id,
        action="knowledge.import",
        target_type="knowledge_source",
        target_id=source,
        detail={
            "added": added,
            "updated": updated,
            "unchanged": unchanged,
            "removed": removed,
            # What the source holds now: shipped_changed_by_operator compares with it.
            "entries": count_knowledge(session, source=source),
        },
    )
    return result


def get_knowledge(session: Session, *, entry_id: int) -> KnowledgeEntry | None:
    """One entry by id, or ``None``."""
    row = session.get(Knowledge, entry_id) if 1 <= entry_id <= MAX_ROW_ID else None
    return _entry(row) if row is not None else None


def edit_knowledge(
    session: Session, *, entry_id: int, answer: str, actor_user_id: int | None
) -> tuple[KnowledgeEntry, KnowledgeEntry]:
    """Change one entry's answer in place; (before, after). The audit line keeps both."""
    row = session.get(Knowledge, entry_id) if 1 <= entry_id <= MAX_ROW_ID else None
    if row is None:
        raise NotFound(f"no knowledge entry {entry_id}")
    before = _entry(row)
    checked = _check_row(KnowledgeRow(row.question, answer, row.language, row.topic))
    row.answer = checked.answer
    session.flush()
    audit(
        session,
        actor_user_id=actor_user_id,
        action="knowledge.edit",
        target_type="knowledge",
        target_id=str(entry_id),
        detail={"before": before.answer, "after": row.answer},
    )
    return before, _entry(row)


def remove_knowledge(
    session: Session, *, entry_ids: Sequence[int], actor_user_id: int | None
) -> list[KnowledgeEntry]:
    """Remove these entries, all or none: an unknown id removes nothing (NotFound)."""
    wanted = list(dict.fromkeys(entry_ids))
    rows = [session.get(Knowledge, i) if 1 <= i <= MAX_ROW_ID else None for i in wanted]
    missing = [str(i) for i, row in zip(wanted, rows, strict=True) if row is None]
    if missing:
        raise NotFound(f"no knowledge entry {', '.join(missing)}; nothing removed")
    removed = [_entry(row) for row in rows if row is not None]
    session.execute(delete(Knowledge).where(Knowledge.id.in_(wanted)))
    session.flush()
    audit(
        session,
        actor_user_id=actor_user_id,
        action="knowledge.remove",
        target_type="knowledge",
        target_id=",".join(str(i) for i in wanted)[:64],
        detail={"ids": wanted, "questions": [e.question[:200] for e in removed]},
    )
    return removed


def remove_source(session: Session, *, source: str, actor_user_id: int | None) -> int:
    """Remove every entry of ``source``; how many there were (0 for an unknown source)."""
    result = session.execute(delete(Knowledge).where(Knowledge.source == source))
    count = int(result.rowcount or 0)
    audit(
        session,
        actor_user_id=actor_user_id,
        action="knowledge.remove",
        target_type="knowledge_source",
        target_id=source[:64],
        detail={"entries": count},
    )
    return count


def _filters(
    *,
    source: str | None,
    topic: str | None,
    language: str | None,
    words: Sequence[str],
) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if source is not None:
        where.append(Knowledge.source == source)
    if topic is not None:
        where.append(Knowledge.topic == topic)
    if language is not None:
        where.append(Knowledge.language == language)
    for word in words:
        # Bengali has no case; lower() folds the Latin part on SQLite and PostgreSQL alike.
        needle = word.lower()
        where.append(
            or_(
                func.lower(Knowledge.question).contains(needle, autoescape=True),
                func.lower(Knowledge.answer).contains(needle, autoescape=True),
            )
        )
    return where


def knowledge_entries(
    session: Session,
    *,
    source: str | None = None,
    topic: str | None = None,
    language: str | None = None,
    words: Sequence[str] = (),
    limit: int | None = None,
    offset: int = 0,
) -> list[KnowledgeEntry]:
    """Entries matching every filter (``words``: each in the question or the answer).

    Order: the shipped sample first, then by id, as retrieval reads them.
    """
    query = (
        select(Knowledge)
        .where(*_filters(source=source, topic=topic, language=language, words=words))
        .order_by(case((Knowledge.source == _SHIPPED, 0), else_=1), Knowledge.id)
        .offset(offset)
    )
    if limit is not None:
        query = query.limit(limit)
    return [_entry(row) for row in session.scalars(query)]


def count_knowledge(
    session: Session,
    *,
    source: str | None = None,
    topic: str | None = None,
    language: str | None = None,
    words: Sequence[str] = (),
) -> int:
    """How many entries :func:`knowledge_entries` would return without a limit."""
    where = _filters(source=source, topic=topic, language=language, words=words)
    return int(session.scalar(select(func.count(Knowledge.id)).where(*where)) or 0)


def knowledge_sources(session: Session) -> list[tuple[str, int]]:
    """(source, entries) of every source, by name."""
    rows = session.execute(
        select(Knowledge.source, func.count(Knowledge.id))
        .group_by(Knowledge.source)
        .order_by(Knowledge.source)
    ).all()
    return [(source, int(count)) for source, count in rows]


def knowledge_pairs(session: Session) -> list[tuple[str, str, str | None]]:
    """Every (question, answer, language), in :func:`knowledge_entries` order."""
    rows = session.execute(
        select(Knowledge.question, Knowledge.answer, Knowledge.language).order_by(
            case((Knowledge.source == _SHIPPED, 0), else_=1), Knowledge.id
        )
    ).all()
    return [(q, a, lang) for q, a, lang in rows]


def knowledge_stamp(session: Session) -> tuple[int, int, int]:
    """(count, highest id, latest change) of the knowledge base, in one query.

    Count and highest id change when entries are added or removed; the id of the newest
    knowledge audit line changes on every write through this module, an answer edited in
    place included. Serving compares it before each question and reloads on a change.
    """
    changed = (
        select(func.max(AuditLog.id))
        .where(AuditLog.action.in_(KNOWLEDGE_ACTIONS))
        .scalar_subquery()
    )
    count, top, change = session.execute(
        select(func.count(Knowledge.id), func.max(Knowledge.id), changed)
    ).one()
    return int(count), int(top or 0), int(change or 0)
