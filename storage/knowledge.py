"""The knowledge base: question/answer pairs that correction memory can answer from."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from storage.errors import InvalidValue
from storage.models import Knowledge


def replace_knowledge(
    session: Session, *, source: str, pairs: Iterable[tuple[str, str, str | None]]
) -> int:
    """Make the pairs of ``source`` exactly ``pairs`` (question, answer, language); idempotent.

    Returns how many pairs the source now holds. Later duplicates of a question replace earlier
    ones, as a re-edited FAQ would.
    """
    latest: dict[str, tuple[str, str | None]] = {}
    for question, answer, language in pairs:
        question, answer = question.strip(), answer.strip()
        if not question or not answer:
            raise InvalidValue("knowledge pairs need a question and an answer")
        latest[question] = (answer, language)
    session.execute(delete(Knowledge).where(Knowledge.source == source))
    session.add_all(
        Knowledge(source=source, question=q, answer=a, language=lang)
        for q, (a, lang) in latest.items()
    )
    session.flush()
    return len(latest)


def knowledge_pairs(session: Session) -> list[tuple[str, str, str | None]]:
    """Every (question, answer, language) of the knowledge base, in a stable order."""
    rows = session.execute(
        select(Knowledge.question, Knowledge.answer, Knowledge.language).order_by(Knowledge.id)
    ).all()
    return [(q, a, lang) for q, a, lang in rows]


def knowledge_stamp(session: Session) -> tuple[int, int]:
    """(count, highest id) of knowledge pairs; a replaced source gets new ids, so it changes."""
    count, top = session.execute(select(func.count(Knowledge.id), func.max(Knowledge.id))).one()
    return int(count), int(top or 0)
