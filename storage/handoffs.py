"""Handoffs: a chat in human mode, and the answers agents gave there (training material)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session, aliased

from storage.errors import NotFound
from storage.models import Chat, Handoff, HandoffPair, Message, utcnow
from storage.staff import audit


def open_handoff(session: Session, *, chat_id: int) -> Handoff | None:
    return session.scalar(
        select(Handoff).where(Handoff.chat_id == chat_id, Handoff.ended_at.is_(None))
    )


def _locked_chat(session: Session, chat_id: int) -> Chat | None:
    """The chat as committed now, its row locked until this transaction ends.

    Starting and ending a handoff read the chat's open handoff, then write. Two replicas on one
    PostgreSQL doing so at once would each act on what it read: two open handoffs for one chat,
    or one handoff ended twice (two "handed back" notices). Locking the chat row first makes the
    second wait until the first commits, then read what the first left. FOR NO KEY UPDATE, the
    lock an UPDATE of the chat takes anyway: it does not wait for transactions that only add
    messages to the chat (their foreign key takes KEY SHARE). SQLite leaves the clause out; its
    writers hold the whole file from their first statement (BEGIN IMMEDIATE, storage/db.py).
    Both functions lock the chat before they touch a handoff row, so a start and an end of the
    same chat at once queue instead of deadlocking. ``populate_existing``: a chat this session
    loaded before is read again (its pending changes were flushed before the SELECT).
    """
    return session.scalar(
        select(Chat)
        .where(Chat.id == chat_id)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    )


def start_handoff(
    session: Session, *, chat_id: int, requested_by: str, agent_user_id: int | None = None
) -> Handoff:
    """Put a chat in human mode; an open handoff is reused (and claimed by the agent)."""
    chat = _locked_chat(session, chat_id)
    if chat is None:
        raise NotFound(f"no chat with id {chat_id}")
    handoff = open_handoff(session, chat_id=chat_id)
    if handoff is None:
        handoff = Handoff(chat_id=chat_id, requested_by=requested_by, agent_user_id=agent_user_id)
        session.add(handoff)
    elif agent_user_id is not None:
        handoff.agent_user_id = agent_user_id
    chat.mode = "human"
    session.flush()
    audit(
        session,
        actor_user_id=agent_user_id,
        action="handoff.start",
        target_type="chat",
        target_id=str(chat.telegram_chat_id),
        detail={"requested_by": requested_by},
    )
    return handoff


def end_handoff(
    session: Session, *, chat_id: int, reason: str, actor_user_id: int | None = None
) -> Handoff:
    """Hand a chat back to the bot.

    Of two callers ending one handoff at once (an agent's /release in one replica, the idle
    timeout in another), one ends it and writes the audit line; the other gets
    :class:`NotFound`, as if the chat were back with the bot already, and tells nobody.
    """
    chat = _locked_chat(session, chat_id)
    handoff = open_handoff(session, chat_id=chat_id)
    if chat is None or handoff is None:
        raise NotFound(f"chat {chat_id} is not in human mode")
    # The UPDATE decides, not what was read: only the one that finds the handoff still open
    # ends it, even were the lock above missing (SQLite has none; its file lock serializes).
    # It also sets ended_at and end_reason on ``handoff`` (synchronize_session="auto").
    ended = session.execute(
        update(Handoff)
        .where(Handoff.id == handoff.id, Handoff.ended_at.is_(None))
        .values(ended_at=utcnow(), end_reason=reason)
    )
    if ended.rowcount != 1:
        raise NotFound(f"chat {chat_id} is not in human mode")
    chat.mode = "bot"
    session.flush()
    audit(
        session,
        actor_user_id=actor_user_id,
        action="handoff.end",
        target_type="chat",
        target_id=str(chat.telegram_chat_id),
        detail={"reason": reason},
    )
    return handoff


def add_handoff_pair(
    session: Session,
    *,
    handoff_id: int,
    question_message_id: int,
    answer_message_id: int,
    agent_user_id: int,
) -> HandoffPair:
    """Keep an agent's answer to a customer's question during a handoff, for training."""
    if session.get(Handoff, handoff_id) is None:
        raise NotFound(f"no handoff with id {handoff_id}")
    for message_id in (question_message_id, answer_message_id):
        if session.get(Message, message_id) is None:
            raise NotFound(f"no message with id {message_id}")
    pair = HandoffPair(
        handoff_id=handoff_id,
        question_message_id=question_message_id,
        answer_message_id=answer_message_id,
        agent_user_id=agent_user_id,
    )
    session.add(pair)
    session.flush()
    return pair


def handoff_pairs(session: Session) -> Sequence[tuple[str, str, str | None]]:
    """(question, answer, question language) of every agent answer kept for training."""
    return [(a.question, a.answer, a.question_language) for a in handoff_answers(session)]


@dataclass(frozen=True)
class HandoffAnswer:
    """An agent's answer during a handoff and the customer question it answers."""

    pair_id: int
    question_message_id: int
    question: str
    answer: str
    question_language: str | None
    answer_language: str | None
    """Routed label of the agent's answer: the reply language the customer was given."""


def handoff_answers(session: Session) -> list[HandoffAnswer]:
    """Agents' answers during handoffs, oldest first, without those excluded from training."""
    question, answer = aliased(Message), aliased(Message)
    rows = session.execute(
        select(
            HandoffPair.id,
            question.id,
            question.text,
            answer.text,
            question.language,
            answer.language,
        )
        .select_from(HandoffPair)
        .join(question, question.id == HandoffPair.question_message_id)
        .join(answer, answer.id == HandoffPair.answer_message_id)
        .where(HandoffPair.excluded.is_(False))
        .order_by(HandoffPair.id)
    ).all()
    return [HandoffAnswer(*row) for row in rows]


def exclude_answers(
    session: Session, *, question_message_id: int, actor_user_id: int | None
) -> int:
    """Take every agent answer to this customer message out of training; returns how many.

    For answers that must not teach the model: a personal promise ("I will call you at 5"), a
    wrong answer sent in a hurry, a conversation that went off the record. The messages stay
    in the chat log; the audit log says who excluded what.
    """
    ids = list(
        session.scalars(
            select(HandoffPair.id).where(
                HandoffPair.question_message_id == question_message_id,
                HandoffPair.excluded.is_(False),
            )
        ).all()
    )
    if not ids:
        return 0
    session.execute(update(HandoffPair).where(HandoffPair.id.in_(ids)).values(excluded=True))
    session.flush()
    audit(
        session,
        actor_user_id=actor_user_id,
        action="handoff.exclude",
        target_type="message",
        target_id=str(question_message_id),
        detail={"handoff_pair_ids": ids},
    )
    return len(ids)


def idle_handoffs(session: Session, *, idle_since: datetime) -> list[Handoff]:
    """Open handoffs with no message in their chat since ``idle_since`` (to time them out)."""
    last_message = (
        select(func.max(Message.created_at))
        .where(Message.chat_id == Handoff.chat_id)
        .scalar_subquery()
    )
    return list(
        session.scalars(
            select(Handoff)
            .where(Handoff.ended_at.is_(None), Handoff.started_at < idle_since)
            .where(or_(last_message.is_(None), last_message < idle_since))
            .order_by(Handoff.id)
        ).all()
    )
