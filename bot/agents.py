"""Agents: review mirrored replies, approve or correct them, page through flagged ones.

A mirrored reply in the agents group starts with ``🔎 reply #<id>``; the prompt the ✏️ button
posts starts with ``✏️ reply #<id>``. An agent's reply to either is read as the corrected answer
of that reply: the header carries the id, so no table maps group posts to replies. Only
posts written by the bot itself are trusted, and only staff may correct. A correction is
personal (that reply only) or general (reused for similar questions): bot/personal.py.
"""

from __future__ import annotations

import logging
import re
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session
from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot import handoff
from bot.args import row_id
from bot.corrections import apply_correction
from bot.deps import deps
from bot.records import ReplyCard, reply_card
from bot.roles import has_role, refuse, staff_only, usage
from bot.sending import LIMIT, send_text
from storage.conversations import (
    count_pending_replies,
    customer_messages,
    find_customer,
    pending_replies,
)
from storage.corrections import UNAPPROVABLE_SOURCES, approve_reply
from storage.errors import Conflict, NotFound

log = logging.getLogger(__name__)

APPROVE, CORRECT, PAGE = "ap", "co", "pg"
REVIEW_HEAD = re.compile(r"^(?:🔎|✏️) reply #(\d+)")
APPROVE_USAGE = "/approve REPLY_ID"
PENDING_USAGE = "/pending [PAGE]"
HISTORY_USAGE = "/history CUSTOMER (numeric user id or @username)"
PAGE_SIZE = 5
# A mirror shows question and answer in full up to these lengths, so it fits one message.
MIRROR_CLIP = 1800
LIST_CLIP = 200
HISTORY_MESSAGES = 20


def review_buttons(reply_id: int, *, approvable: bool = True) -> InlineKeyboardMarkup:
    """✅ and ✏️; a fixed note (fallback, system, unsure) can only be corrected."""
    approve = InlineKeyboardButton("✅ Approve", callback_data=f"{APPROVE}:{reply_id}")
    correct = InlineKeyboardButton("✏️ Correct", callback_data=f"{CORRECT}:{reply_id}")
    return InlineKeyboardMarkup([[approve, correct] if approvable else [correct]])


def mirror_text(card: ReplyCard, *, by_customer: bool) -> str:
    head = (
        f"🔎 reply #{card.reply_id} · {card.language or '?'} · {card.source} · "
        f"{card.customer_label}"
    )
    lines = [head]
    if by_customer:
        lines.append("👎 flagged by the customer")
    elif card.flagged:
        lines.append("⚠️ flagged by the bot")
    lines += [
        f"Q: {handoff.clip(card.question, MIRROR_CLIP)}",
        f"A: {handoff.clip(card.answer, MIRROR_CLIP)}",
    ]
    return "\n".join(lines)


def mirror_later(
    context: ContextTypes.DEFAULT_TYPE, reply_id: int, *, flagged: bool, by_customer: bool = False
) -> None:
    """Mirror a reply to the agents group in the background, per ``UTTOR_MIRROR``.

    The customer's answer is already out; the mirror must not wait in the chat's queue, and
    the agents group is throttled to about 20 messages a minute. Shutdown waits for the task
    (``Deps.spawn``), so a mirror is not lost to a SIGTERM.
    """
    settings = deps(context).config
    if settings.agents_chat_id is None or settings.mirror == "off":
        return
    if settings.mirror == "flagged" and not flagged:
        return
    deps(context).spawn(
        mirror(context, reply_id, by_customer=by_customer), name=f"mirror:{reply_id}"
    )


async def mirror(context: ContextTypes.DEFAULT_TYPE, reply_id: int, *, by_customer: bool) -> None:
    """Post one reply to the agents group with ✅ Approve / ✏️ Correct buttons."""
    d = deps(context)
    card = await d.read(lambda session: reply_card(session, reply_id=reply_id))
    if card is None or d.config.agents_chat_id is None:
        return
    try:
        await send_text(
            context.bot,
            d.config.agents_chat_id,
            mirror_text(card, by_customer=by_customer),
            reply_markup=review_buttons(
                reply_id, approvable=card.source not in UNAPPROVABLE_SOURCES
            ),
        )
    except TelegramError as exc:
        log.warning("could not mirror reply %s to the agents group: %s", reply_id, exc)


def _approve(session: Session, reply_id: int, agent_user_id: int) -> str | None:
    """Approve a reply; an error line for the agent, or ``None`` when it worked.

    Storage refuses a corrected reply (its wrong answer would become training material next to
    the correction) and a fixed note (the model would learn to give the note).
    """
    try:
        approve_reply(session, reply_id=reply_id, agent_user_id=agent_user_id)
    except NotFound:
        return f"There is no reply #{reply_id}."
    except Conflict as exc:
        return f"{str(exc)[:1].upper()}{str(exc)[1:]}."
    return None


