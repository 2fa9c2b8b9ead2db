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

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, delete, func, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from storage.arrays import DIALECTS, dialect_of, one_of
from storage.models import InboxUpdate, UTCDateTime, utcnow
from storage.ratewindows import RateWindow, rate_window, rate_windows

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
    if dialect_of(session) == "postgresql":
        batch = list(updates)
        if batch:
            ids, chats, payloads = zip(*batch, strict=True)
            texts = [json.dumps(payload) for payload in payloads]  # as the JSON type would
            params = {"ids": list(ids), "chats": list(chats), "payloads": texts, "at": at}
            session.connection().execute(_PG_STORE, params)
        return
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


# A batch of updates as one array per column: one SQL text for any batch (storage/arrays.py).
# Each payload is its own JSON text: a Telegram text may hold a NUL, which a json value keeps
# as ``\u0000`` but which PostgreSQL cannot extract from a larger JSON document as text
# (storage/logbook.py sends its rows that way; its texts have no control characters).
_PG_STORE = text(
    "INSERT INTO inbox (update_id, chat_key, payload, received_at, attempts)"
    " SELECT r.id, r.chat, CAST(r.payload AS JSON), :at, 0"
    " FROM unnest(CAST(:ids AS BIGINT[]), CAST(:chats AS BIGINT[]), CAST(:payloads AS TEXT[]))"
    " AS r(id, chat, payload) ON CONFLICT (update_id) DO NOTHING"
).bindparams(bindparam("at", type_=UTCDateTime()))


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
    connection, dialect = session.connection(), dialect_of(session)
    params = {"now": now, "limit": limit, "holder": holder, "until": now + lease}
    if dialect == "postgresql":
        rows = connection.execute(_PG_CLAIM, params).all()  # picked and taken in one trip
    else:
        ids = list(connection.scalars(_PICK[dialect], params))
        if not ids:
            return []
        rows = connection.execute(_TAKE[dialect], {**params, "ids": ids}).all()
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
    held = session.connection().scalars(
        _RENEW[dialect_of(session)],
        {"ids": list(update_ids), "holder": holder, "until": now + lease},
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
    connection, statement = session.connection(), _FINISH[dialect_of(session)]
    done: set[int] = set()
    by_verdict: dict[str | None, list[int]] = {}
    for update_id, verdict in verdicts.items():
        by_verdict.setdefault(verdict, []).append(update_id)
    for verdict, ids in by_verdict.items():
        params = {"ids": ids, "holder": holder, "now": now, "verdict": verdict}
        done |= set(connection.scalars(statement, params))
    return done


def release(session: Session, *, holder: str, update_ids: Sequence[int]) -> None:
    """Give claims back unfinished, to be claimed again at once (by anyone)."""
    if update_ids:
        session.connection().execute(
            _RELEASE[dialect_of(session)], {"ids": list(update_ids), "holder": holder}
        )


# The statements of a worker's turn, built once (Core, on the table: no ORM bookkeeping for
# rows no session holds); the lists of ids are bound per call (storage/arrays.py).
_inbox = InboxUpdate.__table__
_unfinished = _inbox.alias("unfinished")
# Each chat's oldest unfinished update: one pass over the unfinished rows, however deep one
# chat's backlog is.
_HEADS = (
    select(func.min(_unfinished.c.update_id))
    .where(_unfinished.c.done_at.is_(None))
    .group_by(_unfinished.c.chat_key)
)
_CANDIDATES = (
    select(_inbox.c.update_id)
    .where(
        _inbox.c.update_id.in_(_HEADS),
        # Again on the row itself: PostgreSQL re-checks these (not the subquery) on a row
        # another worker claimed or finished after this statement's snapshot was taken.
        _inbox.c.done_at.is_(None),
        or_(_inbox.c.claimed_until.is_(None), _inbox.c.claimed_until < bindparam("now")),
    )
    .order_by(_inbox.c.update_id)
    .limit(bindparam("limit"))
)
_PICK = {
    # Another worker claiming at this moment skips these rows instead of taking them too.
    "postgresql": _CANDIDATES.with_for_update(skip_locked=True, of=_inbox),
    "sqlite": _CANDIDATES,
}


def _mine(dialect: str) -> Any:
    """``holder``'s unfinished claims among the bound ids."""
    return and_(
        one_of(_inbox.c.update_id, "ids", dialect),
        _inbox.c.claimed_by == bindparam("holder"),
        _inbox.c.done_at.is_(None),
    )


_TAKE = {
    dialect: update(_inbox)
    .where(one_of(_inbox.c.update_id, "ids", dialect))
    .values(
        claimed_by=bindparam("holder"),
        claimed_until=bindparam("until"),
        attempts=_inbox.c.attempts + 1,
    )
    .returning(
        _inbox.c.update_id,
        _inbox.c.chat_key,
        _inbox.c.payload,
        _inbox.c.received_at,
        _inbox.c.attempts,
    )
    for dialect in DIALECTS
}
_picked = _PICK["postgresql"].cte("picked")  # a CTE with FOR UPDATE runs once, first
_PG_CLAIM = (
    update(_inbox)
    .where(_inbox.c.update_id == _picked.c.update_id)
    .values(
        claimed_by=bindparam("holder"),
        claimed_until=bindparam("until"),
        attempts=_inbox.c.attempts + 1,
    )
    .returning(*_TAKE["postgresql"].exported_columns)
)
_RENEW = {
    dialect: update(_inbox)
    .where(_mine(dialect))
    .values(claimed_until=bindparam("until"))
    .returning(_inbox.c.update_id)
    for dialect in DIALECTS
}
_FINISH = {
    dialect: update(_inbox)
    .where(_mine(dialect))
    .values(
        done_at=bindparam("now"), payload=None, claimed_until=None, verdict=bindparam("verdict")
    )
    .returning(_inbox.c.update_id)
    for dialect in DIALECTS
}
_RELEASE = {
    dialect: update(_inbox).where(_mine(dialect)).values(claimed_until=None) for dialect in DIALECTS
}


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
