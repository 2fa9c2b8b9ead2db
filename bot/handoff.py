"""Handoff to a human: the bot steps aside and relays between a customer and the agents group.

A customer's messages during a handoff are posted to the agents group under a header line
``💬 chat <chat id> · msg <message id> · …``. An agent answers by replying to such a post; the
header tells the bot where the answer goes, so no extra table maps group posts to chats. Each
answer is stored with the question it answers (a handoff pair) as training material; ``/exclude``
takes the answers to one customer message out of training again.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from telegram import Message, ReplyParameters, Update
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot.args import row_id, telegram_id
from bot.deps import deps
from bot.records import Who, store_outbound, who_by_chat
from bot.roles import staff_only, usage
from bot.sending import send_text
from model.text.langid import detect
from model.text.normalize import is_blank, strip_controls
from model.text.replies import say
from storage.conversations import add_message, find_message, recent_messages
from storage.errors import NotFound
from storage.handoffs import (
    add_handoff_pair,
    end_handoff,
    exclude_answers,
    idle_handoffs,
    open_handoff,
    start_handoff,
)
from storage.leases import acquire_lease
from storage.models import Chat, utcnow

log = logging.getLogger(__name__)

RELAY_HEAD = re.compile(r"^💬 chat (-?\d+) · msg (\d+)")
TAKEOVER_USAGE = "/takeover CHAT_ID"
RELEASE_USAGE = "/release CHAT_ID"
EXCLUDE_USAGE = "/exclude CHAT_ID MSG_ID (as in a relay's header), or reply /exclude to a relay"
# Attachment kinds named in relays, in the order Telegram's Message fields are checked.
MEDIA_KINDS = (
    "sticker",
    "photo",
    "voice",
    "audio",
    "video_note",
    "video",
    "animation",
    "document",
    "location",
    "venue",
    "contact",
    "poll",
    "dice",
)
#: The lease that makes one replica expire idle handoffs; longer than the job's interval
#: (``bot.app.HANDOFF_CHECK_EVERY_S``), so its holder keeps it from one run to the next.
EXPIRY_LEASE_NAME = "handoff-expiry"
EXPIRY_LEASE = timedelta(seconds=150)
# How much recent conversation an agent sees when a customer asks for a human.
CONTEXT_MESSAGES = 4
CONTEXT_CLIP = 300


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


async def notify_agents(context: ContextTypes.DEFAULT_TYPE, text: str) -> Message | None:
    """Post a line to the agents group; ``None`` when no group is configured."""
    chat_id = deps(context).config.agents_chat_id
    if chat_id is None:
        log.warning("UTTOR_AGENTS_CHAT_ID is not set: agents were not told about a handoff")
        return None
    sent = await send_text(context.bot, chat_id, text)
    return sent[-1] if sent else None


def _begin(session: Session, who: Who, requested_by: str, agent_user_id: int | None) -> list[str]:
    start_handoff(
        session, chat_id=who.chat_id, requested_by=requested_by, agent_user_id=agent_user_id
    )
    arrows = {"in": "→", "out": "←"}
    return [
        f"{arrows[m.direction]} {clip(m.text, CONTEXT_CLIP)}"
        for m in recent_messages(session, chat_id=who.chat_id, limit=CONTEXT_MESSAGES)
    ]


async def customer_asks_for_agent(
    update: Update, context: ContextTypes.DEFAULT_TYPE, who: Who
) -> None:
    """Put the customer's chat in human mode and call the agents."""
    recent = await deps(context).write(lambda session: _begin(session, who, "customer", None))
    assert update.effective_message is not None
    await update.effective_message.reply_text(say("agent_requested", who.language))
    lines = [f"🙋 {who.label} asks for a human agent (chat {who.telegram_chat_id})."]
    if recent:
        lines += ["Recent messages:", *recent]
    lines.append(
        "Reply to their messages posted here to answer them; "
        f"/release {who.telegram_chat_id} hands the chat back to the bot."
    )
    await notify_agents(context, "\n".join(lines))
    log.info("chat %s asked for an agent", who.telegram_chat_id)


async def relay_customer_text(
    context: ContextTypes.DEFAULT_TYPE, who: Who, message: Message, *, edited: bool = False
) -> None:
    """Store a customer's text during a handoff and post it to the agents group."""
    text = strip_controls(message.text or "")
    language = detect(text).label
    if not edited:
        await deps(context).write(
            lambda session: add_message(
                session,
                chat_id=who.chat_id,
                direction="in",
                text=text,
                language=language,
                customer_id=who.customer_id,
                telegram_message_id=message.message_id,
            )
        )
    mark = " · edited" if edited else ""
    head = f"💬 chat {who.telegram_chat_id} · msg {message.message_id} · {language}{mark}"
    await notify_agents(context, f"{head} · {who.label}\n{text}")


