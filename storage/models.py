"""SQLAlchemy 2 typed declarative models: the whole schema of uttor.

Alembic (``migrations/``) is the only way these tables are created; a test checks that the
models and the migrated schema never drift apart.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

# Named constraints let Alembic drop and recreate them (SQLite batch mode needs names).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Reply languages a customer may choose, the registers answered in kind, and every stored
# language label. model/text/languages.py spells them for the rest of the code; storage imports
# nothing of ours, so it keeps this copy (tests/model/test_languages.py keeps the two equal).
PREFERRED_LANGUAGES = ("bn", "en", "banglish")
REGISTERS = (*PREFERRED_LANGUAGES, "mixed")
LANGUAGES = (*REGISTERS, "other", "und")
ROLES = ("agent", "operator")
DIRECTIONS = ("in", "out")
REPLY_SOURCES = ("model", "memory", "knowledge", "unsure", "fallback", "agent", "system")
REVIEW_STATES = ("unreviewed", "approved", "corrected")
CORRECTION_STATES = ("active", "superseded", "rejected")
ADAPTER_STATES = ("candidate", "active", "retired", "rejected")
RUN_STATES = ("running", "succeeded", "failed", "interrupted")
#: Largest primary key: ``Integer`` columns are 32-bit on PostgreSQL. An id typed by a person
#: above this matches no row, and passing it to the driver would raise instead.
MAX_ROW_ID = 2**31 - 1
#: Largest magnitude of a ``BigInteger`` (Telegram user and chat ids).
MAX_BIGINT = 2**63 - 1


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python.

    SQLite has no time zones and hands back naive datetimes; PostgreSQL keeps them. Normalizing
    here means comparisons never mix naive and aware values.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _one_of(column: str, values: tuple[str, ...], name: str) -> CheckConstraint:
    quoted = ", ".join(f"'{v}'" for v in values)
    return CheckConstraint(f"{column} IN ({quoted})", name=name)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON()}


class Customer(Base):
    """A Telegram user who writes to the bot."""

    __tablename__ = "customers"
    __table_args__ = (_one_of("preferred_language", PREFERRED_LANGUAGES, "preferred_language"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    telegram_user_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    display_name: Mapped[str] = mapped_column(String(256), default="")
    username: Mapped[str | None] = mapped_column(String(64))
    preferred_language: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Chat(Base):
    """A Telegram chat; ``mode`` is ``human`` while an agent has taken it over."""

    __tablename__ = "chats"
    __table_args__ = (_one_of("mode", ("bot", "human"), "mode"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    telegram_chat_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    type: Mapped[str] = mapped_column(String(16), default="private")
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    mode: Mapped[str] = mapped_column(String(8), default="bot")
    last_language: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Message(Base):
    """Every inbound and outbound text of a chat."""

    __tablename__ = "messages"
    __table_args__ = (
        _one_of("direction", DIRECTIONS, "direction"),
        # An update delivered twice by Telegram is stored once.
        UniqueConstraint("chat_id", "direction", "telegram_message_id", name="uq_messages_tg"),
        Index("ix_messages_chat_created", "chat_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chat_id: Mapped[int] = mapped_column(ForeignKey("chats.id"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    direction: Mapped[str] = mapped_column(String(3))
    text: Mapped[str] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(16))
    telegram_message_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Adapter(Base):
    """A LoRA adapter in the registry; at most one is ``active`` at a time."""

    __tablename__ = "adapters"
    __table_args__ = (_one_of("status", ADAPTER_STATES, "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[str] = mapped_column(String(64), unique=True)
    path: Mapped[str] = mapped_column(String(1024))
    base_model: Mapped[str] = mapped_column(String(1024))
    status: Mapped[str] = mapped_column(String(16), default="candidate", index=True)
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    reason: Mapped[str | None] = mapped_column(Text)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("adapters.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    promoted_at: Mapped[datetime | None] = mapped_column()
    base_fingerprint: Mapped[str | None] = mapped_column(String(128))
    """Hash of the base model's config and tokenizer the adapter was trained on."""


