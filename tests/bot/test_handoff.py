"""Handoff: a human takes a chat, the bot relays both ways, then hands it back."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from model.text.replies import say
from storage.handoffs import handoff_pairs
from storage.models import Chat, Handoff, Message, utcnow
from storage.staff import audit_entries
from tests.bot.conftest import AGENT_ID, AGENTS_CHAT, CUSTOMER_ID
from tests.bot.fake_bot_api import Call, FakeBotApi


def in_group(call: Call) -> bool:
    return call.chat_id == AGENTS_CHAT


def to_customer(call: Call) -> bool:
    return call.chat_id == CUSTOMER_ID


async def test_customer_asks_for_an_agent_then_is_released(start_bot: Any, api: FakeBotApi) -> None:
    bot = await start_bot(mirror="off")
    customer, agent = api.user(CUSTOMER_ID, "Rahim"), api.user(AGENT_ID, "Karim")
    mark = api.mark()
    await api.say(customer, "amar parcel ta bhanga ashche")
    await api.wait_for("sendMessage", to_customer, since=mark)

    mark = api.mark()
    await api.say(customer, "/agent")
    (ack,) = await api.wait_for("sendMessage", to_customer, since=mark)
    assert ack.text == say("agent_requested", "banglish")
    (call,) = await api.wait_for("sendMessage", in_group, since=mark)
    assert f"asks for a human agent (chat {CUSTOMER_ID})" in call.text
    assert "amar parcel ta bhanga ashche" in call.text  # recent messages for context

    # The bot stops answering: the customer's words go to the agents instead.
    mark = api.mark()
    question = await api.say(customer, "ami refund chai, ki korbo?")
    (relay,) = await api.wait_for("sendMessage", in_group, since=mark)
    assert relay.text.startswith(f"💬 chat {CUSTOMER_ID} · msg {question['message_id']} · banglish")
    assert relay.text.endswith("\nami refund chai, ki korbo?")
    assert not api.find(lambda c: to_customer(c) and c.method == "sendMessage", since=mark)

    answer = "Apnar order number ta din, ami refund shuru kore dicchi."
    await api.say(agent, answer, chat_id=AGENTS_CHAT, reply_to=relay.result)
    (relayed,) = await api.wait_for("sendMessage", to_customer, since=mark)
    assert relayed.text == answer and not relayed.buttons

    await api.say(agent, f"/release {CUSTOMER_ID}", chat_id=AGENTS_CHAT)
    await api.wait_for(
        "sendMessage",
        lambda c: to_customer(c) and c.text == say("released", "banglish"),
        since=mark,
    )
    await api.wait_for(
        "sendMessage", lambda c: in_group(c) and "back with the bot" in c.text, since=mark
    )

    mark = api.mark()
    await api.say(customer, "thank you vai")
    (bot_answer,) = await api.wait_for("sendMessage", to_customer, since=mark)
    assert bot_answer.buttons  # the bot answers again, with feedback buttons

    with bot.database.read() as session:
        assert list(handoff_pairs(session)) == [("ami refund chai, ki korbo?", answer, "banglish")]
        (handoff,) = session.scalars(select(Handoff)).all()
        assert handoff.requested_by == "customer" and handoff.agent_user_id == AGENT_ID
        assert handoff.end_reason == "released"
        chat = session.scalar(select(Chat).where(Chat.telegram_chat_id == CUSTOMER_ID))
        assert chat is not None and chat.mode == "bot"


async def test_takeover_relays_media_and_long_text(start_bot: Any, api: FakeBotApi) -> None:
    bot = await start_bot(mirror="off")
    customer, agent = api.user(CUSTOMER_ID, "Rahim"), api.user(AGENT_ID, "Karim")
    mark = api.mark()
    await api.say(customer, "hello")
    await api.wait_for("sendMessage", to_customer, since=mark)

    mark = api.mark()
    await api.say(agent, f"/takeover {CUSTOMER_ID}", chat_id=AGENTS_CHAT)
    (joined,) = await api.wait_for("sendMessage", to_customer, since=mark)
    assert joined.text == say("agent_joined", "en")
    await api.wait_for(
        "sendMessage", lambda c: in_group(c) and "answered by Karim" in c.text, since=mark
    )

    # A long complaint is relayed whole: header plus text exceed one message, so it is split.
    mark = api.mark()
    complaint = " ".join(["The parcel arrived late and the box was damaged."] * 90)
    await api.say(customer, complaint)
    parts = await api.wait_for("sendMessage", in_group, since=mark, count=2)
    assert all(len(p.text) <= 4096 for p in parts)
    assert " ".join(p.text for p in parts).split("\n", 1)[1] == complaint

    mark = api.mark()
    photo = [{"file_id": "ph", "file_unique_id": "ph", "width": 90, "height": 90}]
    await api.push({"message": api.incoming(customer, photo=photo)})
    (head,) = await api.wait_for("sendMessage", in_group, since=mark)
    assert " · photo · " in head.text
    (copy,) = await api.wait_for("copyMessage", since=mark)
    assert copy.params["from_chat_id"] == CUSTOMER_ID and copy.chat_id == AGENTS_CHAT

    await api.say(agent, f"/release {CUSTOMER_ID}", chat_id=AGENTS_CHAT)
    await api.wait_for("sendMessage", lambda c: to_customer(c) and "finished" in c.text, since=mark)
    await api.wait_for("sendMessage", lambda c: in_group(c) and "back with" in c.text, since=mark)
    mark = api.mark()
    await api.say(agent, f"/release {CUSTOMER_ID}", chat_id=AGENTS_CHAT)
    (again,) = await api.wait_for("sendMessage", in_group, since=mark)
    assert "not handed off" in again.text
    for command in ("/takeover", "/takeover abc", "/release"):
        mark = api.mark()
        await api.say(agent, command, chat_id=AGENTS_CHAT)
        (usage,) = await api.wait_for("sendMessage", in_group, since=mark)
        assert usage.text.startswith("Usage: /")
    with bot.database.read() as session:
        (handoff,) = session.scalars(select(Handoff)).all()
        assert handoff.requested_by == "agent" and handoff.end_reason == "released"


async def test_idle_handoff_times_out(start_bot: Any, api: FakeBotApi) -> None:
    bot = await start_bot(mirror="off", handoff_timeout_min=30)
    customer = api.user(CUSTOMER_ID)
    mark = api.mark()
    await api.say(customer, "/agent")
    await api.wait_for("sendMessage", in_group, since=mark)
    await api.say(customer, "hello? anyone there")
    await api.wait_for("sendMessage", in_group, since=mark, count=2)

    # Make the handoff and its messages 31 minutes old, then run the timeout job once.
    old = utcnow() - timedelta(minutes=31)
    with bot.database.write() as session:
        session.execute(update(Handoff).values(started_at=old))
        session.execute(update(Message).values(created_at=old))
    (job,) = bot.application.job_queue.get_jobs_by_name("handoff-timeout")
    mark = api.mark()
    job.job.modify(next_run_time=utcnow())
    await api.wait_for(
        "sendMessage", lambda c: to_customer(c) and "automatic" in c.text, since=mark
    )
    await api.wait_for("sendMessage", lambda c: in_group(c) and "idle 30 min" in c.text, since=mark)
    with bot.database.read() as session:
        (handoff,) = session.scalars(select(Handoff)).all()
        assert handoff.end_reason == "timeout"


async def test_agents_exclude_an_answer_from_training(start_bot: Any, api: FakeBotApi) -> None:
    bot = await start_bot(mirror="off")
    customer, agent = api.user(CUSTOMER_ID, "Rahim"), api.user(AGENT_ID, "Karim")
    mark = api.mark()
    await api.say(customer, "/agent")
    await api.wait_for("sendMessage", in_group, since=mark)

    relays = []
    for text in ("amar bari te ashen kobe?", "ar refund er ki holo?"):
        mark = api.mark()
        asked = await api.say(customer, text)
        (relay,) = await api.wait_for("sendMessage", in_group, since=mark)
        relays.append((asked, relay))
        # A personal promise: not something the bot should learn to say to everyone.
        await api.say(agent, f"Ami apnake 5 tay phone dibo ({text})", **_reply(relay))
        await api.wait_for("sendMessage", to_customer, since=mark)
    # The pair is stored just after the answer goes out to the customer.
    for _ in range(100):
        with bot.database.read() as session:
            if len(handoff_pairs(session)) == 2:
                break
        await asyncio.sleep(0.02)
    else:
        raise AssertionError("the two answers were not stored")

    # By replying /exclude to the relay of the customer's message…
    mark = api.mark()
    await api.say(agent, "/exclude", **_reply(relays[0][1]))
    (done,) = await api.wait_for("sendMessage", in_group, since=mark)
    assert done.text.startswith("🚫 1 answer to message")
    # …or by the chat and message ids of the relay's header.
    mark = api.mark()
    await api.say(
        agent, f"/exclude {CUSTOMER_ID} {relays[1][0]['message_id']}", chat_id=AGENTS_CHAT
    )
    (done,) = await api.wait_for("sendMessage", in_group, since=mark)
    assert "will not be used for training" in done.text
    with bot.database.read() as session:
        assert handoff_pairs(session) == []
        lines = audit_entries(session, action="handoff.exclude")
        assert len(lines) == 2 and {line.actor_user_id for line in lines} == {AGENT_ID}

    # Twice is harmless; a message with no stored answer, or none at all, is said so.
    for command, expected in (
        (f"/exclude {CUSTOMER_ID} {relays[1][0]['message_id']}", "excluded already"),
        (f"/exclude {CUSTOMER_ID} 999999", "No message 999999"),
        ("/exclude", "Usage: /exclude"),
        (f"/exclude {CUSTOMER_ID}", "Usage: /exclude"),
        (f"/exclude {CUSTOMER_ID} -4", "Usage: /exclude"),
    ):
        mark = api.mark()
        await api.say(agent, command, chat_id=AGENTS_CHAT)
        (answer,) = await api.wait_for("sendMessage", in_group, since=mark)
        assert expected in answer.text, command

    # Customers cannot exclude anything; an agent's own post is no relay to trust.
    mark = api.mark()
    await api.say(customer, f"/exclude {CUSTOMER_ID} {relays[0][0]['message_id']}")
    await api.wait_for("sendMessage", to_customer, since=mark)
    staff_post = await api.say(agent, f"💬 chat {CUSTOMER_ID} · msg 1", chat_id=AGENTS_CHAT)
    mark = api.mark()
    await api.say(agent, "/exclude", chat_id=AGENTS_CHAT, reply_to=staff_post)
    (answer,) = await api.wait_for("sendMessage", in_group, since=mark)
    assert answer.text.startswith("Usage: /exclude")


def _reply(relay: Call) -> dict[str, Any]:
    return {"chat_id": AGENTS_CHAT, "reply_to": relay.result}
