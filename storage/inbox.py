"""The durable inbox: Telegram updates stored before they are acknowledged, handled once.

Every update is written here (unique by ``update_id``) before Telegram is told it arrived:
polling asks for the next batch only after the last one is committed, the webhook answers
200 only after the insert. Workers of every process that shares the database then claim
updates and mark them done:

* **per-chat order**: only the oldest unfinished update of a chat can be claimed, so a
  chat's updates run one after another whichever process takes them;
* **exactly one worker at a time**: a claim is a lease (``claimed_by`` until
  ``claimed_until``) that its worker renews while it works; on PostgreSQL the claiming
  ``SELECT … FOR UPDATE SKIP LOCKED`` keeps two workers from taking the same row at the same
  moment, on SQLite the write transaction (``BEGIN IMMEDIATE``) does;
* **crash recovery**: the lease of a killed worker runs out and its updates are claimed
  again (``attempts`` counts the tries), by the restarted process or by another replica.

Done rows lose their payload (the customer's text is in ``messages`` already) and are deleted
after :data:`KEEP_DONE`: Telegram picks update ids at random after a week without updates,
so a day is long enough to recognise a redelivery and short enough never to mistake a new
update for an old one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, delete, func, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased

from storage.arrays import dialect_of, one_of
from storage.models import InboxUpdate, utcnow

__all__ = [
    "KEEP_DONE",
    "Claimed",
    "RateWindow",
    "claim",
    "finish",
    "holders_with_claims",
    "pending_count",
    "prune",
    "rate_window",
    "rate_windows",
    "release",
    "release_holders",
    "renew",
    "store_updates",
]

#: How long a handled update is remembered (to recognise a redelivery of it).
KEEP_DONE = timedelta(days=1)


@dataclass(frozen=True)
class Claimed:
    """An update a worker now holds: what it needs to handle it."""

    update_id: int
    chat_key: int
    payload: dict[str, Any]
    received_at: datetime
    attempts: int
    """1 on the first try; more when an earlier worker died or gave it back."""


def _insert(session: Session) -> Any:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(InboxUpdate)
    if dialect == "sqlite":
        return sqlite.insert(InboxUpdate)
    raise NotImplementedError(f"the inbox needs PostgreSQL or SQLite, not {dialect}")


def store_updates(
    session: Session,
    updates: Iterable[tuple[int, int, dict[str, Any]]],
    *,
    received_at: datetime | None = None,
) -> None:
    """Store ``(update_id, chat_key, payload)`` rows; an update already stored is left alone."""
    at = received_at or utcnow()
    rows = [
        {
            "update_id": update_id,
            "chat_key": chat_key,
            "payload": payload,
            "received_at": at,
            "attempts": 0,
        }
        for update_id, chat_key, payload in updates
    ]
    if rows:
        statement = _insert(session).on_conflict_do_nothing(index_elements=["update_id"])
        session.execute(statement, rows)


def claim(
    session: Session, *, holder: str, limit: int, lease: timedelta, now: datetime | None = None
) -> list[Claimed]:
    """Claim up to ``limit`` updates, oldest first, at most one per chat; run in a write session.

    An update is claimable when it is not done, nobody holds a live claim on it, and no
    earlier update of its chat is unfinished.
    """
    if limit <= 0:
        return []
    now = now or utcnow()
    inbox, unfinished = InboxUpdate, aliased(InboxUpdate)
    # Each chat's oldest unfinished update: one pass over the unfinished rows, however deep
    # one chat's backlog is.
    heads = (
        select(func.min(unfinished.update_id))
        .where(unfinished.done_at.is_(None))
        .group_by(unfinished.chat_key)
    )
    candidates = (
        select(inbox.update_id)
        .where(
            inbox.update_id.in_(heads),
            # Again on the row itself: PostgreSQL re-checks these (not the subquery) on a row
            # another worker claimed or finished after this statement's snapshot was taken.
            inbox.done_at.is_(None),
            or_(inbox.claimed_until.is_(None), inbox.claimed_until < now),
        )
        .order_by(inbox.update_id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        # Another worker claiming at this moment skips these rows instead of taking them too.
        candidates = candidates.with_for_update(skip_locked=True, of=inbox)
    ids = list(session.scalars(candidates))
    if not ids:
        return []
    rows = session.execute(
        update(inbox)
        .where(one_of(inbox.update_id, "ids", dialect_of(session)))
        .values(claimed_by=holder, claimed_until=now + lease, attempts=inbox.attempts + 1)
        .returning(
            inbox.update_id, inbox.chat_key, inbox.payload, inbox.received_at, inbox.attempts
        ),
        {"ids": ids},
    ).all()
    claimed = [
        Claimed(
            update_id=row.update_id,
            chat_key=row.chat_key,
            payload=row.payload or {"update_id": row.update_id},
            received_at=row.received_at,
            attempts=row.attempts,
        )
        for row in rows
    ]
    return sorted(claimed, key=lambda c: c.update_id)


def renew(
    session: Session,
    *,
    holder: str,
    update_ids: Sequence[int],
    lease: timedelta,
    now: datetime | None = None,
) -> set[int]:
    """Extend ``holder``'s claims; returns the ids it still holds (the others were taken)."""
    if not update_ids:
        return set()
    now = now or utcnow()
    held = session.scalars(
        update(InboxUpdate)
        .where(
            one_of(InboxUpdate.update_id, "ids", dialect_of(session)),
            InboxUpdate.claimed_by == holder,
            InboxUpdate.done_at.is_(None),
        )
        .values(claimed_until=now + lease)
        .returning(InboxUpdate.update_id),
        {"ids": list(update_ids)},
    )
    return set(held)


