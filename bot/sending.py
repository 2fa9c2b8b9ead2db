"""Sending text: split at Telegram's length limit, plain text only, typing while waiting."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import unicodedata
from collections.abc import AsyncIterator

from telegram import Bot, InlineKeyboardMarkup, Message, ReplyParameters
from telegram.constants import ChatAction, MessageLimit
from telegram.error import TelegramError

log = logging.getLogger(__name__)

LIMIT = MessageLimit.MAX_TEXT_LENGTH  # 4096
# "typing…" shows for about 5 s; renew it a little sooner while an answer is being written.
TYPING_EVERY_S = 4.0


def utf16_len(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units: an emoji counts two)."""
    return len(text.encode("utf-16-le")) // 2


def _hard_cut(word: str, limit: int) -> tuple[str, str]:
    """Cut an overlong word at ``limit`` UTF-16 units without splitting a letter from its signs."""
    cut, used = 0, 0
    for index, char in enumerate(word):
        size = 2 if ord(char) > 0xFFFF else 1
        if used + size > limit:
            break
        used += size
        cut = index + 1
    # Back off so that a vowel sign, hasanta, ZWJ or ZWNJ stays with the letter before it.
    while 1 < cut < len(word) and (
        unicodedata.category(word[cut]).startswith("M") or word[cut] in "\u200c\u200d"
    ):
        cut -= 1
    return word[:cut], word[cut:]


def split_text(text: str, limit: int = LIMIT) -> list[str]:
    """Chunks of at most ``limit`` UTF-16 units, cut at paragraph, line or word boundaries."""
    text = text.strip()
    if utf16_len(text) <= limit:
        return [text] if text else []
    chunks: list[str] = []
    rest = text
    while utf16_len(rest) > limit:
        window = rest[: limit + 1]
        while utf16_len(window) > limit + 1:
            window = window[:-1]
        # Prefer the strongest boundary in the second half of the window; a paragraph break
        # near the start would leave a stub of a message.
        cut = -1
        for separator, earliest in (
            ("\n\n", len(window) // 2),
            ("\n", len(window) // 2),
            (" ", len(window) // 2),
            (" ", 1),
        ):
            cut = window.rfind(separator, earliest)
            if cut >= earliest:
                break
            cut = -1
        if cut > 0:
            head, rest = rest[:cut], rest[cut:]
        else:
            head, rest = _hard_cut(rest, limit)
        head, rest = head.rstrip(), rest.lstrip()
        if head:
            chunks.append(head)
    if rest:
        chunks.append(rest)
    return chunks


async def send_text(
    bot: Bot,
    chat_id: int,
    text: str,
    *,
    reply_markup: InlineKeyboardMarkup | None = None,
    reply_to: int | None = None,
) -> list[Message]:
    """Send ``text`` as plain text (no parse mode: model output cannot inject markup).

    Long text goes out in several messages; the buttons ride on the last one.
    """
    chunks = split_text(text) or ["…"]
    sent: list[Message] = []
    for index, chunk in enumerate(chunks):
        last = index == len(chunks) - 1
        sent.append(
            await bot.send_message(
                chat_id,
                chunk,
                parse_mode=None,
                reply_markup=reply_markup if last else None,
                reply_parameters=(
                    ReplyParameters(reply_to, allow_sending_without_reply=True)
                    if reply_to is not None and index == 0
                    else None
                ),
            )
        )
    return sent


@contextlib.asynccontextmanager
async def typing(bot: Bot, chat_id: int, *, show: bool = True) -> AsyncIterator[None]:
    """Show "typing…" in the chat until the block ends (sent at once, then renewed).

    ``show=False`` shows nothing (the bot is crowded: see ``bot.deps.TYPING_UP_TO``).
    """
    if not show:
        yield
        return

    async def show() -> None:
        try:
            await bot.send_chat_action(chat_id, ChatAction.TYPING)
        except TelegramError as exc:  # cosmetic: never fail an answer over it
            log.debug("chat action failed: %s", exc)

    async def keep_typing() -> None:
        while True:
            await asyncio.sleep(TYPING_EVERY_S)
            await show()

    await show()
    task = asyncio.create_task(keep_typing())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
