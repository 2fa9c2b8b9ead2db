"""Customers in private chat: greeting, help, reply language, questions, feedback, a human.

Deliberate choices for updates that are not a customer's new text (see docs/bot.md):

* Edited messages are not answered again; the customer is asked to send the corrected question
  as a new message. During a handoff the edit is relayed to the agents, who are reading along.
* Stickers, photos, voice, documents, locations…: a polite note that only text is understood
  yet, offering /agent; during a handoff they are copied to the agents.
* Groups and channels: the bot answers customers only in private chat. Added to any group other
  than the agents' or operators' chat, or to a channel, it says so and leaves. Messages from such
  chats and channel posts are ignored, never stored.
"""

from __future__ import annotations

import logging
import time

from sqlalchemy.orm import Session
from telegram import (
    ChatMemberUpdated,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot import agents, handoff
from bot.args import row_id
from bot.deps import Deps, deps
from bot.jobs import Job, current_job
from bot.ratelimit import Verdict, judge, verdict_for
from bot.records import (
    Who,
    earlier_reply,
    known,
    record_sent,
    register,
    store_feedback,
    unchanged,
)
from bot.sending import send_text, typing
from model.text.normalize import is_blank
from model.text.replies import say
from storage.conversations import set_preferred_language
from storage.retry import is_unreachable

log = logging.getLogger(__name__)

FEEDBACK = "fb"
LANG_CHOICES = ("auto", "bn", "en", "banglish")


def feedback_buttons(reply_id: int, chosen: int | None = None) -> InlineKeyboardMarkup:
    """👍/👎 under an answer; the pressed one gets a tick."""
    up = "👍" + (" ✓" if chosen == 1 else "")
    down = "👎" + (" ✓" if chosen == -1 else "")
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(up, callback_data=f"{FEEDBACK}:1:{reply_id}"),
                InlineKeyboardButton(down, callback_data=f"{FEEDBACK}:-1:{reply_id}"),
            ]
        ]
    )


