"""Who may use agent and operator commands, checked by numeric Telegram user id.

Usernames can be changed by their owner and reused by someone else, so they are never used to
decide anything. Staff come from the database (``uttor staff add``) plus ``UTTOR_ADMIN_IDS``,
who are operators. Operators may do everything agents may.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Literal

from telegram import Update
from telegram.ext import ContextTypes

from bot.deps import deps
from storage.staff import audit, role_of

log = logging.getLogger(__name__)

Role = Literal["agent", "operator"]
Handler = Callable[[Update, ContextTypes.DEFAULT_TYPE], Awaitable[None]]

# Which roles satisfy a requirement.
_GRANTS: dict[Role, tuple[str, ...]] = {"agent": ("agent", "operator"), "operator": ("operator",)}

REFUSAL: dict[Role, str] = {
    "agent": "দুঃখিত, এই কমান্ড শুধু কর্মীদের জন্য। Sorry, this command is for staff only.",
    "operator": "Sorry, this command is for operators only.",
}


async def role_of_user(context: ContextTypes.DEFAULT_TYPE, user_id: int) -> str | None:
    """``agent``, ``operator`` or ``None`` for this numeric user id."""
    admin_ids = deps(context).config.admin_ids
    return await deps(context).read(
        lambda session: role_of(session, telegram_user_id=user_id, admin_ids=admin_ids)
    )


async def has_role(context: ContextTypes.DEFAULT_TYPE, user_id: int, role: Role) -> bool:
    return await role_of_user(context, user_id) in _GRANTS[role]


def command_name(update: Update) -> str:
    """``/correct`` for a command message, ``button:ap`` for a button press (for the audit)."""
    if update.callback_query is not None:
        return "button:" + (update.callback_query.data or "").split(":", 1)[0]
    text = update.effective_message.text if update.effective_message else None
    if not text:
        return "?"
    return text.split(maxsplit=1)[0].split("@", 1)[0][:32]


async def refuse(
    update: Update, context: ContextTypes.DEFAULT_TYPE, role: Role, action: str | None = None
) -> None:
    """Tell a user they may not do this, and write the attempt to the audit log.

    ``action`` names the attempt when it is not a command or a button (a reply to a post).
    """
    user = update.effective_user
    chat = update.effective_chat
    action = action or command_name(update)
    await deps(context).write(
        lambda session: audit(
            session,
            actor_user_id=user.id if user else None,
            action="refused",
            target_type="command",
            target_id=action,
            detail={"needs": role, "chat_id": chat.id if chat else None},
        )
    )
    log.warning("refused %s to user %s (needs %s)", action, user.id if user else None, role)
    if update.callback_query is not None:
        await update.callback_query.answer(REFUSAL[role], show_alert=True)
    elif update.effective_message is not None:
        await update.effective_message.reply_text(REFUSAL[role])


def staff_only(role: Role) -> Callable[[Handler], Handler]:
    """Run the handler only for users with ``role``; refuse and audit everyone else."""

    def wrap(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def guarded(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            user = update.effective_user
            if user is not None and await has_role(context, user.id, role):
                await handler(update, context)
            else:
                await refuse(update, context, role)

        return guarded

    return wrap


async def usage(update: Update, line: str) -> None:
    """Answer a malformed staff command with its usage line."""
    if update.effective_message is not None:
        await update.effective_message.reply_text(f"Usage: {line}")
