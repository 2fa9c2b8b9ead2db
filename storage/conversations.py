"""Customers, chats, messages, bot replies and feedback: keyword-only query functions."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.arrays import DIALECTS, dialect_of, one_of
from storage.errors import InvalidValue, NotFound
from storage.models import (
    DIRECTIONS,
    LANGUAGES,
    MAX_BIGINT,
    PREFERRED_LANGUAGES,
    REGISTERS,
    REPLY_SOURCES,
    BotReply,
    Chat,
    Customer,
    Feedback,
    Message,
    utcnow,
)

NAME_CHARS = 256
USERNAME_CHARS = 64


def upsert_customer(
    session: Session,
    *,
    telegram_user_id: int,
    display_name: str = "",
    username: str | None = None,
) -> Customer:
    """The customer with this Telegram user id, created or refreshed.

    Names are cut to their columns' sizes: Telegram keeps them shorter, but PostgreSQL would
    refuse a longer one outright and the customer could never be served.
    """
    display_name = display_name[:NAME_CHARS]
    username = username[:USERNAME_CHARS] if username else username
    customer = session.scalar(select(Customer).where(Customer.telegram_user_id == telegram_user_id))
    if customer is None:
        customer = Customer(
            telegram_user_id=telegram_user_id, display_name=display_name, username=username
        )
        session.add(customer)
    else:
        customer.display_name = display_name or customer.display_name
        customer.username = username or customer.username
    session.flush()
    return customer


@dataclass(frozen=True)
class ChatPerson:
    """A private chat and its customer as stored (what handling one of its messages needs)."""

    customer_id: int
    telegram_user_id: int
    display_name: str
    username: str | None
    preferred_language: str | None
    chat_id: int
    telegram_chat_id: int
    mode: str
    last_language: str | None


_PEOPLE = {
    dialect: select(
        Customer.id,
        Customer.telegram_user_id,
        Customer.display_name,
        Customer.username,
        Customer.preferred_language,
        Chat.id,
        Chat.telegram_chat_id,
        Chat.mode,
        Chat.last_language,
    )
    .join(Chat, Chat.customer_id == Customer.id)
    .where(one_of(Chat.telegram_chat_id, "chats", dialect))
    for dialect in DIALECTS
}


def chat_people(session: Session, *, telegram_chat_ids: Iterable[int]) -> dict[int, ChatPerson]:
    """The stored customer of each of these Telegram chats that has one, by chat id."""
    chats = list(set(telegram_chat_ids))
    if not chats:
        return {}
    rows = session.connection().execute(_PEOPLE[dialect_of(session)], {"chats": chats}).all()
    return {row[6]: ChatPerson(*row) for row in rows}


def get_customer(session: Session, *, telegram_user_id: int) -> Customer | None:
    return session.scalar(select(Customer).where(Customer.telegram_user_id == telegram_user_id))


def set_preferred_language(session: Session, *, customer_id: int, language: str | None) -> Customer:
    """Set the reply-language preference; ``None`` means detect it from each message."""
    if language is not None and language not in PREFERRED_LANGUAGES:
        raise InvalidValue(f"unknown reply language {language!r}; use bn, en or banglish")
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise NotFound(f"no customer with id {customer_id}")
    customer.preferred_language = language
    session.flush()
    return customer


def upsert_chat(
    session: Session,
    *,
    telegram_chat_id: int,
    type: str = "private",
    customer_id: int | None = None,
) -> Chat:
    """The chat with this Telegram chat id, created if new."""
    chat = session.scalar(select(Chat).where(Chat.telegram_chat_id == telegram_chat_id))
    if chat is None:
        chat = Chat(telegram_chat_id=telegram_chat_id, type=type, customer_id=customer_id)
        session.add(chat)
        session.flush()
    elif customer_id is not None and chat.customer_id is None:
        chat.customer_id = customer_id
        session.flush()
    return chat


def get_chat(session: Session, *, telegram_chat_id: int) -> Chat | None:
    return session.scalar(select(Chat).where(Chat.telegram_chat_id == telegram_chat_id))


def add_message(
    session: Session,
    *,
    chat_id: int,
    direction: str,
    text: str,
    language: str | None = None,
    customer_id: int | None = None,
    telegram_message_id: int | None = None,
) -> Message:
    """Store one message. An inbound Telegram message already stored is returned as it is.

    One ``INSERT … RETURNING`` (``ON CONFLICT DO NOTHING`` for a Telegram message that may
    have been stored before): this runs twice for every answered message.
    """
    if direction not in DIRECTIONS:
        raise InvalidValue(f"direction must be 'in' or 'out', not {direction!r}")
    if language is not None and language not in LANGUAGES:
        raise InvalidValue(f"unknown language label {language!r}")
    values = {
        "chat_id": chat_id,
        "direction": direction,
        "text": text,
        "language": language,
        "customer_id": customer_id,
        "telegram_message_id": telegram_message_id,
        "created_at": utcnow(),
    }
    statement = _insert(session, Message)
    if telegram_message_id is not None:
        statement = statement.on_conflict_do_nothing(
            index_elements=["chat_id", "direction", "telegram_message_id"]
        )
    try:
        message = session.scalars(statement.returning(Message), [values]).first()
    except IntegrityError as exc:  # the foreign key: no such chat
        raise NotFound(f"no chat with id {chat_id}") from exc
    if message is None:  # stored before (a redelivery, or a retry after a crash)
        existing = find_message(
            session,
            chat_id=chat_id,
            direction=direction,
            telegram_message_id=telegram_message_id or 0,
        )
        assert existing is not None
        return existing
    if language in REGISTERS and direction == "in":
        chat = session.get(Chat, chat_id)
        if chat is not None and chat.last_language != language:
            chat.last_language = language
    return message


def _insert(session: Session, model: type[Any]) -> Any:
    """The dialect's INSERT (PostgreSQL and SQLite both know ``ON CONFLICT``)."""
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model)


