"""The rate-limit windows of chats, read from their updates in the inbox (``storage/inbox.py``).

The rate limit (``bot/ratelimit.py``) judges an update by the verdicts on its chat's earlier
updates within a window: how many were answered, and whether the customer was already told
they are over the limit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import and_, case, func, or_, select, text
from sqlalchemy.orm import Session

from storage.arrays import dialect_of
from storage.models import InboxUpdate

__all__ = ["Claim", "RateWindow", "rate_window", "rate_windows"]


class Claim(Protocol):
    """What the windows need of a claimed update (``storage.inbox.Claimed``)."""

    @property
    def update_id(self) -> int: ...
    @property
    def chat_key(self) -> int: ...
    @property
    def received_at(self) -> datetime: ...


@dataclass(frozen=True)
class RateWindow:
    """What the rate limit needs of one chat's recent updates."""

    allowed: int
    """Updates answered within the window."""
    noted: bool
    """The customer was told they are over the limit since the last answered update."""


def rate_window(
    session: Session, *, chat_key: int, update_id: int, received_at: datetime, window: timedelta
) -> RateWindow:
    """The chat's verdicts on updates received within ``window`` before ``received_at``."""
    allow = InboxUpdate.verdict == "allow"
    row = session.execute(
        select(
            func.coalesce(func.sum(case((allow, 1), else_=0)), 0),
            func.max(case((allow, InboxUpdate.update_id))),
            func.max(case((InboxUpdate.verdict == "note", InboxUpdate.update_id))),
        ).where(
            InboxUpdate.chat_key == chat_key,
            InboxUpdate.update_id != update_id,
            InboxUpdate.received_at <= received_at,
            InboxUpdate.received_at > received_at - window,
        )
    ).one()
    allowed, last_allowed, last_noted = row
    noted = last_noted is not None and (last_allowed is None or last_noted > last_allowed)
    return RateWindow(allowed=int(allowed or 0), noted=noted)


def rate_windows(
    session: Session, claimed: Sequence[Claim], *, window: timedelta
) -> dict[int, RateWindow]:
    """:func:`rate_window` of each claimed update (one per chat), in one query for all.

    Read when they are claimed: every earlier update of their chats is done by then (a
    chat's next update is claimable only then), so its verdict is written.
    """
    if not claimed:
        return {}
    if len({c.chat_key for c in claimed}) != len(claimed):
        raise ValueError("rate windows are read for one claimed update per chat")
    if dialect_of(session) == "postgresql":
        rows = (
            session.connection()
            .execute(
                _PG_WINDOWS,
                {
                    "chats": [c.chat_key for c in claimed],
                    "updates": [c.update_id for c in claimed],
                    "untils": [c.received_at for c in claimed],
                    "froms": [c.received_at - window for c in claimed],
                },
            )
            .all()
        )
    else:
        rows = _sqlite_windows(session, claimed, window)
    found = {
        chat_key: RateWindow(
            allowed=int(allowed or 0),
            noted=last_noted is not None and (last_allowed is None or last_noted > last_allowed),
        )
        for chat_key, allowed, last_allowed, last_noted in rows
    }
    empty = RateWindow(allowed=0, noted=False)
    return {c.update_id: found.get(c.chat_key, empty) for c in claimed}


# One fixed statement for any number of chats (see storage/arrays.py): each claimed update's
# chat, joined with that chat's updates in its window.
_PG_WINDOWS = text(
    "SELECT c.chat, coalesce(sum(CASE WHEN i.verdict = 'allow' THEN 1 ELSE 0 END), 0),"
    " max(CASE WHEN i.verdict = 'allow' THEN i.update_id END),"
    " max(CASE WHEN i.verdict = 'note' THEN i.update_id END)"
    " FROM unnest(CAST(:chats AS BIGINT[]), CAST(:updates AS BIGINT[]),"
    "  CAST(:untils AS TIMESTAMPTZ[]), CAST(:froms AS TIMESTAMPTZ[])) AS c(chat, id, until, since)"
    " JOIN inbox AS i ON i.chat_key = c.chat AND i.update_id <> c.id"
    "  AND i.received_at <= c.until AND i.received_at > c.since"
    " GROUP BY c.chat"
)


def _sqlite_windows(session: Session, claimed: Sequence[Claim], window: timedelta) -> Sequence[Any]:
    allow = InboxUpdate.verdict == "allow"
    return session.execute(
        select(
            InboxUpdate.chat_key,
            func.coalesce(func.sum(case((allow, 1), else_=0)), 0),
            func.max(case((allow, InboxUpdate.update_id))),
            func.max(case((InboxUpdate.verdict == "note", InboxUpdate.update_id))),
        )
        .where(
            or_(
                *(
                    and_(
                        InboxUpdate.chat_key == c.chat_key,
                        InboxUpdate.update_id != c.update_id,
                        InboxUpdate.received_at <= c.received_at,
                        InboxUpdate.received_at > c.received_at - window,
                    )
                    for c in claimed
                )
            )
        )
        .group_by(InboxUpdate.chat_key)
    ).all()
