"""Database work the handlers need, as plain functions of a session returning plain values.

Handlers run these through :meth:`bot.deps.Deps.read` / :meth:`~bot.deps.Deps.write`, so the
values they get back must not depend on a live session: hence the frozen dataclasses.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from model.text.policy import note_language
from storage.conversations import (
    NAME_CHARS,
    USERNAME_CHARS,
    ChatPerson,
    add_feedback,
    add_message,
    chat_people,
    get_chat,
    reply_texts,
    set_telegram_message_id,
    upsert_chat,
    upsert_customer,
)
from storage.models import BotReply, Chat, Customer, Message
from storage.staff import audit


@dataclass(frozen=True)
class Who:
    """A customer and their private chat, as a handler needs them."""

    customer_id: int
    chat_id: int
    telegram_chat_id: int
    mode: str
    """``bot`` or ``human`` (handed off to an agent)."""
    language: str | None
    """Language for fixed notes (see :func:`model.text.policy.note_language`)."""
    label: str
    """How agents see the customer: name, @username and numeric id."""


def _label(customer: Customer | ChatPerson | None, telegram_chat_id: int) -> str:
    if customer is None:
        return f"chat {telegram_chat_id}"
    parts = [customer.display_name or "customer"]
    if customer.username:
        parts.append(f"@{customer.username}")
    parts.append(f"id {customer.telegram_user_id}")
    return " · ".join(parts)


def _who(session: Session, chat: Chat) -> Who:
    customer = session.get(Customer, chat.customer_id) if chat.customer_id else None
    return Who(
        customer_id=customer.id if customer else 0,
        chat_id=chat.id,
        telegram_chat_id=chat.telegram_chat_id,
        mode=chat.mode,
        language=note_language(
            customer.preferred_language if customer else None, chat.last_language
        ),
        label=_label(customer, chat.telegram_chat_id),
    )


def register(
    session: Session,
    *,
    telegram_user_id: int,
    display_name: str,
    username: str | None,
    telegram_chat_id: int,
) -> Who:
    """The customer and private chat of an incoming message, created or refreshed."""
    customer = upsert_customer(
        session, telegram_user_id=telegram_user_id, display_name=display_name, username=username
    )
    chat = upsert_chat(
        session, telegram_chat_id=telegram_chat_id, type="private", customer_id=customer.id
    )
    return _who(session, chat)


def known(
    session: Session,
    *,
    telegram_user_id: int,
    display_name: str,
    username: str | None,
    telegram_chat_id: int,
) -> Who | None:
    """The customer and chat as stored, when :func:`register` would change nothing.

    A read: most messages come from customers the bot knows, and they need no write.
    ``None`` when the customer or chat is new or their name changed (register them).
    """
    people = chat_people(session, telegram_chat_ids=[telegram_chat_id])
    return unchanged(
        people.get(telegram_chat_id),
        telegram_user_id=telegram_user_id,
        display_name=display_name,
        username=username,
        telegram_chat_id=telegram_chat_id,
    )


def unchanged(
    person: ChatPerson | None,
    *,
    telegram_user_id: int,
    display_name: str,
    username: str | None,
    telegram_chat_id: int,
) -> Who | None:
    """:func:`known` on a chat's customer read before (the inbox reads them with a claim)."""
    if person is None or person.telegram_user_id != telegram_user_id:
        return None
    if person.telegram_chat_id != telegram_chat_id:
        return None
    if display_name and display_name[:NAME_CHARS] != person.display_name:
        return None
    if username and username[:USERNAME_CHARS] != person.username:
        return None
    return Who(
        customer_id=person.customer_id,
        chat_id=person.chat_id,
        telegram_chat_id=person.telegram_chat_id,
        mode=person.mode,
        language=note_language(person.preferred_language, person.last_language),
        label=_label(person, person.telegram_chat_id),
    )


@dataclass(frozen=True)
class Earlier:
    """A reply already stored for an inbound message (found when an update is retried)."""

    reply_id: int
    sent: bool
    """Its Telegram message id is recorded: it surely went out."""