def finish(
    session: Session,
    *,
    holder: str,
    verdicts: dict[int, str | None],
    now: datetime | None = None,
) -> set[int]:
    """Mark ``holder``'s updates done with their rate-limit verdicts; returns those marked.

    An update another worker has claimed since (this one's lease ran out) is not touched.
    """
    if not verdicts:
        return set()
    now = now or utcnow()
    done: set[int] = set()
    by_verdict: dict[str | None, list[int]] = {}
    for update_id, verdict in verdicts.items():
        by_verdict.setdefault(verdict, []).append(update_id)
    for verdict, ids in by_verdict.items():
        done |= set(
            session.scalars(
                update(InboxUpdate)
                .where(
                    one_of(InboxUpdate.update_id, "ids", dialect_of(session)),
                    InboxUpdate.claimed_by == holder,
                    InboxUpdate.done_at.is_(None),
                )
                .values(done_at=now, payload=None, claimed_until=None, verdict=verdict)
                .returning(InboxUpdate.update_id),
                {"ids": ids},
            )
        )
    return done


def release(session: Session, *, holder: str, update_ids: Sequence[int]) -> None:
    """Give claims back unfinished, to be claimed again at once (by anyone)."""
    if update_ids:
        session.execute(
            update(InboxUpdate)
            .where(
                one_of(InboxUpdate.update_id, "ids", dialect_of(session)),
                InboxUpdate.claimed_by == holder,
                InboxUpdate.done_at.is_(None),
            )
            .values(claimed_until=None),
            {"ids": list(update_ids)},
        )


def release_holders(session: Session, *, holders: Iterable[str]) -> int:
    """Free every unfinished claim of ``holders`` (processes known to be dead)."""
    names = list(holders)
    if not names:
        return 0
    result = session.execute(
        update(InboxUpdate)
        .where(InboxUpdate.claimed_by.in_(names), InboxUpdate.done_at.is_(None))
        .values(claimed_until=None)
    )
    return int(result.rowcount or 0)


def holders_with_claims(session: Session) -> list[str]:
    """Who holds unfinished claims (live or expired)."""
    return list(
        session.scalars(
            select(InboxUpdate.claimed_by)
            .where(InboxUpdate.done_at.is_(None), InboxUpdate.claimed_by.is_not(None))
            .distinct()
        )
    )


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
    session: Session, claimed: Sequence[Claimed], *, window: timedelta
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
        rows = session.execute(
            _PG_WINDOWS,
            {
                "chats": [c.chat_key for c in claimed],
                "updates": [c.update_id for c in claimed],
                "untils": [c.received_at for c in claimed],
                "froms": [c.received_at - window for c in claimed],
            },
        ).all()
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


def _sqlite_windows(
    session: Session, claimed: Sequence[Claimed], window: timedelta
) -> Sequence[Any]:
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


def pending_count(session: Session) -> int:
    """Updates stored and not yet done (claimed or not)."""
    return int(
        session.scalar(
            select(func.count()).select_from(InboxUpdate).where(InboxUpdate.done_at.is_(None))
        )
        or 0
    )


def prune(session: Session, *, now: datetime | None = None, keep: timedelta = KEEP_DONE) -> int:
    """Delete updates done more than ``keep`` ago; returns how many."""
    cutoff = (now or utcnow()) - keep
    result = session.execute(delete(InboxUpdate).where(InboxUpdate.done_at < cutoff))
    return int(result.rowcount or 0)
