"""The query functions on SQLite and PostgreSQL, including refusals that write nothing."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import TypeVar

import pytest
from sqlalchemy import func, select
from sqlalchemy import text as sql
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from migrations.runner import upgrade
from storage import conversations as conv
from storage import corrections as corr
from storage import handoffs, leases, registry, staff
from storage.db import Database, is_sqlite
from storage.errors import Conflict, InvalidValue, NotFound, StorageError
from storage.models import AuditLog, Chat, Correction, Handoff, Message, Staff

T = TypeVar("T")
# How long a racing thread waits for the other before the test gives up (a hang guard only).
RACE_WAIT_S = 60


def _count(database: Database, model: type) -> int:
    with database.read() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def _exchange(database: Database, question: str = "আমার অর্ডার কবে আসবে?") -> int:
    """A customer question and a bot reply; returns the reply id."""
    with database.write() as session:
        customer = conv.upsert_customer(session, telegram_user_id=1001, display_name="Rahim")
        chat = conv.upsert_chat(session, telegram_chat_id=1001, customer_id=customer.id)
        inbound = conv.add_message(
            session,
            chat_id=chat.id,
            direction="in",
            text=question,
            language="bn",
            customer_id=customer.id,
            telegram_message_id=7,
        )
        outbound = conv.add_message(session, chat_id=chat.id, direction="out", text="২ দিনে।")
        reply = conv.add_reply(
            session,
            message_id=outbound.id,
            question_message_id=inbound.id,
            source="model",
            latency_ms=12.5,
            prompt_tokens=30,
            completion_tokens=5,
        )
        return reply.id


def test_conversation_round_trip(database: Database) -> None:
    reply_id = _exchange(database)
    with database.read() as session:
        chat = conv.get_chat(session, telegram_chat_id=1001)
        assert chat is not None and chat.last_language == "bn"
        history = conv.recent_messages(session, chat_id=chat.id)
        assert [m.direction for m in history] == ["in", "out"]
        assert conv.reply_texts(session, reply_id=reply_id) == ("আমার অর্ডার কবে আসবে?", "২ দিনে।")
        assert history[0].created_at.tzinfo is not None


def test_duplicate_inbound_update_is_stored_once(database: Database) -> None:
    _exchange(database)
    with database.write() as session:
        chat = conv.get_chat(session, telegram_chat_id=1001)
        again = conv.add_message(
            session,
            chat_id=chat.id,
            direction="in",
            text="আমার অর্ডার কবে আসবে?",
            telegram_message_id=7,
        )
        assert again.id is not None
    assert _count(database, Message) == 2


def test_preferred_language(database: Database) -> None:
    with database.write() as session:
        customer = conv.upsert_customer(session, telegram_user_id=5)
        conv.set_preferred_language(session, customer_id=customer.id, language="banglish")
    with database.read() as session:
        assert conv.get_customer(session, telegram_user_id=5).preferred_language == "banglish"
    with pytest.raises(InvalidValue), database.write() as session:
        conv.set_preferred_language(session, customer_id=customer.id, language="fr")


def test_feedback_flags_and_pending(database: Database) -> None:
    reply_id = _exchange(database)
    with database.write() as session:
        customer = conv.get_customer(session, telegram_user_id=1001)
        conv.add_feedback(session, reply_id=reply_id, customer_id=customer.id, value=1)
        conv.add_feedback(session, reply_id=reply_id, customer_id=customer.id, value=-1)
    with database.read() as session:
        pending = conv.pending_replies(session)
        assert [r.id for r in pending] == [reply_id]


def test_corrections_supersede_and_reject(database: Database) -> None:
    reply_id = _exchange(database)
    with database.write() as session:
        corr.add_correction(session, reply_id=reply_id, agent_user_id=42, text="১-২ দিনে আসবে।")
        second = corr.add_correction(
            session, reply_id=reply_id, agent_user_id=43, text="ঢাকায় ১-২ দিনে আসবে।"
        )
    with database.read() as session:
        pairs = corr.active_corrections(session)
        assert [(p.question, p.answer, p.agent_user_id) for p in pairs] == [
            ("আমার অর্ডার কবে আসবে?", "ঢাকায় ১-২ দিনে আসবে।", 43)
        ]
        states = session.scalars(select(Correction.status).order_by(Correction.id)).all()
        assert states == ["superseded", "active"]
        assert conv.get_reply(session, reply_id=reply_id).review == "corrected"
    with database.write() as session:
        corr.reject_correction(session, correction_id=second.id, actor_user_id=1, reason="wrong")
    with database.read() as session:
        assert corr.active_corrections(session) == []
        actions = [a.action for a in staff.audit_entries(session)]
        assert actions.count("correction.add") == 2 and "correction.reject" in actions


def test_correction_for_missing_reply_writes_nothing(database: Database) -> None:
    before = _count(database, AuditLog)
    with pytest.raises(NotFound, match="no reply with id 999"), database.write() as session:
        corr.add_correction(session, reply_id=999, agent_user_id=1, text="x")
    assert _count(database, Correction) == 0
    assert _count(database, AuditLog) == before


def test_empty_and_huge_corrections_refused(database: Database) -> None:
    reply_id = _exchange(database)
    for text in ("   ", "x" * (corr.MAX_CORRECTION_CHARS + 1)):
        with pytest.raises(InvalidValue), database.write() as session:
            corr.add_correction(session, reply_id=reply_id, agent_user_id=1, text=text)
    assert _count(database, Correction) == 0


def test_approved_and_handoff_pairs(database: Database) -> None:
    reply_id = _exchange(database)
    with database.write() as session:
        corr.approve_reply(session, reply_id=reply_id, agent_user_id=42)
        chat = conv.get_chat(session, telegram_chat_id=1001)
        handoff = handoffs.start_handoff(session, chat_id=chat.id, requested_by="customer")
        assert chat.mode == "human"
        question = conv.add_message(session, chat_id=chat.id, direction="in", text="refund?")
        answer = conv.add_message(session, chat_id=chat.id, direction="out", text="5 days.")
        handoffs.add_handoff_pair(
            session,
            handoff_id=handoff.id,
            question_message_id=question.id,
            answer_message_id=answer.id,
            agent_user_id=42,
        )
        handoffs.end_handoff(session, chat_id=chat.id, reason="released", actor_user_id=42)
        assert chat.mode == "bot"
    with database.read() as session:
        assert corr.approved_pairs(session) == [("আমার অর্ডার কবে আসবে?", "২ দিনে।", "bn")]
        assert handoffs.handoff_pairs(session) == [("refund?", "5 days.", None)]
    with pytest.raises(NotFound), database.write() as session:
        handoffs.end_handoff(session, chat_id=chat.id, reason="released")


@pytest.fixture(params=["sqlite_url", pytest.param("postgres_url", marks=pytest.mark.postgres)])
def race_url(request: pytest.FixtureRequest) -> str:
    """A migrated database of each kind, by URL: each racer opens its own pool on it."""
    url = request.getfixturevalue(request.param)
    upgrade(url)
    return url


def _in_one(url: str, work: Callable[[Session], T], *, write: bool = True) -> T:
    """``work`` in a transaction of a process of its own (its own pool and write lock)."""
    database = Database(url)
    try:
        with database.write() if write else database.read() as session:
            return work(session)
    finally:
        database.dispose()


def _chat(session: Session, *, handed_off: bool) -> int:
    customer = conv.upsert_customer(session, telegram_user_id=1001, display_name="Rahim")
    chat = conv.upsert_chat(session, telegram_chat_id=1001, customer_id=customer.id)
    if handed_off:
        handoffs.start_handoff(session, chat_id=chat.id, requested_by="customer")
    return chat.id


def _overlapping(
    url: str, first: Callable[[Session], object], second: Callable[[Session], object]
) -> list[str]:
    """Run ``first`` and ``second`` in two replicas' write transactions that overlap.

    ``first`` does its work and keeps its transaction, locks and all, open while ``second``
    starts. On PostgreSQL it commits only once ``second`` is seen waiting for one of its locks
    (or has finished without waiting), so the two surely overlap; on SQLite ``second`` starts
    while ``first`` holds the file's write lock. Returns each one's outcome: "done", or the
    name of the storage error it raised.
    """
    replicas = (Database(url), Database(url))  # two processes: two pools, two write locks
    postgres = not is_sqlite(replicas[0].engine)
    holding, trying = threading.Event(), threading.Event()
    second_pid: list[int] = []
    outcomes = ["unfinished", "unfinished"]

    def run(index: int, work: Callable[[Session], object]) -> None:
        try:
            if index == 1:
                holding.wait(RACE_WAIT_S)
                if not postgres:
                    trying.set()  # the write below waits for the first's lock on the file
            with replicas[index].write() as session:
                if index == 1 and postgres:
                    second_pid.append(session.scalar(sql("SELECT pg_backend_pid()")))
                work(session)
                if index == 0:
                    holding.set()
                    trying.wait(RACE_WAIT_S)
            outcomes[index] = "done"
        except StorageError as error:
            outcomes[index] = type(error).__name__
        finally:
            holding.set()

    def second_waits() -> bool:
        with replicas[0].engine.connect() as connection:
            query = sql("SELECT cardinality(pg_blocking_pids(:pid)) > 0")
            return bool(second_pid and connection.scalar(query, {"pid": second_pid[0]}))

    threads = [threading.Thread(target=run, args=(n, w)) for n, w in enumerate((first, second))]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + RACE_WAIT_S
    while postgres and threads[1].is_alive() and not second_waits():
        assert time.monotonic() < deadline, "the second transaction neither waited nor ended"
        time.sleep(0.01)
    trying.set()
    for thread in threads:
        thread.join(RACE_WAIT_S)
    for database in replicas:
        database.dispose()
    return outcomes


def _handoff_state(session: Session) -> tuple[str, list[tuple[str | None, int | None]], int]:
    """(chat mode, (end reason, agent) of each handoff, number of handoff.end audit lines)."""
    rows = session.execute(select(Handoff.end_reason, Handoff.agent_user_id).order_by(Handoff.id))
    ends = select(func.count()).select_from(AuditLog).where(AuditLog.action == "handoff.end")
    mode = session.scalars(select(Chat.mode)).one()
    return mode, [(reason, agent) for reason, agent in rows], session.scalar(ends) or 0


def test_a_handoff_ended_twice_at_once_ends_once(race_url: str) -> None:
    chat_id = _in_one(race_url, lambda s: _chat(s, handed_off=True))
    outcomes = _overlapping(
        race_url,
        lambda s: handoffs.end_handoff(s, chat_id=chat_id, reason="released", actor_user_id=7),
        lambda s: handoffs.end_handoff(s, chat_id=chat_id, reason="timeout"),
    )
    assert outcomes == ["done", "NotFound"]  # the loser sends no "handed back" notice
    assert _in_one(race_url, _handoff_state, write=False) == ("bot", [("released", None)], 1)
    # Ending it again later is refused the same way and writes nothing.
    with pytest.raises(NotFound):
        _in_one(race_url, lambda s: handoffs.end_handoff(s, chat_id=chat_id, reason="timeout"))
    assert _in_one(race_url, _handoff_state, write=False) == ("bot", [("released", None)], 1)


def test_a_handoff_started_twice_at_once_is_one_handoff(race_url: str) -> None:
    chat_id = _in_one(race_url, lambda s: _chat(s, handed_off=False))
    outcomes = _overlapping(
        race_url,
        lambda s: handoffs.start_handoff(s, chat_id=chat_id, requested_by="customer"),
        lambda s: handoffs.start_handoff(s, chat_id=chat_id, requested_by="agent", agent_user_id=7),
    )
    assert outcomes == ["done", "done"]
    # One open handoff, claimed by the agent.
    assert _in_one(race_url, _handoff_state, write=False) == ("human", [(None, 7)], 0)


def test_a_takeover_while_the_handoff_ends_opens_a_new_one(race_url: str) -> None:
    chat_id = _in_one(race_url, lambda s: _chat(s, handed_off=True))
    outcomes = _overlapping(
        race_url,
        lambda s: handoffs.end_handoff(s, chat_id=chat_id, reason="timeout"),
        lambda s: handoffs.start_handoff(s, chat_id=chat_id, requested_by="agent", agent_user_id=7),
    )
    assert outcomes == ["done", "done"]
    # Not the takeover lost on a handoff that ended under it, nor human mode without a handoff.
    expected = ("human", [("timeout", None), (None, 7)], 1)
    assert _in_one(race_url, _handoff_state, write=False) == expected


def test_staff_roles_and_audit(database: Database) -> None:
    with database.write() as session:
        staff.add_staff(session, telegram_user_id=10, role="agent")
        staff.add_staff(session, telegram_user_id=11, role="operator")
        staff.add_staff(session, telegram_user_id=10, role="operator")
    with database.read() as session:
        assert [(s.telegram_user_id, s.role) for s in staff.list_staff(session)] == [
            (10, "operator"),
            (11, "operator"),
        ]
        assert staff.role_of(session, telegram_user_id=99, admin_ids=[99]) == "operator"
        assert staff.role_of(session, telegram_user_id=98) is None
    with database.write() as session:
        staff.remove_staff(session, telegram_user_id=10)
    with database.read() as session:
        assert staff.role_of(session, telegram_user_id=10) is None
        assert [a.action for a in staff.audit_entries(session, action="staff.remove")] == [
            "staff.remove"
        ]


def test_unknown_role_writes_nothing(database: Database) -> None:
    with pytest.raises(InvalidValue, match="unknown role"), database.write() as session:
        staff.add_staff(session, telegram_user_id=10, role="boss")
    assert _count(database, Staff) == 0
    assert _count(database, AuditLog) == 0


def test_schema_itself_refuses_bad_values(database: Database) -> None:
    """The CHECK constraints hold even for code that bypasses the query functions."""
    with pytest.raises(IntegrityError), database.write() as session:
        session.add(Staff(telegram_user_id=1, role="boss"))
        session.flush()
    assert _count(database, Staff) == 0


def test_adapter_promotion_and_rollback(database: Database) -> None:
    with database.write() as session:
        first = registry.add_adapter(session, version="v1", path="/a/v1", base_model="starter")
        second = registry.add_adapter(
            session, version="v2", path="/a/v2", base_model="starter", parent_id=first.id
        )
        bad = registry.add_adapter(session, version="v3", path="/a/v3", base_model="starter")
        registry.set_adapter_status(session, adapter_id=bad.id, status="rejected", reason="worse")
        registry.promote_adapter(session, adapter_id=first.id)
        registry.promote_adapter(session, adapter_id=second.id)
    with database.read() as session:
        assert registry.active_adapter(session).version == "v2"
        assert registry.find_adapter(session, ref="v1").status == "retired"
        assert registry.find_adapter(session, ref=str(second.id)).version == "v2"
    with pytest.raises(Conflict, match="rejected"), database.write() as session:
        registry.promote_adapter(session, adapter_id=bad.id)
    with database.write() as session:
        now = registry.rollback_adapter(session, actor_user_id=7)
        assert now is not None and now.version == "v1"
    with database.write() as session:
        assert registry.rollback_adapter(session) is None
    with database.read() as session:
        assert registry.active_adapter(session) is None
    with pytest.raises(InvalidValue), database.write() as session:
        registry.add_adapter(session, version="v1", path="/x", base_model="starter")


def test_runs_and_interrupted_recovery(database: Database) -> None:
    with database.write() as session:
        run = registry.start_run(session, trigger="manual", pid=123)
        done = registry.start_run(session, trigger="schedule")
        registry.finish_run(
            session, run_id=done.id, status="succeeded", decision="skipped", reason="few pairs"
        )
    with database.write() as session:
        assert registry.mark_interrupted_runs(session) == 1
    with database.read() as session:
        assert registry.get_run(session, run_id=run.id).status == "interrupted"
        assert registry.latest_run(session).decision == "skipped"
    with pytest.raises(InvalidValue), database.write() as session:
        registry.finish_run(session, run_id=run.id, status="running")


def test_lease_is_exclusive_until_expiry(database: Database) -> None:
    with database.write() as session:
        assert leases.acquire_lease(session, name="retrain", holder="a", ttl=timedelta(hours=1))
    with database.write() as session:
        assert not leases.acquire_lease(session, name="retrain", holder="b", ttl=timedelta(hours=1))
    with database.write() as session:
        leases.release_lease(session, name="retrain", holder="a")
        assert leases.acquire_lease(session, name="retrain", holder="b", ttl=timedelta(0))
    with database.write() as session:
        # b's lease has a zero lifetime, so it is already expired.
        assert leases.acquire_lease(session, name="retrain", holder="c", ttl=timedelta(1))