def earlier_reply(session: Session, *, chat_id: int, telegram_message_id: int) -> Earlier | None:
    """The reply stored for the chat's inbound Telegram message, if one was."""
    answer = aliased(Message)
    row = session.execute(
        select(BotReply.id, answer.telegram_message_id)
        .join(Message, Message.id == BotReply.question_message_id)
        .join(answer, answer.id == BotReply.message_id)
        .where(
            Message.chat_id == chat_id,
            Message.direction == "in",
            Message.telegram_message_id == telegram_message_id,
        )
        .order_by(BotReply.id)
        .limit(1)
    ).first()
    if row is None:
        return None
    return Earlier(reply_id=row[0], sent=row[1] is not None)


def who_by_chat(session: Session, *, telegram_chat_id: int) -> Who | None:
    """The customer behind a Telegram chat id, if the bot has seen that chat."""
    chat = get_chat(session, telegram_chat_id=telegram_chat_id)
    return _who(session, chat) if chat is not None else None


def store_outbound(
    session: Session,
    *,
    chat_id: int,
    text: str,
    language: str | None,
    telegram_message_id: int | None,
) -> int:
    """Store a message sent to a customer that the pipeline did not write (agents' words)."""
    return add_message(
        session,
        chat_id=chat_id,
        direction="out",
        text=text,
        language=language,
        telegram_message_id=telegram_message_id,
    ).id


def record_sent(session: Session, *, message_id: int, telegram_message_id: int) -> None:
    """Remember which Telegram message carries a stored outbound message."""
    set_telegram_message_id(session, message_id=message_id, telegram_message_id=telegram_message_id)


@dataclass(frozen=True)
class ReplyCard:
    """A bot reply as agents see it: question, answer and where it went."""

    reply_id: int
    question: str
    answer: str
    language: str | None
    source: str
    flagged: bool
    review: str
    telegram_chat_id: int | None
    answer_telegram_message_id: int | None
    customer_label: str
    customer_language: str | None
    chat_id: int | None


def reply_card(session: Session, *, reply_id: int) -> ReplyCard | None:
    """Everything about one reply that mirroring, approving and correcting need."""
    reply = session.get(BotReply, reply_id)
    if reply is None:
        return None
    question, answer = reply_texts(session, reply_id=reply_id)
    answer_message = session.get(Message, reply.message_id)
    question_message = (
        session.get(Message, reply.question_message_id) if reply.question_message_id else None
    )
    chat = session.get(Chat, answer_message.chat_id) if answer_message else None
    who = _who(session, chat) if chat else None
    return ReplyCard(
        reply_id=reply.id,
        question=question,
        answer=answer,
        language=question_message.language if question_message else None,
        source=reply.source,
        flagged=reply.flagged,
        review=reply.review,
        telegram_chat_id=chat.telegram_chat_id if chat else None,
        answer_telegram_message_id=answer_message.telegram_message_id if answer_message else None,
        customer_label=who.label if who else "unknown chat",
        customer_language=who.language if who else None,
        chat_id=chat.id if chat else None,
    )


def store_feedback(
    session: Session, *, reply_id: int, telegram_user_id: int, telegram_chat_id: int, value: int
) -> tuple[bool, bool, str | None]:
    """(accepted, newly flagged, customer's note language) of one 👍/👎 press."""
    reply = session.get(BotReply, reply_id)
    answer = session.get(Message, reply.message_id) if reply else None
    chat = session.get(Chat, answer.chat_id) if answer else None
    customer = session.get(Customer, chat.customer_id) if chat and chat.customer_id else None
    # Only the customer the answer was sent to may rate it.
    if (
        reply is None
        or chat is None
        or customer is None
        or chat.telegram_chat_id != telegram_chat_id
        or customer.telegram_user_id != telegram_user_id
    ):
        return False, False, None
    was_flagged = reply.flagged
    add_feedback(session, reply_id=reply_id, customer_id=customer.id, value=value)
    language = note_language(customer.preferred_language, chat.last_language)
    if value < 0 and not was_flagged:
        audit(
            session,
            actor_user_id=telegram_user_id,
            action="reply.flag",
            target_type="reply",
            target_id=str(reply_id),
            detail={"by": "customer"},
        )
    return True, value < 0 and not was_flagged, language