async def relay_customer_media(
    context: ContextTypes.DEFAULT_TYPE, who: Who, message: Message
) -> None:
    """Show agents a photo, voice note, file… the customer sent during a handoff."""
    kind = next((k for k in MEDIA_KINDS if getattr(message, k, None)), "attachment")
    head = f"💬 chat {who.telegram_chat_id} · msg {message.message_id} · {kind} · {who.label}"
    posted = await notify_agents(context, head)
    if posted is None:
        return
    try:
        await message.copy(posted.chat_id, reply_parameters=ReplyParameters(posted.message_id))
    except TelegramError as exc:  # some kinds (polls from others, dice) cannot be copied
        log.warning("could not copy a %s to the agents group: %s", kind, exc)


@dataclass(frozen=True)
class _Target:
    who: Who
    handoff_id: int
    question_id: int | None


def _target(session: Session, telegram_chat_id: int, telegram_message_id: int) -> _Target | str:
    who = who_by_chat(session, telegram_chat_id=telegram_chat_id)
    if who is None:
        return f"The bot has never talked with chat {telegram_chat_id}."
    handoff = open_handoff(session, chat_id=who.chat_id)
    if handoff is None:
        return (
            f"Chat {telegram_chat_id} is back with the bot; "
            f"/takeover {telegram_chat_id} to answer it yourself."
        )
    question = find_message(
        session, chat_id=who.chat_id, direction="in", telegram_message_id=telegram_message_id
    )
    return _Target(who=who, handoff_id=handoff.id, question_id=question.id if question else None)


def _store_answer(
    session: Session, target: _Target, agent_user_id: int, text: str, telegram_message_id: int
) -> None:
    answer_id = store_outbound(
        session,
        chat_id=target.who.chat_id,
        text=text,
        language=detect(text).label,
        telegram_message_id=telegram_message_id,
    )
    handoff = open_handoff(session, chat_id=target.who.chat_id)
    if handoff is not None and handoff.agent_user_id is None:
        # The first agent to answer a customer's request claims the chat.
        start_handoff(
            session,
            chat_id=target.who.chat_id,
            requested_by="customer",
            agent_user_id=agent_user_id,
        )
    if target.question_id is not None:
        add_handoff_pair(
            session,
            handoff_id=target.handoff_id,
            question_message_id=target.question_id,
            answer_message_id=answer_id,
            agent_user_id=agent_user_id,
        )


async def relay_agent_answer(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    telegram_chat_id: int,
    telegram_message_id: int,
) -> None:
    """Send an agent's reply to a relayed message on to the customer, and keep the pair."""
    message, agent = update.effective_message, update.effective_user
    assert message is not None and agent is not None and message.text
    text = strip_controls(message.text)
    if is_blank(text):
        await message.reply_text("Nothing was sent: the answer is empty.")
        return
    d = deps(context)
    target = await d.read(lambda session: _target(session, telegram_chat_id, telegram_message_id))
    if isinstance(target, str):
        await message.reply_text(target)
        return
    sent = await send_text(context.bot, telegram_chat_id, text)
    await d.write(
        lambda session: _store_answer(session, target, agent.id, text, sent[-1].message_id)
    )
    log.info("agent %s answered chat %s", agent.id, telegram_chat_id)


def _chat_arg(context: ContextTypes.DEFAULT_TYPE) -> int | None:
    args = context.args or []
    return telegram_id(args[0]) if len(args) == 1 else None