def recent_messages(session: Session, *, chat_id: int, limit: int = 10) -> list[Message]:
    """The chat's last ``limit`` messages, oldest first."""
    rows = session.scalars(
        select(Message)
        .where(Message.chat_id == chat_id)
        .order_by(Message.created_at.desc(), Message.id.desc())
        .limit(limit)
    ).all()
    return list(reversed(rows))


def set_telegram_message_id(session: Session, *, message_id: int, telegram_message_id: int) -> None:
    """Record the id Telegram gave an outbound message once it was sent."""
    message = session.get(Message, message_id)
    if message is None:
        raise NotFound(f"no message with id {message_id}")
    message.telegram_message_id = telegram_message_id
    session.flush()


def record_sent_ids(session: Session, sent: Sequence[tuple[int, int]]) -> None:
    """Record ``(message id, Telegram message id)`` of several sent messages in one statement."""
    if not sent:
        return
    if dialect_of(session) == "postgresql":  # one statement, not one per message
        latest = dict(sent)  # a message named twice gets its last id, as one by one would
        session.connection().execute(
            _PG_SENT_IDS, {"ids": list(latest), "tg": list(latest.values())}
        )
        return
    session.execute(
        update(Message),
        [{"id": message_id, "telegram_message_id": tg_id} for message_id, tg_id in sent],
    )


_PG_SENT_IDS = text(
    "UPDATE messages SET telegram_message_id = s.tg"
    " FROM unnest(CAST(:ids AS INTEGER[]), CAST(:tg AS BIGINT[])) AS s(id, tg)"
    " WHERE messages.id = s.id"
)


def add_reply(
    session: Session,
    *,
    message_id: int,
    source: str,
    question_message_id: int | None = None,
    prompt: str = "",
    adapter_id: int | None = None,
    latency_ms: float = 0.0,
    prompt_tokens: int = 0,
    completion_tokens: int = 0,
    flagged: bool = False,
) -> BotReply:
    """Describe how an outbound message was produced."""
    if source not in REPLY_SOURCES:
        raise InvalidValue(f"unknown reply source {source!r}")
    values = {
        "message_id": message_id,
        "question_message_id": question_message_id,
        "prompt": prompt,
        "adapter_id": adapter_id,
        "source": source,
        "latency_ms": latency_ms,
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "flagged": flagged,
        "review": "unreviewed",
        "created_at": utcnow(),
    }
    if session.get(Message, message_id) is None:  # just stored: found without a query
        raise NotFound(f"no message with id {message_id}")
    try:
        return session.scalars(insert(BotReply).returning(BotReply), [values]).one()
    except IntegrityError as exc:
        raise InvalidValue(f"message {message_id} already has a reply record") from exc


