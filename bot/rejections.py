"""Operators find agents' corrections through the audit log and reject bad (poisoned) ones.

Every correction is written to the audit log with its author. ``/corrections [AGENT_ID]`` lists
the newest ones (optionally one agent's); ``/reject CORRECTION_ID [reason]`` withdraws one:
correction memory stops using it at the next question (it reloads when the set of active
corrections changes), the next export leaves it out, the reply goes back to ``/pending``, and
the rejection itself is audited. The actions are ``operations/corrections.py``, which
``uttor corrections list/reject`` runs too.
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import ContextTypes

from bot.args import row_id, telegram_id
from bot.deps import deps
from bot.handoff import clip
from bot.roles import staff_only, usage
from bot.sending import send_text
from operations.corrections import list_corrections, reject, rejection_text
from storage.corrections import AuditedCorrection

log = logging.getLogger(__name__)

REJECT_USAGE = "/reject CORRECTION_ID [reason] (ids: /corrections)"
CORRECTIONS_USAGE = "/corrections [AGENT_USER_ID]"
LISTED = 10
CLIP = 160


def listing_line(item: AuditedCorrection) -> str:
    """One correction in a list: id, state, author, reply, time, and the start of its text."""
    when = item.created_at.strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"#{item.correction_id} · {item.status} · by {item.agent_user_id} · reply "
        f"#{item.reply_id} · {when}\n  Q: {clip(item.question, CLIP)}\n  A: {clip(item.text, CLIP)}"
    )


@staff_only("operator")
async def corrections_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/corrections [AGENT_USER_ID]: the newest corrections from the audit log."""
    message = update.effective_message
    assert message is not None
    args = context.args or []
    agent = telegram_id(args[0]) if len(args) == 1 else None
    if len(args) > 1 or (args and agent is None):
        await usage(update, CORRECTIONS_USAGE)
        return
    found = await deps(context).call(list_corrections, agent_user_id=agent, limit=LISTED)
    by = f" by {agent}" if agent else ""
    if not found:
        await message.reply_text(f"No corrections{by} in the audit log.")
        return
    head = f"Newest corrections{by} (/reject ID to withdraw one):"
    await send_text(context.bot, message.chat_id, "\n".join([head, *map(listing_line, found)]))


@staff_only("operator")
async def reject_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/reject CORRECTION_ID [reason]: withdraw a correction from memory and training."""
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None and message.text is not None
    parts = message.text.split(maxsplit=2)
    correction_id = row_id(parts[1]) if len(parts) >= 2 else None
    if correction_id is None:
        await usage(update, REJECT_USAGE)
        return
    reason = parts[2].strip() if len(parts) == 3 else ""
    result = await deps(context).call(reject, [correction_id], actor_user_id=user.id, reason=reason)
    if result.errors:  # unknown, or rejected already
        await message.reply_text(f"Not rejected: {result.errors[0]}.")
        return
    log.info("operator %s rejected correction %s", user.id, correction_id)
    await message.reply_text(rejection_text(result.done[0]))
