"""What the bot needs from the model layer: one call that answers a customer's text.

The handlers depend on this small protocol, not on the pipeline's module, so the bot can be
wired to the one pipeline that ``uttor chat`` uses too (``model/pipeline.py``) by
:func:`bot.app.default_answerer`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Answer:
    """A reply the pipeline produced and stored."""

    text: str
    language: str
    """Routed language of the question (``bn``, ``en``, ``banglish``, ``mixed``, ``other``…)."""
    source: str
    """``model``, ``memory`` or ``fallback``."""
    reply_id: int | None
    """The ``bot_replies`` row; ``None`` when nothing was stored (then no buttons, no mirror)."""
    message_id: int | None
    """The stored outbound message, to record the Telegram message id once it is sent."""
    question_message_id: int | None
    flagged: bool = False
    """The pipeline wants an agent to look (a timeout or an error produced a fallback)."""


class Answerer(Protocol):
    """Answers one customer message: routes, stores the question, answers, stores the reply."""

    async def answer(
        self,
        *,
        chat_id: int,
        customer_id: int,
        text: str,
        telegram_message_id: int | None,
    ) -> Answer:
        """``chat_id`` and ``customer_id`` are database ids, not Telegram ids."""
        ...
