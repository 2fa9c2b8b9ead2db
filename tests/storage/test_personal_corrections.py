"""Personal corrections are stored, exposed to retrieval and export, flipped with an audit line
that changes the stamp; fixed notes and corrected replies cannot be approved."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from storage import conversations as conv
from storage import corrections as corr
from storage.db import Database
from storage.errors import Conflict, NotFound
from storage.models import AuditLog, BotReply


def _reply(database: Database, question: str, *, source: str = "model", user: int = 1001) -> int:
    with database.write() as session:
        customer = conv.upsert_customer(session, telegram_user_id=user, display_name="Rahim")
        chat = conv.upsert_chat(session, telegram_chat_id=user, customer_id=customer.id)
        inbound = conv.add_message(
            session, chat_id=chat.id, direction="in", text=question, language="en"
        )
        outbound = conv.add_message(session, chat_id=chat.id, direction="out", text="…")
        reply = conv.add_reply(
            session, message_id=outbound.id, question_message_id=inbound.id, source=source
        )
        return reply.id


def test_personal_flag_is_stored_exposed_and_audited(database: Database) -> None:
    general = _reply(database, "Do you deliver to Sylhet?")
    own = _reply(database, "Where is my order?", user=1002)
    with database.write() as session:
        corr.add_correction(session, reply_id=general, agent_user_id=7, text="Yes, in 3 days.")
        corr.add_correction(
            session,
            reply_id=own,
            agent_user_id=7,
            text="Rahim, BG-10002345 left Dhaka today.",
            personal=True,
        )
    with database.read() as session:
        pairs = corr.active_corrections(session)
        listed = corr.audited_corrections(session)
        details = session.scalars(
            select(AuditLog.detail).where(AuditLog.action == "correction.add")
        ).all()
    # Retrieval reads the flag to skip personal ones; export still sees both as pairs.
    assert [(p.question, p.personal) for p in pairs] == [
        ("Do you deliver to Sylhet?", False),
        ("Where is my order?", True),
    ]
    assert [item.personal for item in listed] == [True, False]
    assert [d["personal"] for d in details] == [False, True]


def test_flipping_personal_changes_the_stamp_once(database: Database) -> None:
    reply_id = _reply(database, "Cash on delivery?")
    with database.write() as session:
        correction = corr.add_correction(session, reply_id=reply_id, agent_user_id=7, text="Yes.")
        correction_id = correction.id
    with database.read() as session:
        before = corr.active_corrections_stamp(session)
    with database.write() as session:
        corr.set_personal(session, correction_id=correction_id, personal=True, actor_user_id=8)
    with database.read() as session:
        flipped = corr.active_corrections_stamp(session)
        (pair,) = corr.active_corrections(session)
    # The active set did not change (same count, same ids); the stamp still must.
    assert flipped[:2] == before[:2] and flipped != before and pair.personal
    with database.write() as session:  # already personal: nothing written, stamp unchanged
        corr.set_personal(session, correction_id=correction_id, personal=True, actor_user_id=8)
    with database.read() as session:
        assert corr.active_corrections_stamp(session) == flipped
        lines = session.execute(
            select(AuditLog.actor_user_id, AuditLog.detail).where(
                AuditLog.action == "correction.personal"
            )
        ).all()
    assert [(actor, detail["personal"]) for actor, detail in lines] == [(8, True)]
    with pytest.raises(NotFound), database.write() as session:
        corr.set_personal(session, correction_id=999, personal=False, actor_user_id=8)


@pytest.mark.parametrize("source", ["fallback", "system", "unsure"])
def test_fixed_notes_cannot_be_approved(database: Database, source: str) -> None:
    reply_id = _reply(database, "amar order kothay?", source=source)
    with pytest.raises(Conflict, match=f"fixed {source} note"), database.write() as session:
        corr.approve_reply(session, reply_id=reply_id, agent_user_id=7)
    with database.read() as session:
        assert session.get(BotReply, reply_id).review == "unreviewed"
        assert corr.approved_pairs(session) == []


def test_corrected_reply_cannot_be_approved(database: Database) -> None:
    reply_id = _reply(database, "Return policy?")
    with database.write() as session:
        corr.add_correction(session, reply_id=reply_id, agent_user_id=7, text="7 days.")
    with pytest.raises(Conflict, match="correction already"), database.write() as session:
        corr.approve_reply(session, reply_id=reply_id, agent_user_id=7)
    with pytest.raises(NotFound), database.write() as session:
        corr.approve_reply(session, reply_id=2**40, agent_user_id=7)
    with database.read() as session:
        assert session.get(BotReply, reply_id).review == "corrected"
