"""Operators see and edit the knowledge base from Telegram: ``/kb``, ``/kb_edit``, ``/kb_search``.

An edited answer is what customers get from the next question on, without a retrain: the
edit is audited, and the audit line changes the knowledge base's stamp that serving checks
before each question. The actions are ``operations/knowledge.py``, which ``uttor knowledge``
runs too; files are imported from the shell (``uttor knowledge import``).
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import ContextTypes

from bot.args import row_id
from bot.deps import deps
from bot.handoff import clip
from bot.roles import staff_only, usage
from bot.sending import send_text
from operations.errors import Refused
from operations.knowledge import edit_entry, list_entries, search_entries, show_entry
from storage.knowledge import KnowledgeEntry

log = logging.getLogger(__name__)

KB_USAGE = "/kb ID (find ids with /kb_search words)"
EDIT_USAGE = "/kb_edit ID new answer"
SEARCH_USAGE = "/kb_search words from the question or answer"
FOUND = 10
CLIP = 120


def entry_text(entry: KnowledgeEntry) -> str:
    """An entry in full, as ``/kb`` shows it."""
    topic = entry.topic or "no topic"
    return "\n".join(
        [
            f"📚 #{entry.id} · {entry.source} · {entry.language or '?'} · {topic}",
            f"Q: {entry.question}",
            f"A: {entry.answer}",
            "",
            f"/kb_edit {entry.id} new answer",
        ]
    )


@staff_only("operator")
async def kb_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/kb ID: one knowledge entry in full; /kb alone: how many entries there are."""
    message = update.effective_message
    assert message is not None
    args = context.args or []
    if not args:
        _, total = await deps(context).call(list_entries, limit=0)
        await message.reply_text(f"The knowledge base has {total} entries.\nUsage: {KB_USAGE}")
        return
    entry_id = row_id(args[0]) if len(args) == 1 else None
    if entry_id is None:
        await usage(update, KB_USAGE)
        return
    try:
        entry = await deps(context).call(show_entry, entry_id)
    except Refused as exc:
        await message.reply_text(f"{exc}.")
        return
    await send_text(context.bot, message.chat_id, entry_text(entry))


@staff_only("operator")
async def kb_edit_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/kb_edit ID new answer: replace an entry's answer; customers get it from now on."""
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None and message.text is not None
    # The raw text, not context.args, so the answer keeps its line breaks.
    parts = message.text.split(maxsplit=2)
    entry_id = row_id(parts[1]) if len(parts) == 3 else None
    if entry_id is None:
        await usage(update, EDIT_USAGE)
        return
    try:
        before, after = await deps(context).call(
            edit_entry, entry_id, parts[2], actor_user_id=user.id
        )
    except Refused as exc:  # no such entry, an empty or overlong answer
        await message.reply_text(f"Not changed: {exc}.")
        return
    log.info("operator %s edited knowledge entry %s", user.id, entry_id)
    await send_text(
        context.bot,
        message.chat_id,
        f"📚 #{entry_id} updated; customers get the new answer from the next question.\n"
        f"Q: {after.question}\nWas: {clip(before.answer, CLIP * 4)}\nNow: {after.answer}",
    )


@staff_only("operator")
async def kb_search_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/kb_search words: the entries sharing the most words, with their ids."""
    message = update.effective_message
    assert message is not None and message.text is not None
    parts = message.text.split(maxsplit=1)
    if len(parts) < 2 or not parts[1].strip():
        await usage(update, SEARCH_USAGE)
        return
    found = await deps(context).call(search_entries, parts[1], limit=FOUND)
    if not found:
        await message.reply_text("No knowledge entry has those words.")
        return
    lines = [f"Knowledge entries for “{clip(parts[1], 60)}” (/kb ID for one in full):"]
    for entry in found:
        lines.append(
            f"#{entry.id} · {entry.source} · {entry.language or '?'}: {clip(entry.question, CLIP)}"
            f"\n  → {clip(entry.answer, CLIP)}"
        )
    await send_text(context.bot, message.chat_id, "\n".join(lines))
