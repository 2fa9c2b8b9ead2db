"""Agents' corrections: ``/correct``, the ✏️ prompt, replies to mirrors; personal or general.

A correction replaces a bot reply's answer; the customer gets it as a follow-up (per
``UTTOR_FOLLOWUP_CORRECTIONS``) and the reply leaves the agents' pending list. A *personal*
correction answers that reply only: retrieval never gives it to another customer, and the
nightly export still trains on it once redacted. A *general* one answers similar questions
at once. An agent says which with ``--personal`` or ``--general`` before the answer
(``/correct 12 --general text``, or the same at the start of a reply to a mirror); otherwise
the text decides (:func:`model.text.personal.personal_reasons`: an order id, a name, an
amount, personal data). The confirmation says what was decided and why, with a button that
flips it.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from sqlalchemy.orm import Session
from telegram import (
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    ReplyParameters,
    Update,
)
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot import handoff
from bot.args import row_id
from bot.deps import deps
from bot.records import ReplyCard, reply_card, store_outbound
from bot.roles import staff_only, usage
from bot.sending import LIMIT, send_text
from model.text.normalize import is_blank, strip_controls
from model.text.personal import Personal, personal_reasons
from model.text.redact import find_pii
from model.text.replies import say
from storage.corrections import add_correction, set_personal
from storage.errors import StorageError
from storage.knowledge import knowledge_entries, knowledge_stamp
from storage.models import BotReply, Chat, Customer
from storage.models import Message as StoredMessage

log = logging.getLogger(__name__)

FLIP = "ps"
CORRECT_USAGE = (
    "/correct REPLY_ID [--personal|--general] corrected answer (or reply to a mirrored reply)"
)
FLAG = re.compile(r"^\s*(--personal|--general)(?:\s+|$)", re.IGNORECASE)
ALLOW_KEY = "personal_allow"


@dataclass(frozen=True)
class Decision:
    """Personal or general, and why."""

    personal: bool
    reasons: tuple[Personal, ...] = ()
    chosen: bool = False
    """The agent said so (``--personal`` / ``--general`` or the button)."""


def split_flag(text: str) -> tuple[bool | None, str]:
    """(``True`` for --personal, ``False`` for --general, ``None``: not said; the rest)."""
    match = FLAG.match(text)
    if match is None:
        return None, text
    return match.group(1).lower() == "--personal", text[match.end() :]


def public_strings(session: Session, cache: dict[str, object]) -> frozenset[str]:
    """Personal-looking strings the knowledge base states (the company's own contacts).

    Scanning every answer takes about 0.1 s per thousand entries, so the set is kept in
    ``cache`` (the application's ``bot_data``) until the knowledge base changes.
    """
    stamp = knowledge_stamp(session)
    cached = cache.get(ALLOW_KEY)
    if isinstance(cached, tuple) and cached[0] == stamp:
        return cached[1]
    found = frozenset(
        original for entry in knowledge_entries(session) for _, original in find_pii(entry.answer)
    )
    cache[ALLOW_KEY] = (stamp, found)
    return found


def customer_names(session: Session, reply_id: int) -> list[str]:
    """The display name and username of the customer a reply went to."""
    reply = session.get(BotReply, reply_id)
    answer = session.get(StoredMessage, reply.message_id) if reply else None
    chat = session.get(Chat, answer.chat_id) if answer else None
    customer = session.get(Customer, chat.customer_id) if chat and chat.customer_id else None
    if customer is None:
        return []
    return [n for n in (customer.display_name, customer.username) if n]


def decide(
    session: Session, reply_id: int, text: str, said: bool | None, cache: dict[str, object]
) -> Decision:
    """The agent's choice when given, else what the text shows."""
    if said is not None:
        return Decision(said, chosen=True)
    reasons = personal_reasons(
        text,
        customer_names=customer_names(session, reply_id),
        allow=public_strings(session, cache),
    )
    return Decision(bool(reasons), tuple(reasons))


def describe(decision: Decision) -> str:
    """One line for the agent: what was decided and why."""
    if decision.personal:
        why = "you said so"
        if decision.reasons:
            kinds = dict.fromkeys(f"{r.kind} ({r.text})" for r in decision.reasons[:3])
            why = "it names " + ", ".join(kinds)
        return f"🔒 personal ({why}): only this customer got it; never reused."
    why = "you said so" if decision.chosen else "nothing in it is one customer's"
    return f"🌐 general ({why}): similar questions get this answer now."


def flip_button(correction_id: int, personal: bool) -> InlineKeyboardMarkup:
    """The button that makes a correction the other kind."""
    label, target = ("🌐 Make general", "g") if personal else ("🔒 Make personal", "p")
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=f"{FLIP}:{correction_id}:{target}")]]
    )


