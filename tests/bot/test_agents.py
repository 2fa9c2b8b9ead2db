"""Agents review mirrored replies in their group: approve, correct, page, look up history."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from model.text.replies import say
from storage.conversations import flag_reply
from storage.models import BotReply, Correction, Message
from tests.bot.conftest import AGENT_ID, AGENTS_CHAT, CUSTOMER_ID, STRANGER_ID
from tests.bot.fake_bot_api import Call, FakeBotApi
from tests.bot.helpers import audit_count


def in_group(call: Call) -> bool:
    return call.chat_id == AGENTS_CHAT


def to_customer(call: Call) -> bool:
    return call.chat_id == CUSTOMER_ID


async def ask(api: FakeBotApi, customer: dict[str, Any], text: str) -> tuple[Call, Call]:
    """The customer asks; returns (the answer, its mirror in the agents group)."""
    mark = api.mark()
    await api.say(customer, text)
    (answer,) = await api.wait_for("sendMessage", to_customer, since=mark)
    (mirror,) = await api.wait_for("sendMessage", in_group, since=mark)
    return answer, mirror


async def test_correct_by_replying_to_the_mirror(start_bot: Any, api: FakeBotApi) -> None:
    bot = await start_bot()
    customer, agent = api.user(CUSTOMER_ID), api.user(AGENT_ID, "Karim")
    answer, mirror = await ask(api, customer, "delivery charge koto?")
    assert mirror.text.startswith("🔎 reply #1 ")

    mark = api.mark()
    fix = "Dhakar moddhe delivery charge 60 taka, Dhakar baire 120 taka."
    # Amounts make an answer personal by default; the agent says this one is for everyone.
    await api.say(agent, f"--general {fix}", chat_id=AGENTS_CHAT, reply_to=mirror.result)
    (followup,) = await api.wait_for("sendMessage", to_customer, since=mark)
    assert followup.text == say("followup", "banglish", text=fix)
    # The follow-up quotes the answer it corrects.
    assert followup.params["reply_parameters"]["message_id"] == answer.result["message_id"]
    (confirm,) = await api.wait_for("sendMessage", in_group, since=mark)
    assert "reply #1 corrected" in confirm.text and "follow-up" in confirm.text
    assert "🌐 general (you said so)" in confirm.text
    # The mirror it answered is marked, and its buttons are gone.
    (marked,) = await api.wait_for("editMessageText", since=mark)
    assert marked.text.startswith(mirror.text) and marked.text.endswith("✏️ corrected by Karim")
    assert not marked.buttons
    with bot.database.read() as session:
        (correction,) = session.scalars(select(Correction)).all()
        assert (correction.reply_id, correction.agent_user_id, correction.text) == (
            1,
            AGENT_ID,
            fix,
        )
        assert correction.personal is False
        assert session.get(BotReply, 1).review == "corrected"
        stored = session.scalars(select(Message).where(Message.text == followup.text)).all()
        assert len(stored) == 1 and stored[0].direction == "out"
    assert audit_count(bot.database, "correction.add", actor_user_id=AGENT_ID) == 1

    # The next similar question is answered from correction memory, at once.
    mark = api.mark()
    await api.say(customer, "delivery charge koto vai?")
    (again,) = await api.wait_for("sendMessage", to_customer, since=mark)
    assert again.text == fix
    with bot.database.read() as session:
        latest = session.scalars(select(BotReply).order_by(BotReply.id.desc())).first()
        assert latest is not None and latest.source == "memory"


async def test_correct_button_then_reply_supersedes(start_bot: Any, api: FakeBotApi) -> None:
    bot = await start_bot(followup_corrections=False)
    customer, agent = api.user(CUSTOMER_ID), api.user(AGENT_ID, "Karim")
    _, mirror = await ask(api, customer, "How do I reset my password?")
    correct = next(b["callback_data"] for b in mirror.buttons if b["text"] == "✏️ Correct")

    mark = api.mark()
    await api.press(agent, mirror.result, correct)
    (prompt,) = await api.wait_for("sendMessage", in_group, since=mark)
    assert prompt.text.startswith("✏️ reply #1:")
    assert prompt.params["reply_markup"]["force_reply"] is True
    await api.say(
        agent,
        "Tap 'Forgot password' on the login screen.",
        chat_id=AGENTS_CHAT,
        reply_to=prompt.result,
    )
    await api.wait_for("sendMessage", lambda c: in_group(c) and " corrected;" in c.text, since=mark)

    mark = api.mark()
    await api.say(
        agent, "/correct 1 Open Settings, then Account, then Reset password.", chat_id=AGENTS_CHAT
    )
    await api.wait_for("sendMessage", lambda c: in_group(c) and " corrected;" in c.text, since=mark)
    # Follow-ups are off: the customer heard nothing more.
    assert not api.find(lambda c: c.method == "sendMessage" and to_customer(c), since=mark)
    with bot.database.read() as session:
        rows = session.scalars(select(Correction).order_by(Correction.id)).all()
        assert [r.status for r in rows] == ["superseded", "active"]
        assert rows[1].text.startswith("Open Settings")


async def test_bad_correct_and_approve_arguments_get_usage(start_bot: Any, api: FakeBotApi) -> None:
    bot = await start_bot()
    agent = api.user(AGENT_ID)
    await ask(api, api.user(CUSTOMER_ID), "When will my order arrive?")
    for command, needle, replies in [
        ("/correct abc fixed", "Usage: /correct", 1),
        ("/correct 1", "Usage: /correct", 1),
        ("/correct 999 some text", "no reply with id 999", 2),
        ("/approve", "Usage: /approve", 1),
        ("/approve x", "Usage: /approve", 1),
        ("/approve 999", "no reply #999", 1),
        ("/pending zero", "Usage: /pending", 1),
        ("/history", "Usage: /history", 1),
        ("/history @nobody", "No customer @nobody", 2),
    ]:
        mark = api.mark()
        await api.say(agent, command, chat_id=AGENTS_CHAT)
        got = await api.wait_for("sendMessage", in_group, since=mark, count=replies)
        text = "\n".join(call.text for call in got)
        assert needle.lower() in text.lower(), (command, text)
        if replies == 2:
            assert "Usage:" in got[1].text
    with bot.database.read() as session:
        assert session.scalars(select(Correction)).all() == []
        assert session.get(BotReply, 1).review == "unreviewed"


async def test_approve_by_button_and_command(start_bot: Any, api: FakeBotApi) -> None:
    bot = await start_bot()
    customer, agent = api.user(CUSTOMER_ID), api.user(AGENT_ID, "Karim")
    _, first = await ask(api, customer, "Do you deliver to Sylhet?")
    await ask(api, customer, "Cash on delivery ache?")

    mark = api.mark()
    approve = next(b["callback_data"] for b in first.buttons if b["text"] == "✅ Approve")
    await api.press(agent, first.result, approve)
    (edited,) = await api.wait_for("editMessageText", since=mark)
    assert edited.text.endswith("✅ approved by Karim") and not edited.buttons

    await api.say(agent, "/approve 2", chat_id=AGENTS_CHAT)
    await api.wait_for("sendMessage", lambda c: in_group(c) and "approved" in c.text, since=mark)
    # A corrected reply is not approved afterwards: its wrong answer would become training data.
    await api.say(agent, "/correct 2 Yes, cash on delivery everywhere.", chat_id=AGENTS_CHAT)
    await api.wait_for("sendMessage", lambda c: in_group(c) and " corrected;" in c.text, since=mark)
    await api.say(agent, "/approve 2", chat_id=AGENTS_CHAT)
    await api.wait_for(
        "sendMessage", lambda c: in_group(c) and "nothing changed" in c.text, since=mark
    )
    with bot.database.read() as session:
        assert [r.review for r in session.scalars(select(BotReply).order_by(BotReply.id))] == [
            "approved",
            "corrected",
        ]
    assert audit_count(bot.database, "reply.approve") == 2


async def test_pending_is_paged_newest_first(start_bot: Any, api: FakeBotApi) -> None:
    bot = await start_bot(mirror="flagged")
    customer, agent = api.user(CUSTOMER_ID), api.user(AGENT_ID)
    mark = api.mark()
    for n in range(7):
        await api.say(customer, f"question number {n}")
    await api.wait_for("sendMessage", to_customer, since=mark, count=7)
    with bot.database.write() as session:
        for reply_id in range(1, 8):
            flag_reply(session, reply_id=reply_id)

    mark = api.mark()
    await api.say(agent, "/pending", chat_id=AGENTS_CHAT)
    (page,) = await api.wait_for(
        "sendMessage", lambda c: in_group(c) and "waiting" in c.text, since=mark
    )
    assert "waiting: 7 (page 1 of 2" in page.text
    shown = [line.split(" ·")[0] for line in page.text.splitlines() if line.startswith("#")]
    assert shown == ["#7", "#6", "#5", "#4", "#3"]
    assert [b["callback_data"] for b in page.buttons] == ["pg:2"]

    await api.press(agent, page.result, "pg:2")
    (second,) = await api.wait_for("editMessageText", since=mark)
    shown = [line.split(" ·")[0] for line in second.text.splitlines() if line.startswith("#")]
    assert shown == ["#2", "#1"]
    assert [b["callback_data"] for b in second.buttons] == ["pg:1"]


async def test_history_of_a_customer(start_bot: Any, api: FakeBotApi) -> None:
    await start_bot()
    customer = api.user(CUSTOMER_ID, "Rahim", "rahim")
    await ask(api, customer, "amar refund kobe pabo?")
    for ref in ("@Rahim", str(CUSTOMER_ID)):
        mark = api.mark()
        await api.say(api.user(AGENT_ID), f"/history {ref}", chat_id=AGENTS_CHAT)
        (history,) = await api.wait_for("sendMessage", in_group, since=mark)
        lines = history.text.splitlines()
        assert lines[0].startswith(f"History of Rahim (id {CUSTOMER_ID}, @rahim")
        assert lines[1].startswith("→ ") and "[banglish] amar refund kobe pabo?" in lines[1]
        assert lines[2].startswith("← ")


async def test_only_bot_posts_are_read_as_corrections(start_bot: Any, api: FakeBotApi) -> None:
    bot = await start_bot()
    _, mirror = await ask(api, api.user(CUSTOMER_ID), "What is your hotline number?")
    agent = api.user(AGENT_ID)
    mark = api.mark()
    # A reply to a colleague's message that quotes a mirror header is just chat.
    colleague = api.incoming(api.user(AGENT_ID + 1), chat_id=AGENTS_CHAT, text=mirror.text)
    await api.say(agent, "I will take this one", chat_id=AGENTS_CHAT, reply_to=colleague)
    # A stranger replying to the mirror is refused and audited.
    await api.say(
        api.user(STRANGER_ID), "wrong answer lol", chat_id=AGENTS_CHAT, reply_to=mirror.result
    )
    (refusal,) = await api.wait_for("sendMessage", in_group, since=mark)
    assert "staff only" in refusal.text
    with bot.database.read() as session:
        assert session.scalars(select(Correction)).all() == []
    assert audit_count(bot.database, "refused", actor_user_id=STRANGER_ID) == 1


async def test_personal_by_default_flag_and_button(start_bot: Any, api: FakeBotApi) -> None:
    bot = await start_bot(followup_corrections=False)
    customer, agent = api.user(CUSTOMER_ID, "Nusrat"), api.user(AGENT_ID, "Karim")
    await ask(api, customer, "amar order kothay?")
    await ask(api, customer, "Return policy ki?")

    # An order id in the answer: personal unless the agent says otherwise.
    mark = api.mark()
    await api.say(agent, "/correct 1 Nusrat apu, BG-10002345 kal pouchabe.", chat_id=AGENTS_CHAT)
    (confirm,) = await api.wait_for("sendMessage", in_group, since=mark)
    first = confirm.text.splitlines()[0]
    assert first.startswith("✏️ reply #1 corrected; 🔒 personal (it names an order id (BG-")
    assert "a name (Nusrat)" in first
    assert [b["text"] for b in confirm.buttons] == ["🌐 Make general"]

    # --personal on a text with nothing personal in it; the usage line names the flags.
    await api.say(agent, "/correct 2 --personal 7 diner moddhe ferot.", chat_id=AGENTS_CHAT)
    (second,) = await api.wait_for(
        "sendMessage", lambda c: in_group(c) and "reply #2" in c.text, since=mark
    )
    assert "🔒 personal (you said so)" in second.text
    await api.say(agent, "/correct 2 --general", chat_id=AGENTS_CHAT)
    (usage,) = await api.wait_for(
        "sendMessage", lambda c: in_group(c) and "Usage:" in c.text, since=mark
    )
    assert "[--personal|--general]" in usage.text

    # The button flips it, audited, and the confirmation says who set it.
    mark = api.mark()
    await api.press(agent, confirm.result, confirm.buttons[0]["callback_data"])
    (edited,) = await api.wait_for("editMessageText", since=mark)
    assert edited.text.startswith("✏️ reply #1 corrected; 🌐 general (you said so)")
    assert edited.text.endswith("(set by Karim)")
    assert [b["text"] for b in edited.buttons] == ["🔒 Make personal"]
    with bot.database.read() as session:
        rows = session.scalars(select(Correction).order_by(Correction.id)).all()
        assert [(r.reply_id, r.personal) for r in rows] == [(1, False), (2, True)]
    assert audit_count(bot.database, "correction.personal", actor_user_id=AGENT_ID) == 1

    # A forged flip (no such correction) changes nothing.
    mark = api.mark()
    await api.press(agent, confirm.result, "ps:999:p")
    (answered,) = await api.wait_for("answerCallbackQuery", since=mark)
    assert "no correction with id 999" in answered.params.get("text", "")
    assert audit_count(bot.database, "correction.personal") == 1


async def test_fixed_notes_are_corrected_not_approved(start_bot: Any, api: FakeBotApi) -> None:
    bot = await start_bot()
    agent = api.user(AGENT_ID, "Karim")
    # A language the bot does not serve gets the fixed bilingual note (source system).
    _, mirror = await ask(api, api.user(CUSTOMER_ID), "Ich möchte meine Bestellung stornieren")
    assert [b["text"] for b in mirror.buttons] == ["✏️ Correct"]
    mark = api.mark()
    await api.say(agent, "/approve 1", chat_id=AGENTS_CHAT)
    (refusal,) = await api.wait_for("sendMessage", in_group, since=mark)
    assert "fixed system note" in refusal.text and "correct it" in refusal.text
    with bot.database.read() as session:
        reply = session.get(BotReply, 1)
        assert (reply.source, reply.review) == ("system", "unreviewed")
    assert audit_count(bot.database, "reply.approve") == 0
