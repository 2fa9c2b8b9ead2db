"""What a handler knows of the inbox update it works on, and how updates are keyed.

The inbox worker (``bot/inbox.py``) sets a :class:`Job` for each update's task; a handler
reaches it through :func:`current_job`: the deadline counted from the update's arrival, the
attempt, and the slots for the books (rate-limit verdict, Telegram ids of answers sent) that
are written when the update is marked done.
"""

from __future__ import annotations

import os
import socket
import uuid
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from storage.conversations import ChatPerson
from storage.inbox import RateWindow

__all__ = [
    "ClaimLost",
    "Job",
    "bind",
    "chat_key_of",
    "current_job",
    "instance_id",
    "unbind",
]

#: Kinds of update that belong to a chat; anything else is ordered under chat key 0.
_CHAT_KINDS = ("message", "edited_message", "channel_post", "edited_channel_post")


def instance_id() -> str:
    """``host:pid:random``: names this process in claims and leases (unique per start)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def chat_key_of(data: dict[str, Any]) -> int:
    """The Telegram chat an update (as JSON) belongs to; 0 when it has none."""

    def chat_id(message: Any) -> int | None:
        chat = message.get("chat") if isinstance(message, dict) else None
        value = chat.get("id") if isinstance(chat, dict) else None
        return value if isinstance(value, int) else None

    for kind in _CHAT_KINDS:
        if (found := chat_id(data.get(kind))) is not None:
            return found
    query = data.get("callback_query")
    if isinstance(query, dict):
        if (found := chat_id(query.get("message"))) is not None:
            return found
        user = query.get("from")
        if isinstance(user, dict) and isinstance(user.get("id"), int):
            return int(user["id"])
    if (found := chat_id(data.get("my_chat_member"))) is not None:
        return found
    return 0


class ClaimLost(Exception):
    """Another process took this update over (this one's lease ran out): send nothing more."""


@dataclass(eq=False)
class Job:
    """One claimed update being handled, and what its handler leaves for the books."""

    update_id: int
    chat_key: int
    received_at: datetime
    attempts: int
    deadline: float
    """``time.monotonic()`` by which the model must have answered: the reply time limit from
    the update's arrival, less a moment for storing and sending (``bot.inbox.SEND_MARGIN_S``)."""
    valid_until: float
    """``time.monotonic()`` until which the claim is surely still this process's."""
    verdict: str | None = None
    """The rate limit's verdict (``allow``, ``note``, ``drop``), counted by later updates."""
    sent: list[tuple[int, int]] = field(default_factory=list)
    """(stored outbound message id, Telegram message id) of answers sent."""
    window: RateWindow | None = None
    """The chat's rate-limit verdicts in the minute before this update, read at its claim."""
    person: ChatPerson | None = None
    """The chat's customer as stored at the claim (``None``: not stored yet)."""
    retry: bool = False
    """Give the update back instead of marking it done (the database was unreachable)."""
    finished: bool = False
    lost: bool = False


_CURRENT: ContextVar[Job | None] = ContextVar("uttor_inbox_job", default=None)


def current_job() -> Job | None:
    """The update the running handler works on (``None`` outside the inbox worker)."""
    return _CURRENT.get()


def bind(job: Job | None) -> Any:
    """Make ``job`` the current one in this task; returns the token to :func:`unbind` with."""
    return _CURRENT.set(job)


def unbind(token: Any) -> None:
    _CURRENT.reset(token)
