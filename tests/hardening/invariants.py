"""Row counts and the consistency rules the database must keep whatever the bot is sent.

:func:`violations` lists every broken rule (empty when all hold); the hardening tests call it
after each case, so a case that leaves an orphan row or a second reply is named at once.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from storage.db import Database
from storage.models import (
    Adapter,
    AuditLog,
    BotReply,
    Chat,
    Correction,
    Customer,
    Feedback,
    Handoff,
    HandoffPair,
    Knowledge,
    Message,
    RetrainRun,
    Staff,
)

TABLES = {
    "customers": Customer,
    "chats": Chat,
    "messages": Message,
    "bot_replies": BotReply,
    "feedback": Feedback,
    "corrections": Correction,
    "handoffs": Handoff,
    "handoff_pairs": HandoffPair,
    "audit_log": AuditLog,
    "staff": Staff,
    "adapters": Adapter,
    "retrain_runs": RetrainRun,
    "knowledge": Knowledge,
}


def counts(database: Database) -> dict[str, int]:
    """Rows per table."""
    with database.read() as session:
        return {
            name: int(session.scalar(select(func.count()).select_from(model)) or 0)
            for name, model in TABLES.items()
        }


def delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    """Tables whose row count changed, and by how much."""
    return {name: after[name] - before[name] for name in after if after[name] != before[name]}


def _orphans(session: Session) -> list[str]:
    found: list[str] = []
    checks = [
        ("message without its chat", Message.chat_id, Chat.id),
        ("reply without its answer message", BotReply.message_id, Message.id),
        ("correction without its reply", Correction.reply_id, BotReply.id),
        ("feedback without its reply", Feedback.reply_id, BotReply.id),
        ("feedback without its customer", Feedback.customer_id, Customer.id),
        ("handoff without its chat", Handoff.chat_id, Chat.id),
        ("handoff pair without its handoff", HandoffPair.handoff_id, Handoff.id),
    ]
    for name, child, parent in checks:
        missing = session.scalar(
            select(func.count())
            .select_from(child.class_)
            .outerjoin(parent.class_, child == parent)
            .where(parent.is_(None))
        )
        if missing:
            found.append(f"{missing} x {name}")
    return found


def _replies(session: Session) -> list[str]:
    found: list[str] = []
    answer, question = aliased(Message), aliased(Message)
    rows = session.execute(
        select(BotReply.id, answer.direction, question.direction, answer.chat_id, question.chat_id)
        .join(answer, answer.id == BotReply.message_id)
        .outerjoin(question, question.id == BotReply.question_message_id)
    ).all()
    for reply_id, said, asked, said_chat, asked_chat in rows:
        if said != "out":
            found.append(f"reply {reply_id}: its answer is not an outbound message")
        if asked is not None and (asked != "in" or asked_chat != said_chat):
            found.append(f"reply {reply_id}: its question is not an inbound message of its chat")
    doubled = session.execute(
        select(BotReply.question_message_id, func.count())
        .where(BotReply.question_message_id.is_not(None))
        .group_by(BotReply.question_message_id)
        .having(func.count() > 1)
    ).all()
    found += [f"inbound message {m} has {n} replies" for m, n in doubled]
    return found


def _inbound(session: Session) -> list[str]:
    found: list[str] = []
    twice = session.execute(
        select(Message.chat_id, Message.telegram_message_id, func.count())
        .where(Message.direction == "in", Message.telegram_message_id.is_not(None))
        .group_by(Message.chat_id, Message.telegram_message_id)
        .having(func.count() > 1)
    ).all()
    found += [f"Telegram message {t} of chat {c} stored {n} times" for c, t, n in twice]
    # PostgreSQL refuses NUL in text; a row SQLite accepted would break a migration there.
    # In Python: SQLite's LIKE stops reading its pattern at a NUL.
    with_nul = sum("\x00" in text for text in session.scalars(select(Message.text)))
    if with_nul:
        found.append(f"{with_nul} stored message(s) hold a NUL character")
    not_private = session.scalar(
        select(func.count()).select_from(Chat).where(Chat.type != "private")
    )
    if not_private:
        found.append(f"{not_private} chat(s) stored that are not private chats")
    return found


def _corrections(session: Session) -> list[str]:
    found: list[str] = []
    doubled = session.execute(
        select(Correction.reply_id, func.count())
        .where(Correction.status == "active")
        .group_by(Correction.reply_id)
        .having(func.count() > 1)
    ).all()
    found += [f"reply {r} has {n} active corrections" for r, n in doubled]
    unmarked = session.scalar(
        select(func.count())
        .select_from(Correction)
        .join(BotReply, BotReply.id == Correction.reply_id)
        .where(Correction.status == "active", BotReply.review != "corrected")
    )
    if unmarked:
        found.append(f"{unmarked} active correction(s) on replies not marked corrected")
    return found


def _modes(session: Session) -> list[str]:
    found: list[str] = []
    active = session.scalar(
        select(func.count()).select_from(Adapter).where(Adapter.status == "active")
    )
    if (active or 0) > 1:
        found.append(f"{active} active adapters")
    for chat in session.scalars(select(Chat)).all():
        open_handoffs = session.scalar(
            select(func.count())
            .select_from(Handoff)
            .where(Handoff.chat_id == chat.id, Handoff.ended_at.is_(None))
        )
        if (open_handoffs or 0) > 1:
            found.append(f"chat {chat.telegram_chat_id} has {open_handoffs} open handoffs")
        if (chat.mode == "human") != bool(open_handoffs):
            found.append(
                f"chat {chat.telegram_chat_id} is in {chat.mode} mode with "
                f"{open_handoffs} open handoff(s)"
            )
    return found


def violations(database: Database) -> list[str]:
    """Every broken consistency rule, in words; empty when the database is consistent."""
    with database.read() as session:
        return [
            *_orphans(session),
            *_replies(session),
            *_inbound(session),
            *_corrections(session),
            *_modes(session),
        ]
