"""The conversation log of many chats at once: questions in, replies out, set-based.

The pipeline stores two things for every answered message: the customer's question (reading
the chat's recent turns and language first) and then the reply with its record. Written one
message at a time that is a dozen statements and two transactions each, which made the
database path CPU-bound at a few hundred messages a second. These functions do the same for a
whole batch of messages, of different chats, in a handful of statements: each statement's cost
is shared by the batch (:class:`storage.batching.GroupCommit` collects the batches).

A batch holds at most one message per chat: a chat's messages are answered one after another,
and a later one must see the earlier one in its history.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, text, update
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from storage.arrays import DIALECTS, dialect_of, one_of
from storage.errors import InvalidValue, NotFound
from storage.models import (
    LANGUAGES,
    REGISTERS,
    REPLY_SOURCES,
    BotReply,
    Chat,
    Customer,
    Message,
    UTCDateTime,
    utcnow,
)

__all__ = ["Inbound", "Outbound", "Past", "Received", "receive_many", "store_replies"]

_messages = Message.__table__
_chats = Chat.__table__
_customers = Customer.__table__
_replies = BotReply.__table__


@dataclass(frozen=True)
class Inbound:
    """A customer's message to store."""

    chat_id: int
    customer_id: int | None
    text: str
    language: str | None
    telegram_message_id: int | None = None


@dataclass(frozen=True)
class Past:
    """One earlier message of a chat."""

    id: int
    direction: str
    text: str


@dataclass(frozen=True)
class Received:
    """An inbound message stored, with what answering it needs."""

    message_id: int
    last_language: str | None
    """The chat's last routed language before this message."""
    preferred_language: str | None
    """The customer's reply-language preference (``None``: detect)."""
    history: list[Past]
    """The chat's last messages before this one, oldest first."""


@dataclass(frozen=True)
class Outbound:
    """A reply to store, with its record (how it was made)."""

    chat_id: int
    customer_id: int | None
    text: str
    language: str | None
    question_message_id: int | None
    source: str
    prompt: str = ""
    adapter_id: int | None = None
    latency_ms: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    flagged: bool = False


# A Telegram message stored before is skipped (and looked up).
_SQLITE_QUESTIONS = (
    sqlite.insert(_messages)
    .on_conflict_do_nothing(index_elements=["chat_id", "direction", "telegram_message_id"])
    .returning(_messages.c.chat_id, _messages.c.id)
)
_SQLITE_ANSWERS = insert(_messages).returning(_messages.c.chat_id, _messages.c.id)
_SQLITE_REPLIES = insert(_replies).returning(_replies.c.message_id, _replies.c.id)

_LAST = {
    dialect: select(_chats.c.id, _chats.c.last_language).where(one_of(_chats.c.id, "ids", dialect))
    for dialect in DIALECTS
}
_PREFERRED = {
    dialect: select(_customers.c.id, _customers.c.preferred_language).where(
        one_of(_customers.c.id, "ids", dialect)
    )
    for dialect in DIALECTS
}

