"""Customers in private chat, end to end over HTTP against the fake Bot API."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from model.text.replies import say
from operations.knowledge import load_shipped_knowledge
from storage.knowledge import replace_knowledge
from storage.models import BotReply, Customer, Feedback, Message
from tests.bot.conftest import AGENTS_CHAT, CUSTOMER_ID, FAQ, STRANGER_ID, seed_faq
from tests.bot.fake_bot_api import FakeBotApi
from tests.bot.helpers import script_of

# A customer's wording of shipped knowledge-base questions (the shipped one in the comment).
REGISTERS = [
    # আমি মিরপুরে থাকি, অর্ডার কবে পৌঁছাবে?
    ("bn", "আমি মিরপুরে থাকি, আমার অর্ডার কবে পৌঁছাবে?", "bengali"),
    # I'm in Mirpur, when will my order arrive?
    ("en", "I'm in Mirpur. When will my order arrive?", "latin"),
    # ami uttara thaki, order kobe pabo?
    ("banglish", "ami uttara te thaki, order kobe pabo?", "latin"),
    # আমি Gulshan-এ থাকি, order কবে আসবে?
    ("mixed", "আমি Gulshan-এ থাকি, আমার order কবে আসবে?", "bengali"),
]


def to_customer(call: Any) -> bool:
    return call.chat_id == CUSTOMER_ID


async def test_each_register_is_answered_in_its_script(start_bot: Any, api: FakeBotApi) -> None:
    bot = await start_bot()
    load_shipped_knowledge(bot.database)  # what `uttor init` loads on a fresh install
    customer = api.user(CUSTOMER_ID, "Rahim", "rahim")
    answers = []
    for label, question, script in REGISTERS:
        mark = api.mark()
        await api.say(customer, question)
        (typing,) = await api.wait_for("sendChatAction", to_customer, since=mark)
        assert typing.params["action"] == "typing"
        (answer,) = await api.wait_for("sendMessage", to_customer, since=mark)
        assert "parse_mode" not in answer.params  # plain text: nothing the model writes is markup
        assert script_of(answer.text) == script, (label, answer.text)
        assert [b["text"] for b in answer.buttons] == ["👍", "👎"]
        answers.append(answer.text)
    # Mirrors go out after the answer is stored; the Telegram ids are written once each
    # update is done.
    await api.wait_for("sendMessage", lambda c: c.chat_id == AGENTS_CHAT, count=4)
    await bot.settled()
    with bot.database.read() as session:
        stored = session.scalars(select(Message).order_by(Message.id)).all()
        inbound = [m for m in stored if m.direction == "in"]
        assert [m.language for m in inbound] == [label for label, _, _ in REGISTERS]
        # What the customer read is what was stored, with the Telegram id of each message
        # (a follow-up replies to it).
        assert [m.text for m in stored if m.direction == "out"] == answers
        assert all(m.telegram_message_id for m in stored)
        replies = session.scalars(select(BotReply)).all()
        assert [r.source for r in replies] == ["knowledge"] * 4


async def test_other_questions_go_to_the_model(start_bot: Any, api: FakeBotApi) -> None:
    bot = await start_bot()
    mark = api.mark()
    await api.say(api.user(CUSTOMER_ID), "Can I change the colour of the shoes I ordered?")
    (answer,) = await api.wait_for("sendMessage", to_customer, since=mark)
    await api.wait_for("sendMessage", lambda c: c.chat_id == AGENTS_CHAT, since=mark)
    with bot.database.read() as session:
        (reply,) = session.scalars(select(BotReply)).all()
        sent = session.get(Message, reply.message_id)
        assert sent is not None and sent.text == answer.text
        # The tiny model answers or, when it produces nothing usable, the pipeline's flagged
        # fallback does; either way the customer got exactly what was stored.
        assert reply.source in ("model", "fallback")
        assert reply.flagged == (reply.source == "fallback")


async def test_start_help_and_language_preference(start_bot: Any, api: FakeBotApi) -> None:
    bot = await start_bot()
    customer = api.user(CUSTOMER_ID, "Rahim")
    mark = api.mark()
    await api.say(customer, "/start")
    (greeting,) = await api.wait_for("sendMessage", to_customer, since=mark)
    assert script_of(greeting.text) != "none"
    assert "আসসালামু" in greeting.text and "Hello" in greeting.text  # bilingual
    assert "/agent" in greeting.text

    for command, expected in [("/lang en", "en"), ("/lang banglish", "banglish")]:
        mark = api.mark()
        await api.say(customer, command)
        await api.wait_for("sendMessage", to_customer, since=mark)
        with bot.database.read() as session:
            row = session.scalar(select(Customer).where(Customer.telegram_user_id == CUSTOMER_ID))
            assert row is not None and row.preferred_language == expected

    mark = api.mark()
    await api.say(customer, "/help")
    (help_text,) = await api.wait_for("sendMessage", to_customer, since=mark)
    assert "/lang" in help_text.text and script_of(help_text.text) == "latin"  # Banglish now

    mark = api.mark()
    await api.say(customer, "/lang klingon")
    (usage,) = await api.wait_for("sendMessage", to_customer, since=mark)
    assert "/lang auto" in usage.text

    mark = api.mark()
    await api.say(customer, "/lang auto")
    await api.wait_for("sendMessage", to_customer, since=mark)
    with bot.database.read() as session:
        row = session.scalar(select(Customer).where(Customer.telegram_user_id == CUSTOMER_ID))
        assert row is not None and row.preferred_language is None


async def test_non_text_gets_a_polite_note(start_bot: Any, api: FakeBotApi) -> None:
    await start_bot()
    customer = api.user(CUSTOMER_ID)
    mark = api.mark()
    await api.say(customer, "আমার রিফান্ড কবে পাব?")
    await api.wait_for("sendMessage", to_customer, since=mark)
    sticker = {
        "file_id": "s1",
        "file_unique_id": "s1",
        "type": "regular",
        "width": 512,
        "height": 512,
        "is_animated": False,
        "is_video": False,
    }
    mark = api.mark()
    await api.push({"message": api.incoming(customer, sticker=sticker)})
    (note,) = await api.wait_for("sendMessage", to_customer, since=mark)
    assert "/agent" in note.text
    assert script_of(note.text) == "bengali"  # the customer last wrote Bangla
    assert not note.buttons


async def test_edited_messages_channel_posts_and_foreign_groups(
    start_bot: Any, api: FakeBotApi
) -> None:
    await start_bot()
    customer = api.user(CUSTOMER_ID)
    mark = api.mark()
    question = await api.say(customer, "When will my order arrive?")
    await api.wait_for("sendMessage", to_customer, since=mark)

    mark = api.mark()
    edited = {**question, "text": "When will my parcel arrive?", "edit_date": question["date"]}
    await api.push({"edited_message": edited})
    (note,) = await api.wait_for("sendMessage", to_customer, since=mark)
    assert "new message" in note.text

    # A channel post and a message in a group the bot does not serve: ignored, no crash.
    channel = {"id": -1009, "type": "channel", "title": "news"}
    await api.push({"channel_post": {"message_id": 1, "date": 0, "chat": channel, "text": "hello"}})
    group_message = api.incoming(api.user(STRANGER_ID), chat_id=-1005, text="/pending")
    await api.push({"message": group_message})
    # Added to that group: the bot says it only answers in private, and leaves.
    member = {
        "chat": {"id": -1005, "type": "supergroup", "title": "random"},
        "from": api.user(STRANGER_ID),
        "date": 0,
        "old_chat_member": {"status": "left", "user": api.bot_user},
        "new_chat_member": {"status": "member", "user": api.bot_user},
    }
    await api.push({"my_chat_member": member})
    await api.wait_for("leaveChat", lambda c: c.chat_id == -1005, since=mark)
    # The bot still answers afterwards; nothing was sent to the channel or about /pending.
    await api.say(customer, "thanks vai")
    await api.wait_for("sendMessage", lambda c: c.chat_id == CUSTOMER_ID, since=mark, count=2)
    assert not api.find(lambda c: c.chat_id == -1009, since=mark)
    to_group = api.find(lambda c: c.chat_id == -1005 and c.method == "sendMessage", since=mark)
    assert len(to_group) == 1 and "private" in to_group[0].text


async def test_rate_limit_answers_with_one_polite_note(start_bot: Any, api: FakeBotApi) -> None:
    bot = await start_bot(rate_limit_per_min=2)
    customer = api.user(CUSTOMER_ID)
    mark = api.mark()
    for n in range(5):
        await api.say(customer, f"order number {n} kothay?")
    # Two answers, one note; the 4th and 5th messages get nothing back (no flood for a flood).
    await api.wait_for("sendMessage", to_customer, since=mark, count=3)
    await api.say(api.user(STRANGER_ID), "hello")  # another customer is not limited
    await api.wait_for("sendMessage", lambda c: c.chat_id == STRANGER_ID, since=mark)
    sent = api.find(lambda c: c.method == "sendMessage" and to_customer(c), since=mark)
    assert len(sent) == 3
    assert sent[2].text == say("rate_limited", "banglish")  # in the customer's register
    with bot.database.read() as session:
        inbound = session.scalars(
            select(Message).where(Message.direction == "in", Message.customer_id.is_not(None))
        ).all()
        assert len([m for m in inbound if "kothay" in m.text]) == 2


async def test_feedback_buttons_and_flagging(start_bot: Any, api: FakeBotApi) -> None:
    bot = await start_bot(mirror="flagged")
    seed_faq(bot.database)  # a memory answer: not flagged until the customer says so
    customer = api.user(CUSTOMER_ID)
    mark = api.mark()
    await api.say(customer, "What are your delivery charges?")
    (answer,) = await api.wait_for("sendMessage", to_customer, since=mark)
    down = next(b["callback_data"] for b in answer.buttons if b["text"] == "👎")
    up = next(b["callback_data"] for b in answer.buttons if b["text"] == "👍")
    assert not api.find(lambda c: c.chat_id == AGENTS_CHAT, since=mark)  # not flagged yet

    # Someone else pressing the button (a forwarded message) changes nothing.
    await api.press(api.user(STRANGER_ID), answer.result, down)
    await api.wait_for("answerCallbackQuery", since=mark)

    await api.press(customer, answer.result, down)
    (mirror,) = await api.wait_for("sendMessage", lambda c: c.chat_id == AGENTS_CHAT, since=mark)
    assert "👎 flagged by the customer" in mirror.text
    assert [b["text"] for b in mirror.buttons] == ["✅ Approve", "✏️ Correct"]
    (edit,) = await api.wait_for("editMessageReplyMarkup", since=mark)
    assert "👎 ✓" in [b["text"] for b in edit.buttons]

    await api.press(customer, answer.result, up)  # changing one's mind: the latest press counts
    await api.wait_for("editMessageReplyMarkup", since=mark, count=2)
    with bot.database.read() as session:
        feedback = session.scalars(select(Feedback)).all()
        assert [f.value for f in feedback] == [1]
        assert session.scalar(select(BotReply.flagged)) is True  # still for an agent to review


@pytest.mark.parametrize(("mirror", "mirrored"), [("all", True), ("flagged", False)])
async def test_mirroring_follows_the_setting(
    start_bot: Any, api: FakeBotApi, mirror: str, mirrored: bool
) -> None:
    bot = await start_bot(mirror=mirror)
    seed_faq(bot.database)
    mark = api.mark()
    await api.say(api.user(CUSTOMER_ID, "Rahim"), "bKash e taka pathate parchi na")
    (answer,) = await api.wait_for("sendMessage", to_customer, since=mark)
    assert answer.text == FAQ[1][1]
    await bot.stop()  # a graceful stop waits for background mirrors
    copies = api.find(lambda c: c.chat_id == AGENTS_CHAT, since=mark)
    assert len(copies) == int(mirrored)
    if mirrored:
        assert copies[0].text.split("\n") == [
            "🔎 reply #1 · banglish · knowledge · Rahim · id 5001",
            f"Q: {FAQ[1][0]}",
            f"A: {FAQ[1][1]}",
        ]


async def test_a_long_answer_is_split_with_buttons_on_the_last_part(
    start_bot: Any, api: FakeBotApi
) -> None:
    bot = await start_bot()
    policy = "\n\n".join(
        (f"{n}. রিটার্নের নিয়ম: পণ্য হাতে পাওয়ার ৭ দিনের মধ্যে অ্যাপ থেকে রিটার্ন রিকোয়েস্ট করুন। " * 6).strip()
        for n in range(1, 12)
    )
    assert len(policy) > 4096
    with bot.database.write() as session:
        replace_knowledge(session, source="test", pairs=[("রিটার্ন পলিসি কী?", policy, "bn")])
    mark = api.mark()
    await api.say(api.user(CUSTOMER_ID), "আপনাদের রিটার্ন পলিসি কী?")
    await api.wait_for("sendMessage", lambda c: c.chat_id == AGENTS_CHAT, since=mark)
    parts = api.find(lambda c: c.method == "sendMessage" and to_customer(c), since=mark)
    assert len(parts) == 2 and all(len(p.text) <= 4096 for p in parts)
    assert "\n\n".join(p.text for p in parts) == policy  # cut at a paragraph break
    assert not parts[0].buttons and [b["text"] for b in parts[1].buttons] == ["👍", "👎"]
    await bot.settled()
    with bot.database.read() as session:
        (reply,) = session.scalars(select(BotReply)).all()
        answer = session.get(Message, reply.message_id)
        # The stored answer is whole; it points at the part that carries the buttons.
        assert answer is not None and answer.text == policy
        assert answer.telegram_message_id == parts[1].result["message_id"]