class BotReply(Base):
    """What the bot answered to an inbound message, and how."""

    __tablename__ = "bot_replies"
    __table_args__ = (
        _one_of("source", REPLY_SOURCES, "source"),
        _one_of("review", REVIEW_STATES, "review"),
        Index("ix_bot_replies_flagged_review", "flagged", "review"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), unique=True)
    question_message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"), index=True)
    prompt: Mapped[str] = mapped_column(Text, default="")
    adapter_id: Mapped[int | None] = mapped_column(ForeignKey("adapters.id"), index=True)
    source: Mapped[str] = mapped_column(String(16))
    latency_ms: Mapped[float] = mapped_column(Float, default=0.0)
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    review: Mapped[str] = mapped_column(String(16), default="unreviewed")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Feedback(Base):
    """A customer's 👍 (+1) or 👎 (-1) on a reply; the latest press counts."""

    __tablename__ = "feedback"
    __table_args__ = (
        CheckConstraint("value IN (-1, 1)", name="value"),
        UniqueConstraint("reply_id", "customer_id", name="uq_feedback_reply_customer"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reply_id: Mapped[int] = mapped_column(ForeignKey("bot_replies.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    value: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RetrainRun(Base):
    """One run of the retrain pipeline, nightly or by hand."""

    __tablename__ = "retrain_runs"
    __table_args__ = (_one_of("status", RUN_STATES, "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trigger: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="running", index=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column()
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    decision: Mapped[str | None] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(Text)
    report_path: Mapped[str | None] = mapped_column(String(1024))
    error: Mapped[str | None] = mapped_column(Text)
    candidate_adapter_id: Mapped[int | None] = mapped_column(ForeignKey("adapters.id"))
    pid: Mapped[int | None] = mapped_column(Integer)
    host: Mapped[str | None] = mapped_column(String(256))


class Correction(Base):
    """An agent's corrected answer to a bot reply; only ``active`` ones are used."""

    __tablename__ = "corrections"
    __table_args__ = (
        _one_of("status", CORRECTION_STATES, "status"),
        Index("ix_corrections_reply_status", "reply_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reply_id: Mapped[int] = mapped_column(ForeignKey("bot_replies.id"))
    agent_user_id: Mapped[int] = mapped_column(BigInteger, index=True)
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="active", index=True)
    retrain_run_id: Mapped[int | None] = mapped_column(ForeignKey("retrain_runs.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    personal: Mapped[bool] = mapped_column(default=False, server_default=false())
    """For that reply only: never reused for another customer (still a training pair, redacted)."""


class Staff(Base):
    """Who may use agent and operator commands, by numeric Telegram user id."""

    __tablename__ = "staff"
    __table_args__ = (_one_of("role", ROLES, "role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    telegram_user_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    role: Mapped[str] = mapped_column(String(16))
    display_name: Mapped[str] = mapped_column(String(256), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Handoff(Base):
    """A stretch of time in which a human agent, not the bot, answers a chat."""

    __tablename__ = "handoffs"
    __table_args__ = (Index("ix_handoffs_chat_ended", "chat_id", "ended_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chat_id: Mapped[int] = mapped_column(ForeignKey("chats.id"))
    agent_user_id: Mapped[int | None] = mapped_column(BigInteger)
    requested_by: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column()
    end_reason: Mapped[str | None] = mapped_column(String(32))


class HandoffPair(Base):
    """A customer question and the agent's answer during a handoff: training material."""

    __tablename__ = "handoff_pairs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    handoff_id: Mapped[int] = mapped_column(ForeignKey("handoffs.id"), index=True)
    question_message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"))
    answer_message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), unique=True)
    agent_user_id: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    excluded: Mapped[bool] = mapped_column(default=False, server_default=false())
    """An agent took it out of training (``/exclude``); the messages stay in the chat log."""


class AuditLog(Base):
    """Who did what to what, and when; refusals included."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_action_created", "action", "created_at"),
        # knowledge_stamp reads max(id) of some actions before every lookup (migration 0006).
        Index("ix_audit_log_action_id", "action", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    actor_user_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str | None] = mapped_column(String(32))
    target_id: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Lease(Base):
    """A named lock with an expiry, for databases without advisory locks (SQLite)."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(256))
    acquired_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()


class Knowledge(Base):
    """A question and its approved answer from a knowledge base (the shipped FAQ by default).

    Correction memory searches these after agents' corrections, so a fresh bot answers the
    company's frequent questions word for word before any adapter is trained.
    """

    __tablename__ = "knowledge"
    __table_args__ = (UniqueConstraint("source", "question", name="uq_knowledge_source_question"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(64), default="shipped")
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(16))
    topic: Mapped[str | None] = mapped_column(String(64))
    """What the entry is about; entries of one topic answer it in each register."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


#: Rate-limit verdicts kept on inbox rows (see ``storage/inbox.py``).
VERDICTS = ("allow", "note", "drop")


class InboxUpdate(Base):
    """A Telegram update as it arrived: stored before Telegram is told, handled exactly once.

    Unique by Telegram's ``update_id``, so a redelivered update is stored once. A worker
    claims a row (``claimed_by`` until ``claimed_until``) and marks it ``done_at``; the
    payload is dropped then, the row is kept a day so that late redeliveries stay duplicates.
    """

    __tablename__ = "inbox"
    __table_args__ = (
        _one_of("verdict", VERDICTS, "verdict"),
        Index("ix_inbox_chat_update", "chat_key", "update_id"),
        Index("ix_inbox_done_update", "done_at", "update_id"),
    )

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    chat_key: Mapped[int] = mapped_column(BigInteger)
    """The Telegram chat the update belongs to (0: none); one chat's updates run in order."""
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(128))
    claimed_until: Mapped[datetime | None] = mapped_column()
    done_at: Mapped[datetime | None] = mapped_column()
    verdict: Mapped[str | None] = mapped_column(String(8))
    """The per-customer rate limit's verdict on this update, counted by later ones."""
