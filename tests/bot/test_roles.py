"""Staff commands by numeric user id: refusals change nothing and are audited."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from storage.models import AuditLog, BotReply, Chat, Correction, RetrainRun
from tests.bot.conftest import (
    AGENT_ID,
    AGENTS_CHAT,
    CUSTOMER_ID,
    DB_OPERATOR_ID,
    OPERATOR_ID,
    OPERATORS_CHAT,
    STRANGER_ID,
)
from tests.bot.fake_bot_api import FakeBotApi
from tests.bot.helpers import audit_count

AGENT_COMMANDS = [
    "/correct 1 a better answer",
    "/approve 1",
    "/pending",
    f"/history {CUSTOMER_ID}",
    f"/takeover {CUSTOMER_ID}",
    f"/release {CUSTOMER_ID}",
]
OPERATOR_COMMANDS = ["/status", "/retrain", "/report", "/adapters", "/promote 1", "/rollback"]


def snapshot(database: Any) -> tuple[Any, ...]:
    """Everything a staff command could change (apart from the audit log)."""
    with database.read() as session:
        return (
            session.scalar(select(func.count()).select_from(Correction)),
            tuple(session.execute(select(BotReply.review, BotReply.flagged)).all()),
            tuple(session.execute(select(Chat.telegram_chat_id, Chat.mode)).all()),
            session.scalar(select(func.count()).select_from(RetrainRun)),
        )


async def test_customers_are_refused_every_staff_command(start_bot: Any, api: FakeBotApi) -> None:
    bot = await start_bot()
    customer = api.user(CUSTOMER_ID, "Rahim", "agent_karim")  # a username proves nothing
    mark = api.mark()
    await api.say(customer, "When will my order arrive?")
    (answer,) = await api.wait_for("sendMessage", lambda c: c.chat_id == CUSTOMER_ID, since=mark)
    await api.wait_for("sendMessage", lambda c: c.chat_id == AGENTS_CHAT, since=mark)
    before = snapshot(bot.database)

    commands = AGENT_COMMANDS + OPERATOR_COMMANDS
    for text in commands:
        mark = api.mark()
        await api.say(customer, text)
        (reply,) = await api.wait_for("sendMessage", lambda c: c.chat_id == CUSTOMER_ID, since=mark)
        assert "staff only" in reply.text or "operators only" in reply.text, text
    # Buttons of agents' posts, pressed by a customer who got hold of one.
    for data in ("ap:1", "co:1", "pg:2"):
        mark = api.mark()
        await api.press(customer, answer.result, data)
        (alert,) = await api.wait_for("answerCallbackQuery", since=mark)
        assert alert.params["show_alert"] is True

    assert snapshot(bot.database) == before
    assert audit_count(bot.database, "refused", actor_user_id=CUSTOMER_ID) == len(commands) + 3
    with bot.database.read() as session:
        targets = set(
            session.scalars(
                select(AuditLog.target_id).where(AuditLog.actor_user_id == CUSTOMER_ID)
            ).all()
        )
    assert {text.split()[0] for text in commands} | {"button:ap", "button:co", "button:pg"} == (
        targets
    )


@pytest.mark.parametrize("text", OPERATOR_COMMANDS)
async def test_agents_are_refused_operator_commands(
    start_bot: Any, api: FakeBotApi, text: str
) -> None:
    bot = await start_bot()
    mark = api.mark()
    await api.say(api.user(AGENT_ID), text, chat_id=AGENTS_CHAT)
    (reply,) = await api.wait_for("sendMessage", lambda c: c.chat_id == AGENTS_CHAT, since=mark)
    assert reply.text == "Sorry, this command is for operators only."
    assert audit_count(bot.database, "refused", actor_user_id=AGENT_ID) == 1


async def test_operators_from_the_table_and_from_admin_ids(start_bot: Any, api: FakeBotApi) -> None:
    bot = await start_bot()
    for user_id, text in [(DB_OPERATOR_ID, "/status"), (OPERATOR_ID, "/pending")]:
        mark = api.mark()
        await api.say(api.user(user_id), text, chat_id=OPERATORS_CHAT)
        (reply,) = await api.wait_for(
            "sendMessage", lambda c: c.chat_id == OPERATORS_CHAT, since=mark
        )
        assert "only" not in reply.text
    # A stranger who writes in the operators' chat is refused like anyone else.
    mark = api.mark()
    await api.say(api.user(STRANGER_ID), "/status", chat_id=OPERATORS_CHAT)
    (reply,) = await api.wait_for("sendMessage", lambda c: c.chat_id == OPERATORS_CHAT, since=mark)
    assert reply.text == "Sorry, this command is for operators only."
    assert audit_count(bot.database, "refused") == 1