# PostgreSQL gets a batch's rows as one JSON parameter (``json_to_recordset``, the fields of
# :class:`Inbound` or :class:`Outbound` by name): one short SQL text whatever the batch's size,
# prepared after a few calls, where a multi-row VALUES list was a new text of up to 20 kB for
# each size, parsed by psycopg and planned by the server. JSON rather than an array per
# column: ``json.dumps`` is C, psycopg's array dumping escapes element by element in Python.
_NOW = bindparam("now", type_=UTCDateTime())
_PG_QUESTIONS = text(
    "INSERT INTO messages"
    " (chat_id, direction, text, language, customer_id, telegram_message_id, created_at)"
    " SELECT r.chat_id, 'in', r.text, r.language, r.customer_id, r.telegram_message_id, :now"
    " FROM json_to_recordset(CAST(:rows AS JSON)) AS r(chat_id INTEGER, text TEXT,"
    "  language VARCHAR, customer_id INTEGER, telegram_message_id BIGINT)"
    " ON CONFLICT (chat_id, direction, telegram_message_id) DO NOTHING"
    " RETURNING chat_id, id"
).bindparams(_NOW)
# The replies and their records in one statement: the records join the new messages by chat
# (a batch holds one message per chat).
_PG_REPLIES = text(
    "WITH r AS (SELECT * FROM json_to_recordset(CAST(:rows AS JSON)) AS r(chat_id INTEGER,"
    "  text TEXT, language VARCHAR, customer_id INTEGER, question_message_id INTEGER,"
    "  prompt TEXT, adapter_id INTEGER, source VARCHAR, latency_ms FLOAT8,"
    "  prompt_tokens INTEGER, completion_tokens INTEGER, flagged BOOLEAN)),"
    " m AS (INSERT INTO messages (chat_id, direction, text, language, customer_id, created_at)"
    "  SELECT chat_id, 'out', text, language, customer_id, :now FROM r"
    "  RETURNING chat_id, id),"
    " b AS (INSERT INTO bot_replies (message_id, question_message_id, prompt, adapter_id,"
    "  source, latency_ms, prompt_tokens, completion_tokens, flagged, review, created_at)"
    "  SELECT m.id, r.question_message_id, r.prompt, r.adapter_id, r.source, r.latency_ms,"
    "  r.prompt_tokens, r.completion_tokens, r.flagged, 'unreviewed', :now"
    "  FROM r JOIN m ON m.chat_id = r.chat_id RETURNING message_id, id)"
    " SELECT m.chat_id, b.id, b.message_id FROM b JOIN m ON m.id = b.message_id"
).bindparams(_NOW)


def _rows(items: Sequence[Inbound] | Sequence[Outbound], now: datetime) -> dict[str, Any]:
    """The parameters of ``_PG_QUESTIONS`` or ``_PG_REPLIES``: every field by name."""
    return {"rows": json.dumps([vars(item) for item in items]), "now": now}


def _one_per_chat(items: Sequence[Inbound] | Sequence[Outbound]) -> None:
    if len({item.chat_id for item in items}) != len(items):
        raise InvalidValue("a batch holds at most one message per chat")


def receive_many(session: Session, items: Sequence[Inbound], *, history: int) -> list[Received]:
    """Store inbound messages of different chats; each comes back with its chat's context.

    An inbound Telegram message stored before (a redelivery, or a retry after a crash) is
    not stored again: its first copy is returned. Raises :class:`NotFound` for a chat that
    does not exist.
    """
    if not items:
        return []
    _one_per_chat(items)
    for item in items:
        if item.language is not None and item.language not in LANGUAGES:
            raise InvalidValue(f"unknown language label {item.language!r}")
    connection = session.connection()
    dialect = dialect_of(session)
    chat_ids = [item.chat_id for item in items]
    last = dict(connection.execute(_LAST[dialect], {"ids": chat_ids}).all())
    if missing := [c for c in chat_ids if c not in last]:
        raise NotFound(f"no chat with id {missing[0]}")
    customer_ids = list({item.customer_id for item in items if item.customer_id is not None})
    preferred = (
        dict(connection.execute(_PREFERRED[dialect], {"ids": customer_ids}).all())
        if customer_ids
        else {}
    )
    earlier = _recent(connection, chat_ids, history) if history > 0 else {}
    now = utcnow()
    if dialect == "postgresql":
        stored = dict(connection.execute(_PG_QUESTIONS, _rows(items, now)).all())
    else:
        rows = [
            {
                "chat_id": item.chat_id,
                "direction": "in",
                "text": item.text,
                "language": item.language,
                "customer_id": item.customer_id,
                "telegram_message_id": item.telegram_message_id,
                "created_at": now,
            }
            for item in items
        ]
        # Many rows, one fixed statement: SQLAlchemy sends them as multi-row INSERTs.
        stored = dict(connection.execute(_SQLITE_QUESTIONS, rows).all())
    changed = []
    for item in items:
        if item.chat_id not in stored:  # stored before: find the first copy
            stored[item.chat_id] = connection.execute(
                select(_messages.c.id).where(
                    _messages.c.chat_id == item.chat_id,
                    _messages.c.direction == "in",
                    _messages.c.telegram_message_id == item.telegram_message_id,
                )
            ).scalar_one()
        elif item.language in REGISTERS and last[item.chat_id] != item.language:
            changed.append({"chat": item.chat_id, "language": item.language})
    if changed:
        connection.execute(
            update(_chats)
            .where(_chats.c.id == bindparam("chat"))
            .values(last_language=bindparam("language")),
            changed,
        )
    return [
        Received(
            message_id=stored[item.chat_id],
            last_language=last[item.chat_id],
            preferred_language=preferred.get(item.customer_id),
            history=[p for p in earlier.get(item.chat_id, []) if p.id != stored[item.chat_id]],
        )
        for item in items
    ]