async def who_is(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Who:
    """The sender of a private-chat update as a customer: read, registered when new."""
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    d = deps(context)
    who = await d.read(lambda session: _known(session, update))
    if who is not None:
        return who
    return await d.write(
        lambda session: register(
            session,
            telegram_user_id=user.id,
            display_name=user.full_name,
            username=user.username,
            telegram_chat_id=chat.id,
        )
    )


def _known(session: Session, update: Update) -> Who | None:
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    return known(
        session,
        telegram_user_id=user.id,
        display_name=user.full_name,
        username=user.username,
        telegram_chat_id=chat.id,
    )


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Greet a new customer in Bangla and English and say what the bot can do."""
    await who_is(update, context)
    assert update.effective_message is not None
    await update.effective_message.reply_text(say("start", None))


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Explain how to ask, how to choose the reply language and how to reach a human."""
    who = await who_is(update, context)
    assert update.effective_message is not None
    await update.effective_message.reply_text(say("help", who.language))


async def set_language(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/lang auto|bn|en|banglish: set or clear the customer's reply-language preference."""
    message = update.effective_message
    assert message is not None
    choice = (context.args or [""])[0].lower() if context.args else ""
    who = await who_is(update, context)
    if choice not in LANG_CHOICES or len(context.args or []) != 1:
        await message.reply_text(say("lang_usage", who.language))
        return
    language = None if choice == "auto" else choice
    await deps(context).write(
        lambda session: set_preferred_language(
            session, customer_id=who.customer_id, language=language
        )
    )
    if language is None:
        await message.reply_text(say("lang_auto", who.language))
    else:
        await message.reply_text(say("lang_set", language))


async def request_agent(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/agent: hand the chat to a human agent."""
    who = await who_is(update, context)
    await handoff.customer_asks_for_agent(update, context, who)


async def admit(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Who | None:
    """Apply the per-customer limit; the customer when this message is to be handled.

    The verdict is kept on the update's inbox row, where the next messages are judged by it.
    """
    user, message = update.effective_user, update.effective_message
    assert user is not None and message is not None
    job = current_job()
    verdict, who = await judge_sender(deps(context), job, update)
    if job is not None:
        job.verdict = verdict.value
    if verdict is Verdict.DROP:
        return None
    if who is None:
        who = await who_is(update, context)
    if verdict is Verdict.NOTE:
        log.info("rate limit reached by user %s", user.id)
        await message.reply_text(say("rate_limited", who.language))
        return None
    return who


async def judge_sender(d: Deps, job: Job | None, update: Update) -> tuple[Verdict, Who | None]:
    """The rate limit's verdict on an update, and its sender if stored as they are now.

    Both come from what the inbox read when it claimed the update (no database trip);
    without the inbox, from one read.
    """
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    per_minute = d.config.rate_limit_per_min
    if job is not None and job.window is not None:
        identity = {
            "telegram_user_id": user.id,
            "display_name": user.full_name,
            "username": user.username,
            "telegram_chat_id": chat.id,
        }
        return judge(job.window, per_minute), unchanged(job.person, **identity)

    def look(session: Session) -> tuple[Verdict, Who | None]:
        verdict = verdict_for(session, job, per_minute) if job is not None else Verdict.ALLOW
        return verdict, _known(session, update)

    return await d.read(look)


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer a customer's text through the pipeline, or relay it to the agent handling it."""
    message = update.effective_message
    assert message is not None and message.text is not None
    who = await admit(update, context)
    if who is None:
        return
    if is_blank(message.text):
        # Nothing to answer or relay; not conversation, so not stored (like other notes).
        await message.reply_text(say("blank", who.language))
        return
    if who.mode == "human":
        await handoff.relay_customer_text(context, who, message)
        return
    await answer_customer(context, who, message)


async def answer_customer(context: ContextTypes.DEFAULT_TYPE, who: Who, message: Message) -> None:
    """Ask the pipeline, send its answer with feedback buttons, then mirror it to agents.

    The pipeline stores the reply before it is sent. When an update is handled again (its
    first worker died), a reply already stored is not sent again: it went out, or the worker
    died in the moment between storing and sending it (the log says which).
    """
    d = deps(context)
    job = current_job()
    started = time.perf_counter()
    if job is not None and job.attempts > 1 and await _answered_before(d, who, message):
        return
    try:
        # "typing…" shares Telegram's budget of messages per second: with many answers
        # being written at once, the answers get the budget.
        async with typing(context.bot, who.telegram_chat_id, show=not d.crowded()):
            answer = await d.answerer.answer(
                chat_id=who.chat_id,
                customer_id=who.customer_id,
                text=message.text or "",
                telegram_message_id=message.message_id,
                deadline=job.deadline if job is not None else None,
            )
    except Exception as exc:
        if job is not None and is_unreachable(exc):
            raise  # the update goes back to the inbox (bot.app.on_error): tried again later
        # The pipeline answers its own timeouts with a fallback; this is a bug.
        log.exception("the pipeline failed for chat %s", who.telegram_chat_id)
        await message.reply_text(say("failed", who.language))
        return
    markup = feedback_buttons(answer.reply_id) if answer.reply_id is not None else None
    sent = await send_text(context.bot, who.telegram_chat_id, answer.text, reply_markup=markup)
    if answer.message_id is not None and sent:
        if job is not None:
            job.sent.append((answer.message_id, sent[-1].message_id))  # written with "done"
        else:
            message_id, telegram_id = answer.message_id, sent[-1].message_id
            await d.write(
                lambda session: record_sent(
                    session, message_id=message_id, telegram_message_id=telegram_id
                )
            )
    log.info(
        "answered chat %s: reply %s, language %s, source %s, %d part(s), %.0f ms",
        who.telegram_chat_id,
        answer.reply_id,
        answer.language,
        answer.source,
        len(sent),
        (time.perf_counter() - started) * 1000,
    )
    if answer.reply_id is not None:
        agents.mirror_later(context, answer.reply_id, flagged=answer.flagged)


async def _answered_before(d: Deps, who: Who, message: Message) -> bool:
    earlier = await d.read(
        lambda session: earlier_reply(
            session, chat_id=who.chat_id, telegram_message_id=message.message_id
        )
    )
    if earlier is None:
        return False
    if earlier.sent:
        log.info("chat %s: reply %s went out before", who.telegram_chat_id, earlier.reply_id)
    else:
        # Never twice: the process died between storing this reply and recording its send.
        log.warning(
            "chat %s: reply %s was stored but its sending is unconfirmed; not sent again",
            who.telegram_chat_id,
            earlier.reply_id,
        )
    return True


async def on_non_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A sticker, photo, voice note, file or location: say only text is understood yet."""
    message = update.effective_message
    assert message is not None
    who = await admit(update, context)
    if who is None:
        return
    if message.text is not None:  # an empty text: Telegram's clients never send one
        await message.reply_text(say("blank", who.language))
        return
    if who.mode == "human":
        await handoff.relay_customer_media(context, who, message)
        return
    await message.reply_text(say("non_text", who.language))


async def on_edited(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """An edited message: not answered again; relayed as an edit during a handoff."""
    message = update.effective_message
    assert message is not None
    who = await admit(update, context)
    if who is None:
        return
    if who.mode == "human":
        await handoff.relay_customer_text(context, who, message, edited=True)
        return
    await message.reply_text(say("edited", who.language))


async def on_feedback(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """👍/👎 under an answer: record it; a first 👎 flags the reply and shows it to agents."""
    query = update.callback_query
    assert query is not None and query.data is not None
    try:
        _, raw_value, raw_reply = query.data.split(":")
    except ValueError:
        raw_value = raw_reply = ""
    value = {"1": 1, "-1": -1}.get(raw_value)
    reply_id = row_id(raw_reply)
    if value is None or reply_id is None:  # not a button the bot made: nothing to record
        await query.answer()
        return
    chat = update.effective_chat
    accepted, newly_flagged, language = await deps(context).write(
        lambda session: store_feedback(
            session,
            reply_id=reply_id,
            telegram_user_id=query.from_user.id,
            telegram_chat_id=chat.id if chat else 0,
            value=value,
        )
    )
    if not accepted:
        await query.answer()
        return
    await query.answer(say("feedback_thanks", language))
    try:
        await query.edit_message_reply_markup(feedback_buttons(reply_id, chosen=value))
    except TelegramError as exc:  # "message is not modified" when pressed twice
        log.debug("feedback buttons not updated: %s", exc)
    if newly_flagged:
        agents.mirror_later(context, reply_id, flagged=True, by_customer=True)


async def on_membership(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Added to a group or channel that is not a staff chat: say so and leave."""
    change: ChatMemberUpdated | None = update.my_chat_member
    if change is None:
        return
    chat = change.chat
    joined = change.new_chat_member.status in (
        ChatMemberStatus.MEMBER,
        ChatMemberStatus.ADMINISTRATOR,
    )
    settings = deps(context).config
    staff_chats = {settings.agents_chat_id, settings.operators_chat_id}
    if not joined or chat.type == ChatType.PRIVATE or chat.id in staff_chats:
        return
    log.info("added to %s chat %s, which is not a staff chat: leaving", chat.type, chat.id)
    try:
        if chat.type != ChatType.CHANNEL:
            await context.bot.send_message(chat.id, say("private_only", None))
        await context.bot.leave_chat(chat.id)
    except TelegramError as exc:
        log.warning("could not leave chat %s: %s", chat.id, exc)
