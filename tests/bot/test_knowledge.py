"""Operators see, search and edit the knowledge base in Telegram; customers get an edited
answer at the very next question, from the running bot, without a restart or a retrain."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from storage.knowledge import MAX_ANSWER_CHARS
from storage.models import AuditLog, BotReply
from tests.bot.conftest import (
    AGENT_ID,
    AGENTS_CHAT,
    CUSTOMER_ID,
    FAQ,
    OPERATOR_ID,
    OPERATORS_CHAT,
    seed_faq,
)
from tests.bot.fake_bot_api import Call, FakeBotApi
from tests.bot.helpers import audit_count


def in_ops(call: Call) -> bool:
    return call.chat_id == OPERATORS_CHAT


async def command(api: FakeBotApi, text: str, *, replies: int = 1) -> list[Call]:
    """An operator sends ``text`` in the operators' chat; the bot's text replies."""
    mark = api.mark()
    await api.say(api.user(OPERATOR_ID, "Nadia"), text, chat_id=OPERATORS_CHAT)
    return await api.wait_for("sendMessage", in_ops, since=mark, count=replies)


async def customer_asks(api: FakeBotApi, text: str) -> Call:
    mark = api.mark()
    await api.say(api.user(CUSTOMER_ID), text)
    (answer,) = await api.wait_for("sendMessage", lambda c: c.chat_id == CUSTOMER_ID, since=mark)
    return answer


async def test_an_edited_answer_is_served_at_the_next_question(
    start_bot: Any, api: FakeBotApi
) -> None:
    bot = await start_bot()
    seed_faq(bot.database)
    question, answer, _ = FAQ[0]
    assert (await customer_asks(api, question)).text == answer

    (count,) = await command(api, "/kb")
    assert count.text.startswith("The knowledge base has 2 entries.")
    (found,) = await command(api, "/kb_search delivery charges")
    assert found.text.splitlines()[1].startswith("#1 · test · en: What are your delivery charges?")
    (shown,) = await command(api, "/kb 1")
    assert shown.text.splitlines() == [
        "📚 #1 · test · en · no topic",
        f"Q: {question}",
        f"A: {answer}",
        "",
        "/kb_edit 1 new answer",
    ]

    new = "Delivery costs 70 taka inside Dhaka\nand 130 taka outside Dhaka."
    (edited,) = await command(api, f"/kb_edit 1 {new}")
    assert edited.text.startswith("📚 #1 updated; customers get the new answer")
    assert edited.text.endswith(f"Now: {new}")

    # The same running bot: same rows, same ids, and still the new answer at once.
    again = await customer_asks(api, question)
    assert again.text == new
    with bot.database.read() as session:
        latest = session.scalars(select(BotReply).order_by(BotReply.id.desc())).first()
        assert latest is not None and latest.source in ("knowledge", "memory")
        (line,) = session.scalars(select(AuditLog).where(AuditLog.action == "knowledge.edit"))
        assert (line.actor_user_id, line.target_id) == (OPERATOR_ID, "1")
        assert line.detail == {"before": answer, "after": new}


async def test_bad_kb_commands_say_why_and_change_nothing(start_bot: Any, api: FakeBotApi) -> None:
    bot = await start_bot()
    seed_faq(bot.database)
    for text, needle in [
        ("/kb abc", "Usage: /kb ID"),
        ("/kb 1 2", "Usage: /kb ID"),
        ("/kb 999", "there is no knowledge entry 999."),
        ("/kb_edit 1", "Usage: /kb_edit ID new answer"),
        ("/kb_edit x new", "Usage: /kb_edit ID new answer"),
        ("/kb_edit 999 new answer", "Not changed: there is no knowledge entry 999."),
        (
            "/kb_edit 1 " + "x" * (MAX_ANSWER_CHARS + 1),
            f"Not changed: a knowledge answer is at most {MAX_ANSWER_CHARS}",
        ),
        ("/kb_edit 1 \u200b\u200b", "Not changed: the new answer is empty."),
        ("/kb_search", "Usage: /kb_search"),
        ("/kb_search zzzqqq", "No knowledge entry has those words."),
    ]:
        (reply,) = await command(api, text)
        assert needle in reply.text, (text, reply.text)
    assert audit_count(bot.database, "knowledge.edit") == 0

    # Agents may not edit (nor see) the knowledge base from Telegram; the attempt is audited.
    mark = api.mark()
    await api.say(api.user(AGENT_ID), "/kb_edit 1 wrong", chat_id=AGENTS_CHAT)
    (refusal,) = await api.wait_for("sendMessage", lambda c: c.chat_id == AGENTS_CHAT, since=mark)
    assert "operators only" in refusal.text
    assert audit_count(bot.database, "refused", actor_user_id=AGENT_ID) == 1
    assert audit_count(bot.database, "knowledge.edit") == 0
