"""The durable inbox (storage/inbox.py) on SQLite and PostgreSQL: stored once, claimed once,
in per-chat order, taken back from a dead worker, counted by the rate limit, pruned."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.jobs import Job
from bot.ratelimit import WINDOW, Verdict, judge, verdict_for
from storage.db import Database
from storage.inbox import (
    Claimed,
    claim,
    finish,
    pending_count,
    prune,
    rate_window,
    rate_windows,
    release,
    release_holders,
    renew,
    store_updates,
)
from storage.models import InboxUpdate, utcnow

LEASE = timedelta(seconds=30)


def _store(database: Database, *rows: tuple[int, int], at_s: float = 0.0) -> None:
    received = utcnow() + timedelta(seconds=at_s)
    with database.write() as session:
        store_updates(
            session,
            [(uid, chat, {"update_id": uid, "n": uid}) for uid, chat in rows],
            received_at=received,
        )


def _claim(database: Database, holder: str, limit: int = 10) -> list[int]:
    with database.write() as session:
        return [c.update_id for c in claim(session, holder=holder, limit=limit, lease=LEASE)]


def _finish(database: Database, holder: str, *ids: int, verdict: str | None = None) -> set[int]:
    with database.write() as session:
        return finish(session, holder=holder, verdicts=dict.fromkeys(ids, verdict))


def test_an_update_is_stored_once_and_keeps_its_first_payload(database: Database) -> None:
    _store(database, (1, 100))
    with database.write() as session:
        store_updates(session, [(1, 100, {"update_id": 1, "n": "again"})])
    with database.read() as session:
        rows = session.scalars(select(InboxUpdate)).all()
        assert [(r.update_id, r.payload) for r in rows] == [(1, {"update_id": 1, "n": 1})]


def test_payloads_come_back_as_stored_and_a_repeat_in_one_batch_is_skipped(
    database: Database,
) -> None:
    text = {
        "update_id": 7,
        "message": {"text": 'অর্ডার কবে আসবে? "quote" \\ 😀 \x00 NUL', "n": [1, None]},
    }
    with database.write() as session:
        store_updates(session, [(7, 70, text), (7, 70, {"update_id": 7}), (8, 80, {})])
    with database.write() as session:
        claimed = claim(session, holder="a", limit=5, lease=LEASE)
    assert [(c.update_id, c.chat_key, c.payload) for c in claimed] == [
        (7, 70, text),
        (8, 80, {"update_id": 8}),  # an empty payload reads as its update id
    ]


def test_claims_take_one_update_per_chat_in_order(database: Database) -> None:
    # Chat 100 wrote three times, chat 200 once, chat 300 twice.
    _store(database, (1, 100), (2, 100), (3, 200), (4, 100), (5, 300), (6, 300))
    assert _claim(database, "a") == [1, 3, 5]
    # Nothing else is claimable until a chat's head is done, whoever asks.
    assert _claim(database, "b") == []
    assert _finish(database, "a", 1) == {1}
    assert _claim(database, "b") == [2]
    assert _finish(database, "b", 2, 3) == {2}  # 3 is a's, not b's to finish
    assert _finish(database, "a", 3, 5) == {3, 5}
    assert _claim(database, "a") == [4, 6]
    with database.read() as session:
        assert pending_count(session) == 2
        done = session.scalars(select(InboxUpdate).where(InboxUpdate.done_at.is_not(None))).all()
        assert all(row.payload is None for row in done)  # the text lives in messages only


def test_a_dead_workers_claims_are_taken_over_when_its_lease_runs_out(database: Database) -> None:
    _store(database, (1, 100), (2, 200))
    assert _claim(database, "dead") == [1, 2]
    assert _claim(database, "alive") == []
    later = utcnow() + LEASE + timedelta(seconds=1)
    with database.write() as session:
        taken = claim(session, holder="alive", limit=10, lease=LEASE, now=later)
    assert [(c.update_id, c.attempts) for c in taken] == [(1, 2), (2, 2)]
    # The dead worker's renewals and done marks no longer count.
    with database.write() as session:
        assert renew(session, holder="dead", update_ids=[1, 2], lease=LEASE) == set()
    assert _finish(database, "dead", 1) == set()
    assert _finish(database, "alive", 1, 2) == {1, 2}


def test_released_claims_are_claimable_at_once(database: Database) -> None:
    _store(database, (1, 100), (2, 200), (3, 300))
    assert _claim(database, "a") == [1, 2, 3]
    with database.write() as session:
        release(session, holder="a", update_ids=[1])
        release(session, holder="b", update_ids=[2])  # not b's: nothing happens
        assert release_holders(session, holders=["gone"]) == 0
    assert _claim(database, "b") == [1]
    with database.write() as session:
        assert release_holders(session, holders=["a"]) == 2
    assert _claim(database, "b") == [2, 3]


def test_rate_window_counts_the_chats_verdicts_of_the_last_minute(database: Database) -> None:
    per_minute = 2
    verdicts = []
    # One customer writes at 0, 1, 2, 3 s; then at 61 and 62 s (the first two left the window).
    for update_id, at_s in enumerate([0, 1, 2, 3, 61, 62], start=1):
        _store(database, (update_id, 100), at_s=at_s)
        with database.read() as session:
            received = session.get(InboxUpdate, update_id).received_at  # type: ignore[union-attr]
        (claimed,) = _claim_full(database, "w")
        job = Job(
            update_id=claimed.update_id,
            chat_key=claimed.chat_key,
            received_at=received,
            attempts=claimed.attempts,
            deadline=0.0,
            valid_until=0.0,
        )
        with database.read() as session:
            verdict = verdict_for(session, job, per_minute)
            # The same window, read for many claimed updates at once (as the inbox worker does).
            (window,) = rate_windows(session, [claimed], window=WINDOW).values()
        assert judge(window, per_minute) is verdict
        verdicts.append(verdict)
        _finish(database, "w", update_id, verdict=verdict.value)
    assert verdicts == [
        Verdict.ALLOW,
        Verdict.ALLOW,
        Verdict.NOTE,
        Verdict.DROP,
        Verdict.ALLOW,  # 0 s and 1 s are out of the window at 61 s
        Verdict.ALLOW,
    ]
    # Another chat is counted on its own.
    _store(database, (7, 200), at_s=3)
    with database.read() as session:
        window = rate_window(
            session, chat_key=200, update_id=7, received_at=utcnow(), window=timedelta(minutes=1)
        )
    assert window.allowed == 0 and not window.noted
    # Both chats' next updates claimed together: each judged by its own chat's verdicts.
    _store(database, (8, 100), at_s=63)
    _store(database, (9, 200), at_s=30)
    claimed = _claim_full(database, "w")
    assert [c.update_id for c in claimed] == [7, 8]
    _finish(database, "w", 7, verdict="allow")
    claimed += _claim_full(database, "w")
    assert [c.update_id for c in claimed] == [7, 8, 9]
    with database.read() as session:
        windows = rate_windows(session, claimed[1:], window=WINDOW)  # one per chat
    assert (windows[8].allowed, windows[8].noted) == (2, False)  # 61 s and 62 s
    assert (windows[9].allowed, windows[9].noted) == (1, False)  # update 7, at 3 s


def _claim_full(database: Database, holder: str) -> list[Claimed]:
    with database.write() as session:
        return claim(session, holder=holder, limit=10, lease=LEASE)


def test_prune_drops_only_updates_done_long_ago(database: Database) -> None:
    _store(database, (1, 100), (2, 200), (3, 300))
    assert _claim(database, "a") == [1, 2, 3]
    _finish(database, "a", 1, 2)
    with database.write() as session:
        assert prune(session, now=utcnow() + timedelta(hours=1)) == 0
        assert prune(session, now=utcnow() + timedelta(days=2)) == 2
    with database.read() as session:
        assert session.scalars(select(InboxUpdate.update_id)).all() == [3]


@pytest.mark.postgres
def test_concurrent_workers_never_claim_the_same_update(postgres_url: str) -> None:
    from migrations.runner import upgrade

    upgrade(postgres_url)
    database = Database(postgres_url, pool_size=8)
    try:
        # 40 chats, 5 updates each, interleaved as they would arrive.
        _store(database, *[(n, 1000 + n % 40) for n in range(1, 201)])
        handled: list[tuple[str, int]] = []
        order: dict[int, list[int]] = {}
        lock = threading.Lock()

        def work(holder: str) -> None:
            idle = 0
            while idle < 20:
                with database.write() as session:
                    taken = claim(session, holder=holder, limit=7, lease=LEASE)
                if not taken:
                    idle += 1
                    continue
                idle = 0
                with lock:
                    for item in taken:
                        handled.append((holder, item.update_id))
                        order.setdefault(item.chat_key, []).append(item.update_id)
                with database.write() as session:
                    finish(session, holder=holder, verdicts={i.update_id: None for i in taken})

        threads = [threading.Thread(target=work, args=(f"w{n}",)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        counts = Counter(update_id for _, update_id in handled)
        assert sorted(counts) == list(range(1, 201)) and set(counts.values()) == {1}
        assert all(ids == sorted(ids) for ids in order.values())  # per-chat order held
        assert len({holder for holder, _ in handled}) > 1  # the work really was shared
        with database.read() as session:
            assert (
                session.scalar(
                    select(func.count())
                    .select_from(InboxUpdate)
                    .where(InboxUpdate.done_at.is_(None))
                )
                == 0
            )
    finally:
        database.dispose()