@staff_only("agent")
async def takeover(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/takeover CHAT_ID: an agent answers this chat instead of the bot."""
    message, agent = update.effective_message, update.effective_user
    assert message is not None and agent is not None
    telegram_chat_id = _chat_arg(context)
    if telegram_chat_id is None:
        await usage(update, TAKEOVER_USAGE)
        return
    d = deps(context)
    who = await d.read(lambda session: who_by_chat(session, telegram_chat_id=telegram_chat_id))
    if who is None:
        await message.reply_text(f"The bot has never talked with chat {telegram_chat_id}.")
        await usage(update, TAKEOVER_USAGE)
        return
    await d.write(lambda session: _begin(session, who, "agent", agent.id))
    await send_text(context.bot, telegram_chat_id, say("agent_joined", who.language))
    note = (
        f"🙋 chat {telegram_chat_id} ({who.label}) is now answered by {agent.full_name}: reply "
        f"to its messages in the agents group; /release {telegram_chat_id} hands it back."
    )
    await message.reply_text(note)
    if message.chat_id != d.config.agents_chat_id:
        await notify_agents(context, note)
    log.info("agent %s took over chat %s", agent.id, telegram_chat_id)


async def hand_back(
    context: ContextTypes.DEFAULT_TYPE, who: Who, reason: str, actor_user_id: int | None
) -> None:
    """End the handoff of a chat and tell the customer the bot answers again."""
    await deps(context).write(
        lambda session: end_handoff(
            session, chat_id=who.chat_id, reason=reason, actor_user_id=actor_user_id
        )
    )
    await send_text(context.bot, who.telegram_chat_id, say("released", who.language))


@staff_only("agent")
async def release(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/release CHAT_ID: hand a chat back to the bot."""
    message, agent = update.effective_message, update.effective_user
    assert message is not None and agent is not None
    telegram_chat_id = _chat_arg(context)
    if telegram_chat_id is None:
        await usage(update, RELEASE_USAGE)
        return
    d = deps(context)
    who = await d.read(lambda session: who_by_chat(session, telegram_chat_id=telegram_chat_id))
    if who is None or who.mode != "human":
        await message.reply_text(f"Chat {telegram_chat_id} is not handed off to an agent.")
        return
    try:
        await hand_back(context, who, "released", agent.id)
    except NotFound:  # released by someone else a moment ago
        await message.reply_text(f"Chat {telegram_chat_id} is not handed off to an agent.")
        return
    await message.reply_text(f"Chat {telegram_chat_id} is back with the bot.")
    log.info("agent %s released chat %s", agent.id, telegram_chat_id)


def _exclude_target(update: Update, context: ContextTypes.DEFAULT_TYPE) -> tuple[int, int] | None:
    """(telegram chat id, customer's message id) from the arguments or the relay replied to."""
    args = context.args or []
    if len(args) == 2:
        chat_id, message_id = telegram_id(args[0]), row_id(args[1])
        return (chat_id, message_id) if chat_id is not None and message_id is not None else None
    message = update.effective_message
    target = message.reply_to_message if message is not None else None
    # Only the bot's own relay posts are trusted to name a chat and a message.
    if args or target is None or target.from_user is None or target.from_user.id != context.bot.id:
        return None
    relay = RELAY_HEAD.match((target.text or "").split("\n", 1)[0])
    return (int(relay.group(1)), int(relay.group(2))) if relay else None


def _exclude(session: Session, telegram_chat_id: int, message_id: int, agent_user_id: int) -> str:
    who = who_by_chat(session, telegram_chat_id=telegram_chat_id)
    question = (
        find_message(session, chat_id=who.chat_id, direction="in", telegram_message_id=message_id)
        if who is not None
        else None
    )
    if question is None:
        return f"No message {message_id} of chat {telegram_chat_id} is stored."
    count = exclude_answers(session, question_message_id=question.id, actor_user_id=agent_user_id)
    if count == 0:
        return (
            f"No answer to message {message_id} of chat {telegram_chat_id} is kept for training "
            "(none was given, or it is excluded already)."
        )
    answers = "answer" if count == 1 else "answers"
    return (
        f"🚫 {count} {answers} to message {message_id} of chat {telegram_chat_id} "
        "will not be used for training."
    )


@staff_only("agent")
async def exclude(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/exclude CHAT_ID MSG_ID: agents' answers to that customer message do not train the bot."""
    message, agent = update.effective_message, update.effective_user
    assert message is not None and agent is not None
    target = _exclude_target(update, context)
    if target is None:
        await usage(update, EXCLUDE_USAGE)
        return
    telegram_chat_id, message_id = target
    text = await deps(context).write(
        lambda session: _exclude(session, telegram_chat_id, message_id, agent.id)
    )
    await message.reply_text(text)
    log.info("agent %s excluded msg %s of chat %s", agent.id, message_id, telegram_chat_id)


def _idle(session: Session, minutes: int) -> list[Who]:
    found = idle_handoffs(session, idle_since=utcnow() - timedelta(minutes=minutes))
    chats = [session.get(Chat, handoff.chat_id) for handoff in found]
    return [
        who
        for chat in chats
        if chat is not None
        and (who := who_by_chat(session, telegram_chat_id=chat.telegram_chat_id)) is not None
    ]


async def expire_idle_handoffs(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Job: chats idle in human mode for UTTOR_HANDOFF_TIMEOUT_MIN go back to the bot.

    Every replica runs this job; a lease makes one of them do the work (the same one while
    it lives, another within :data:`EXPIRY_LEASE` of its death), so a customer and the
    agents hear of a timeout once.
    """
    d = deps(context)
    holder = d.instance
    try:
        leading = await d.write(
            lambda session: acquire_lease(
                session, name=EXPIRY_LEASE_NAME, holder=holder, ttl=EXPIRY_LEASE
            )
        )
    except IntegrityError:  # another replica created the lease at this very moment
        leading = False
    if not leading:
        return
    minutes = d.config.handoff_timeout_min
    for who in await d.read(lambda session: _idle(session, minutes)):
        try:
            await hand_back(context, who, "timeout", None)
        except NotFound:
            continue
        await notify_agents(
            context, f"⏱ chat {who.telegram_chat_id} was idle {minutes} min: back with the bot."
        )
        log.info("handoff of chat %s timed out", who.telegram_chat_id)