def get_reply(session: Session, *, reply_id: int) -> BotReply | None:
    return session.get(BotReply, reply_id)


def reply_texts(session: Session, *, reply_id: int) -> tuple[str, str]:
    """The customer's question and the bot's answer of a reply."""
    reply = session.get(BotReply, reply_id)
    if reply is None:
        raise NotFound(f"no reply with id {reply_id}")
    answer = session.get(Message, reply.message_id)
    question = (
        session.get(Message, reply.question_message_id) if reply.question_message_id else None
    )
    return (question.text if question else "", answer.text if answer else "")


def flag_reply(session: Session, *, reply_id: int, flagged: bool = True) -> BotReply:
    reply = session.get(BotReply, reply_id)
    if reply is None:
        raise NotFound(f"no reply with id {reply_id}")
    reply.flagged = flagged
    session.flush()
    return reply


def pending_replies(session: Session, *, limit: int = 10, offset: int = 0) -> Sequence[BotReply]:
    """Flagged replies no agent has approved or corrected yet, newest first."""
    return session.scalars(
        select(BotReply)
        .where(BotReply.flagged.is_(True), BotReply.review == "unreviewed")
        .order_by(BotReply.created_at.desc(), BotReply.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()


def add_feedback(session: Session, *, reply_id: int, customer_id: int, value: int) -> Feedback:
    """Record 👍 (+1) or 👎 (-1); a 👎 flags the reply for agents. The latest press counts."""
    if value not in (-1, 1):
        raise InvalidValue("feedback must be +1 or -1")
    reply = session.get(BotReply, reply_id)
    if reply is None:
        raise NotFound(f"no reply with id {reply_id}")
    feedback = session.scalar(
        select(Feedback).where(Feedback.reply_id == reply_id, Feedback.customer_id == customer_id)
    )
    if feedback is None:
        feedback = Feedback(reply_id=reply_id, customer_id=customer_id, value=value)
        session.add(feedback)
    else:
        feedback.value = value
    if value < 0:
        reply.flagged = True
    session.flush()
    return feedback


def find_customer(session: Session, *, ref: str) -> Customer | None:
    """A customer by numeric Telegram user id or by ``@username`` (for agents' lookups)."""
    ref = ref.strip()
    if ref.lstrip("-").isdecimal():
        user_id = int(ref)
        # A number past the column's range names nobody (and would make the driver raise).
        if abs(user_id) > MAX_BIGINT:
            return None
        return get_customer(session, telegram_user_id=user_id)
    username = ref.removeprefix("@")
    if not username:
        return None
    return session.scalar(
        select(Customer).where(func.lower(Customer.username) == username.lower()).limit(1)
    )


def customer_messages(session: Session, *, customer_id: int, limit: int = 20) -> list[Message]:
    """The last ``limit`` messages of every chat of a customer, oldest first."""
    rows = session.scalars(
        select(Message)
        .join(Chat, Chat.id == Message.chat_id)
        .where(Chat.customer_id == customer_id)
        .order_by(Message.created_at.desc(), Message.id.desc())
        .limit(limit)
    ).all()
    return list(reversed(rows))


def count_pending_replies(session: Session) -> int:
    """How many flagged replies wait for an agent (what ``pending_replies`` pages through)."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(BotReply)
            .where(BotReply.flagged.is_(True), BotReply.review == "unreviewed")
        )
        or 0
    )


def find_message(
    session: Session, *, chat_id: int, direction: str, telegram_message_id: int
) -> Message | None:
    """The stored message with this Telegram message id in a chat, if any."""
    return session.scalar(
        select(Message).where(
            Message.chat_id == chat_id,
            Message.direction == direction,
            Message.telegram_message_id == telegram_message_id,
        )
    )