#: Each chat's last messages: one index range per chat, in one fixed statement (compiled
#: once, whatever the batch's size).
_RECENT = {
    "postgresql": text(
        "SELECT c.id, m.id, m.direction, m.text"
        " FROM unnest(CAST(:chats AS INTEGER[])) AS c(id) CROSS JOIN LATERAL ("
        "  SELECT id, direction, text, created_at FROM messages WHERE chat_id = c.id"
        "  ORDER BY created_at DESC, id DESC LIMIT :limit) AS m"
        " ORDER BY c.id, m.created_at, m.id"
    ),
    "sqlite": text(
        "SELECT c.value, m.id, m.direction, m.text"
        " FROM json_each(:chats) AS c JOIN messages AS m ON m.id IN ("
        "  SELECT x.id FROM messages AS x WHERE x.chat_id = c.value"
        "  ORDER BY x.created_at DESC, x.id DESC LIMIT :limit)"
        " ORDER BY c.value, m.created_at, m.id"
    ),
}


def _recent(connection: Any, chat_ids: list[int], limit: int) -> dict[int, list[Past]]:
    """Each chat's last ``limit`` messages, oldest first."""
    dialect = connection.dialect.name
    chats: Any = json.dumps(chat_ids) if dialect == "sqlite" else chat_ids
    found: dict[int, list[Past]] = {}
    # Fetched at once: iterating the result would fetch (and check) row by row.
    rows = connection.execute(_RECENT[dialect], {"chats": chats, "limit": limit}).all()
    for chat_id, message_id, direction, body in rows:
        found.setdefault(chat_id, []).append(Past(message_id, direction, body))
    return found


def store_replies(session: Session, items: Sequence[Outbound]) -> list[tuple[int, int]]:
    """Store replies of different chats and their records; ``(reply id, message id)`` each."""
    if not items:
        return []
    _one_per_chat(items)
    for item in items:
        if item.source not in REPLY_SOURCES:
            raise InvalidValue(f"unknown reply source {item.source!r}")
        if item.language is not None and item.language not in LANGUAGES:
            raise InvalidValue(f"unknown language label {item.language!r}")
    connection = session.connection()
    now = utcnow()
    if dialect_of(session) == "postgresql":
        rows = connection.execute(_PG_REPLIES, _rows(items, now)).all()
        stored = {chat: (reply, message) for chat, reply, message in rows}
        return [stored[item.chat_id] for item in items]
    answers = [
        {
            "chat_id": item.chat_id,
            "direction": "out",
            "text": item.text,
            "language": item.language,
            "customer_id": item.customer_id,
            "telegram_message_id": None,
            "created_at": now,
        }
        for item in items
    ]
    messages = dict(connection.execute(_SQLITE_ANSWERS, answers).all())
    records = [
        {
            "message_id": messages[item.chat_id],
            "question_message_id": item.question_message_id,
            "prompt": item.prompt,
            "adapter_id": item.adapter_id,
            "source": item.source,
            "latency_ms": item.latency_ms,
            "prompt_tokens": item.prompt_tokens,
            "completion_tokens": item.completion_tokens,
            "flagged": item.flagged,
            "review": "unreviewed",
            "created_at": now,
        }
        for item in items
    ]
    replies = dict(connection.execute(_SQLITE_REPLIES, records).all())
    return [(replies[messages[item.chat_id]], messages[item.chat_id]) for item in items]
