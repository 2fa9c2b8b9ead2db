"""The conversation log of many chats at once (storage/logbook.py) and group commit
(storage/batching.py), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import event, select

from storage.batching import GroupCommit
from storage.conversations import (
    add_message,
    chat_people,
    record_sent_ids,
    set_preferred_language,
    upsert_chat,
    upsert_customer,
)
from storage.db import Database
from storage.errors import InvalidValue, NotFound
from storage.logbook import Inbound, Outbound, receive_many, store_replies
from storage.models import BotReply, Chat, Message


def _chats(database: Database, count: int) -> list[tuple[int, int]]:
    """``count`` customers with a private chat each: (chat id, customer id)."""
    made = []
    with database.write() as session:
        for n in range(count):
            customer = upsert_customer(session, telegram_user_id=500 + n, display_name=f"C{n}")
            chat = upsert_chat(session, telegram_chat_id=500 + n, customer_id=customer.id)
            made.append((chat.id, customer.id))
    return made


def test_questions_of_several_chats_come_back_with_their_own_history(database: Database) -> None:
    (a, ca), (b, cb) = _chats(database, 2)
    with database.write() as session:
        for n in range(4):
            add_message(session, chat_id=a, direction="in", text=f"a{n}", language="en")
        add_message(session, chat_id=b, direction="out", text="b0")
        set_preferred_language(session, customer_id=cb, language="bn")
    with database.write() as session:
        got = receive_many(
            session,
            [
                Inbound(a, ca, "a4", "banglish", telegram_message_id=9),
                Inbound(b, cb, "b1", "en", telegram_message_id=9),
            ],
            history=3,
        )
    assert [p.text for p in got[0].history] == ["a1", "a2", "a3"]  # oldest first, without a4
    assert [(p.direction, p.text) for p in got[1].history] == [("out", "b0")]
    assert (got[0].last_language, got[0].preferred_language) == ("en", None)
    assert (got[1].last_language, got[1].preferred_language) == (None, "bn")
    with database.read() as session:
        assert session.get(Chat, a).last_language == "banglish"  # type: ignore[union-attr]
        stored = session.get(Message, got[0].message_id)
        assert stored is not None and (stored.text, stored.direction) == ("a4", "in")
        assert stored.telegram_message_id == 9


def test_a_redelivered_question_is_stored_once_and_found_again(database: Database) -> None:
    ((a, ca),) = _chats(database, 1)
    with database.write() as session:
        (first,) = receive_many(session, [Inbound(a, ca, "hello", "en", 7)], history=5)
    with database.write() as session:
        (again,) = receive_many(session, [Inbound(a, ca, "hello", "en", 7)], history=5)
    assert again.message_id == first.message_id
    assert again.history == []  # the question itself is not its own history
    with database.read() as session:
        assert len(session.scalars(select(Message)).all()) == 1


def test_a_batch_refuses_a_missing_chat_and_two_messages_of_one_chat(database: Database) -> None:
    ((a, ca),) = _chats(database, 1)
    with pytest.raises(NotFound), database.write() as session:
        receive_many(
            session, [Inbound(a, ca, "x", "en"), Inbound(a + 99, None, "y", "en")], history=1
        )
    with pytest.raises(InvalidValue), database.write() as session:
        receive_many(session, [Inbound(a, ca, "x", "en"), Inbound(a, ca, "y", "en")], history=1)
    with database.read() as session:
        assert session.scalars(select(Message)).all() == []


def test_replies_and_their_records_are_stored_for_several_chats(database: Database) -> None:
    (a, ca), (b, cb) = _chats(database, 2)
    with database.write() as session:
        qa, qb = receive_many(
            session, [Inbound(a, ca, "qa", "en"), Inbound(b, cb, "qb", "bn")], history=0
        )
        ids = store_replies(
            session,
            [
                Outbound(b, cb, "answer b", "bn", qb.message_id, "knowledge", latency_ms=2.5),
                Outbound(a, ca, "answer a", None, qa.message_id, "unsure", flagged=True),
            ],
        )
    with database.read() as session:
        for (reply_id, message_id), text, question, source in [
            (ids[0], "answer b", qb.message_id, "knowledge"),
            (ids[1], "answer a", qa.message_id, "unsure"),
        ]:
            reply = session.get(BotReply, reply_id)
            answer = session.get(Message, message_id)
            assert reply is not None and answer is not None
            assert (reply.message_id, reply.question_message_id, reply.source) == (
                message_id,
                question,
                source,
            )
            assert (answer.text, answer.direction) == (text, "out")
        assert session.get(BotReply, ids[1][0]).flagged  # type: ignore[union-attr]


def test_every_field_of_a_reply_and_its_record_is_stored(database: Database) -> None:
    (a, ca), (b, _) = _chats(database, 2)
    with database.write() as session:
        qa, qb = receive_many(
            session, [Inbound(a, ca, "qa", "en", 41), Inbound(b, None, "qb", None)], history=0
        )
        (first, second) = store_replies(
            session,
            [
                Outbound(
                    a,
                    ca,
                    "ans",
                    "banglish",
                    qa.message_id,
                    "model",
                    "the prompt",
                    None,
                    12.5,
                    30,
                    7,
                    False,
                ),
                Outbound(b, None, "note", None, None, "system", flagged=True),
            ],
        )
    with database.read() as session:
        question = session.get(Message, qb.message_id)
        assert question is not None
        assert (question.customer_id, question.language, question.telegram_message_id) == (
            None,
            None,
            None,
        )
        reply, answer = session.get(BotReply, first[0]), session.get(Message, first[1])
        assert reply is not None and answer is not None
        assert (answer.chat_id, answer.customer_id, answer.language) == (a, ca, "banglish")
        assert answer.telegram_message_id is None and answer.created_at.tzinfo is not None
        assert (reply.prompt, reply.adapter_id, reply.latency_ms) == ("the prompt", None, 12.5)
        assert (reply.prompt_tokens, reply.completion_tokens, reply.flagged) == (30, 7, False)
        assert (reply.review, reply.created_at) == ("unreviewed", answer.created_at)
        note, sent = session.get(BotReply, second[0]), session.get(Message, second[1])
        assert note is not None and sent is not None
        assert (note.question_message_id, note.source, note.flagged) == (None, "system", True)
        assert (sent.chat_id, sent.customer_id, sent.language, sent.text) == (b, None, None, "note")


def test_chat_people_reads_the_customers_of_many_chats(database: Database) -> None:
    (a, ca), (b, _) = _chats(database, 2)
    with database.read() as session:
        people = chat_people(session, telegram_chat_ids=[500, 501, 999])
    assert sorted(people) == [500, 501]
    assert (people[500].chat_id, people[500].customer_id, people[500].mode) == (a, ca, "bot")
    assert people[501].display_name == "C1" and people[501].chat_id == b


def _log(database: Database) -> GroupCommit[Inbound, object]:
    return GroupCommit(
        database,
        lambda session, items: receive_many(session, items, history=5),  # type: ignore[arg-type,return-value]
        key=lambda item: item.chat_id,
    )


async def test_group_commit_writes_concurrent_chats_in_one_transaction(database: Database) -> None:
    chats = _chats(database, 12)
    commits: list[int] = []

    def count(_connection: object) -> None:
        commits.append(1)

    log = _log(database)
    # Two questions of chat 0: the second waits for the next batch and sees the first.
    items = [Inbound(c, cu, f"q{c}", "en") for c, cu in chats]
    items.append(Inbound(chats[0][0], chats[0][1], "second", "en"))
    event.listen(database.engine, "commit", count)
    try:
        results = await asyncio.gather(*(log.submit(i) for i in items))
    finally:
        event.remove(database.engine, "commit", count)
    assert len(commits) == 2  # the twelve chats, then chat 0's second question
    assert [p.text for p in results[-1].history] == [f"q{chats[0][0]}"]  # type: ignore[attr-defined]
    with database.read() as session:
        texts = session.scalars(select(Message.text).order_by(Message.id)).all()
    assert texts == [f"q{c}" for c, _ in chats] + ["second"]


async def test_group_commit_fails_only_the_caller_whose_item_is_refused(
    database: Database,
) -> None:
    chats = _chats(database, 3)
    log = _log(database)
    items = [Inbound(c, cu, f"q{c}", "en") for c, cu in chats]
    items.insert(1, Inbound(chats[-1][0] + 99, None, "nobody", "en"))
    results = await asyncio.gather(*(log.submit(i) for i in items), return_exceptions=True)
    assert isinstance(results[1], NotFound)
    assert not any(isinstance(r, BaseException) for i, r in enumerate(results) if i != 1)
    with database.read() as session:
        texts = session.scalars(select(Message.text).order_by(Message.id)).all()
    assert texts == [f"q{c}" for c, _ in chats]


def test_sent_ids_of_several_replies_are_recorded_at_once(database: Database) -> None:
    (a, ca), (b, cb) = _chats(database, 2)
    with database.write() as session:
        ids = store_replies(
            session,
            [
                Outbound(a, ca, "x", "en", None, "unsure"),
                Outbound(b, cb, "y", "en", None, "unsure"),
            ],
        )
        record_sent_ids(session, [(ids[0][1], 9_000_000_001), (ids[1][1], 77)])
    with database.read() as session:
        sent = {m.id: m.telegram_message_id for m in session.scalars(select(Message))}
    assert sent == {ids[0][1]: 9_000_000_001, ids[1][1]: 77}