@staff_only("agent")
async def approve_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/approve REPLY_ID: mark a bot reply as a good answer."""
    message, agent = update.effective_message, update.effective_user
    assert message is not None and agent is not None
    args = context.args or []
    reply_id = row_id(args[0]) if len(args) == 1 else None
    if reply_id is None:
        await usage(update, APPROVE_USAGE)
        return
    error = await deps(context).write(lambda session: _approve(session, reply_id, agent.id))
    if error:
        await message.reply_text(error)
        return
    await message.reply_text(f"✅ reply #{reply_id} approved.")


@staff_only("agent")
async def on_approve_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """✅ under a mirrored reply: approve it and mark the post."""
    query, agent = update.callback_query, update.effective_user
    assert query is not None and agent is not None and query.data is not None
    reply_id = row_id(query.data.split(":", 1)[1])
    if reply_id is None:  # a forged button: nothing to approve
        await query.answer()
        return
    error = await deps(context).write(lambda session: _approve(session, reply_id, agent.id))
    await query.answer(error or f"Reply #{reply_id} approved.")
    if error is None and query.message is not None and hasattr(query.message, "text"):
        done = f"{query.message.text}\n\n✅ approved by {agent.full_name}"
        try:
            await query.edit_message_text(handoff.clip(done, LIMIT), reply_markup=None)
        except TelegramError as exc:
            log.debug("mirror not marked approved: %s", exc)


async def on_staff_reply(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A reply in the agents group to a mirrored reply (a correction) or a relay (an answer)."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None or not message.text:
        return
    target = message.reply_to_message
    if target is None or target.from_user is None or target.from_user.id != context.bot.id:
        return
    first_line = (target.text or "").split("\n", 1)[0]
    review = REVIEW_HEAD.match(first_line)
    relay = handoff.RELAY_HEAD.match(first_line)
    if review is None and relay is None:
        return  # agents talking among themselves
    if not await has_role(context, user.id, "agent"):
        await refuse(update, context, "agent", "reply:correction" if review else "reply:handoff")
        return
    if review is not None:
        mirror_post = target if first_line.startswith("🔎") else None
        await apply_correction(update, context, int(review.group(1)), message.text, mirror_post)
    elif relay is not None:
        await handoff.relay_agent_answer(update, context, int(relay.group(1)), int(relay.group(2)))


def _pending_page(session: Session, page: int) -> tuple[list[ReplyCard], int]:
    replies = pending_replies(session, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    cards = [reply_card(session, reply_id=reply.id) for reply in replies]
    return [card for card in cards if card is not None], count_pending_replies(session)


def _pending_view(
    cards: list[ReplyCard], total: int, page: int
) -> tuple[str, InlineKeyboardMarkup]:
    pages = max(1, -(-total // PAGE_SIZE))
    if not cards:
        lines = ["No flagged replies are waiting." if total == 0 else f"No page {page}."]
    else:
        lines = [f"Flagged replies waiting: {total} (page {page} of {pages}, newest first)"]
        for card in cards:
            lines += [
                "",
                f"#{card.reply_id} · {card.language or '?'} · {card.customer_label}",
                f"Q: {handoff.clip(card.question, LIST_CLIP)}",
                f"A: {handoff.clip(card.answer, LIST_CLIP)}",
            ]
        lines += ["", "/approve ID · /correct ID [--personal|--general] answer"]
    buttons = []
    if page > 1:
        buttons.append(InlineKeyboardButton("◀ newer", callback_data=f"{PAGE}:{page - 1}"))
    if page < pages:
        buttons.append(InlineKeyboardButton("older ▶", callback_data=f"{PAGE}:{page + 1}"))
    return "\n".join(lines), InlineKeyboardMarkup([buttons] if buttons else [])


@staff_only("agent")
async def pending_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/pending [PAGE]: flagged replies no agent has reviewed, newest first."""
    message = update.effective_message
    assert message is not None
    args = context.args or []
    page = row_id(args[0]) if len(args) == 1 else (1 if not args else None)
    if page is None:
        await usage(update, PENDING_USAGE)
        return
    cards, total = await deps(context).read(lambda session: _pending_page(session, page))
    text, markup = _pending_view(cards, total, page)
    await send_text(context.bot, message.chat_id, text, reply_markup=markup)


@staff_only("agent")
async def on_page_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """◀ / ▶ under /pending: show another page in place."""
    query = update.callback_query
    assert query is not None and query.data is not None
    page = row_id(query.data.split(":", 1)[1])
    if page is None:  # a forged page number
        await query.answer()
        return
    cards, total = await deps(context).read(lambda session: _pending_page(session, page))
    text, markup = _pending_view(cards, total, page)
    await query.answer()
    try:
        await query.edit_message_text(handoff.clip(text, LIMIT), reply_markup=markup)
    except TelegramError as exc:  # "not modified" when nothing changed
        log.debug("pending page not updated: %s", exc)


def _history(session: Session, ref: str, timezone: ZoneInfo) -> str | None:
    customer = find_customer(session, ref=ref)
    if customer is None:
        return None
    arrows = {"in": "→", "out": "←"}
    lines = [
        f"History of {customer.display_name or 'customer'} (id {customer.telegram_user_id}"
        + (f", @{customer.username}" if customer.username else "")
        + f", reply language {customer.preferred_language or 'auto'}):"
    ]
    for m in customer_messages(session, customer_id=customer.id, limit=HISTORY_MESSAGES):
        stamp = m.created_at.astimezone(timezone).strftime("%Y-%m-%d %H:%M")
        text = handoff.clip(m.text, LIST_CLIP)
        lines.append(f"{arrows[m.direction]} {stamp} [{m.language or '-'}] {text}")
    if len(lines) == 1:
        lines.append("(no messages)")
    return "\n".join(lines)


@staff_only("agent")
async def history_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/history CUSTOMER: a customer's last messages, both directions."""
    message = update.effective_message
    assert message is not None
    args = context.args or []
    if len(args) != 1:
        await usage(update, HISTORY_USAGE)
        return
    timezone = ZoneInfo(deps(context).config.timezone)
    text = await deps(context).read(lambda session: _history(session, args[0], timezone))
    if text is None:
        await message.reply_text(f"No customer {args[0]}.")
        await usage(update, HISTORY_USAGE)
        return
    await send_text(context.bot, message.chat_id, text)