@staff_only("agent")
async def on_flip_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """🔒/🌐 under a correction's confirmation: make it personal or general (audited)."""
    query, agent = update.callback_query, update.effective_user
    assert query is not None and query.data is not None and agent is not None
    _, raw_id, target = query.data.split(":", 2)
    correction_id = row_id(raw_id)
    if correction_id is None or target not in ("p", "g"):  # a forged button
        await query.answer()
        return
    personal = target == "p"
    try:
        await deps(context).write(
            lambda session: set_personal(
                session, correction_id=correction_id, personal=personal, actor_user_id=agent.id
            )
        )
    except StorageError as exc:
        await query.answer(str(exc))
        return
    decision = Decision(personal, chosen=True)
    await query.answer("Personal: kept to that reply." if personal else "General: reused now.")
    if query.message is not None and hasattr(query.message, "text") and query.message.text:
        # The first line is "✏️ reply #N corrected; <what was decided>"; the rest stays.
        lines = query.message.text.split("\n")
        lines[0] = f"{lines[0].split('; ', 1)[0]}; {describe(decision)} (set by {agent.full_name})"
        try:
            await query.edit_message_text(
                "\n".join(lines), reply_markup=flip_button(correction_id, personal)
            )
        except TelegramError as exc:
            log.debug("confirmation not updated: %s", exc)


@staff_only("agent")
async def on_correct_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """✏️ under a mirrored reply: ask for the corrected answer as a reply."""
    query = update.callback_query
    assert query is not None and query.data is not None
    reply_id = row_id(query.data.split(":", 1)[1])
    if reply_id is None or query.message is None:  # forged, or under an inline message
        await query.answer()
        return
    exists = await deps(context).read(lambda session: session.get(BotReply, reply_id) is not None)
    if not exists:
        await query.answer(f"There is no reply #{reply_id}.")
        return
    await query.answer()
    await context.bot.send_message(
        query.message.chat.id,
        f"✏️ reply #{reply_id}: reply to this message with the corrected answer (start it "
        "with --personal or --general to choose; otherwise the text decides).",
        reply_markup=ForceReply(input_field_placeholder="corrected answer"),
        reply_parameters=ReplyParameters(query.message.message_id),
    )


def _store(
    session: Session,
    reply_id: int,
    agent_user_id: int,
    text: str,
    said: bool | None,
    cache: dict[str, object],
) -> tuple[ReplyCard, Decision, int]:
    decision = decide(session, reply_id, text, said, cache)
    correction = add_correction(
        session,
        reply_id=reply_id,
        agent_user_id=agent_user_id,
        text=text,
        personal=decision.personal,
    )
    card = reply_card(session, reply_id=reply_id)
    assert card is not None
    return card, decision, correction.id


async def apply_correction(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    reply_id: int,
    text: str,
    mirror_post: Message | None = None,
) -> None:
    """Store an agent's correction (retrieval uses a general one at once), follow up with the
    customer, and mark ``mirror_post`` (the mirror the agent replied to) as corrected."""
    message, agent = update.effective_message, update.effective_user
    assert message is not None and agent is not None
    said, text = split_flag(strip_controls(text))
    if is_blank(text):  # only spaces, controls or zero-width characters: no answer at all
        await usage(update, CORRECT_USAGE)
        return
    d, cache = deps(context), context.application.bot_data
    try:
        card, decision, correction_id = await d.write(
            lambda session: _store(session, reply_id, agent.id, text, said, cache)
        )
    except StorageError as exc:  # unknown reply, empty or overlong text
        await message.reply_text(str(exc))
        await usage(update, CORRECT_USAGE)
        return
    log.info("agent %s corrected reply %s", agent.id, reply_id)
    confirmation = f"✏️ reply #{reply_id} corrected; {describe(decision)}"
    if mirror_post is not None and mirror_post.text:
        done = f"{mirror_post.text}\n\n✏️ corrected by {agent.full_name}"
        try:
            await mirror_post.edit_text(handoff.clip(done, LIMIT), reply_markup=None)
        except TelegramError as exc:
            log.debug("mirror not marked corrected: %s", exc)
    if d.config.followup_corrections and card.telegram_chat_id is not None:
        followup = say("followup", card.customer_language, text=text.strip())
        try:
            sent = await send_text(
                context.bot,
                card.telegram_chat_id,
                followup,
                reply_to=card.answer_telegram_message_id,
            )
        except TelegramError as exc:  # the customer may have blocked the bot
            log.warning("follow-up to chat %s failed: %s", card.telegram_chat_id, exc)
            confirmation += "\nThe follow-up could not be delivered."
        else:
            chat_id = card.chat_id
            assert chat_id is not None
            await d.write(
                lambda session: store_outbound(
                    session,
                    chat_id=chat_id,
                    text=followup,
                    language=card.customer_language,
                    telegram_message_id=sent[-1].message_id,
                )
            )
            confirmation += "\nThe customer got it as a follow-up."
    await message.reply_text(
        confirmation, reply_markup=flip_button(correction_id, decision.personal)
    )


@staff_only("agent")
async def correct_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/correct REPLY_ID text: replace a bot reply's answer with the agent's."""
    message = update.effective_message
    assert message is not None and message.text is not None
    # Split the raw text, not context.args, so the answer keeps its line breaks.
    parts = message.text.split(maxsplit=2)
    reply_id = row_id(parts[1]) if len(parts) == 3 else None
    if reply_id is None:
        await usage(update, CORRECT_USAGE)
        return
    await apply_correction(update, context, reply_id, parts[2])
