"""What the bot needs from the model layer: one call that answers a customer's text.

The handlers depend on this small protocol, not on the model layer's modules; the one
pipeline that ``uttor chat`` uses too (:class:`model.pipeline.Pipeline`) satisfies it.
"""

from __future__ import annotations

from typing import Protocol


class Answer(Protocol):
    """A reply the pipeline produced and stored."""

    @property
    def text(self) -> str: ...

    @property
    def language(self) -> str:
        """Routed language of the question (``bn``, ``en``, ``banglish``, ``mixed``…)."""
        ...

    @property
    def source(self) -> str:
        """``model``, ``memory``, ``fallback`` or ``system``."""
        ...

    @property
    def reply_id(self) -> int | None:
        """The ``bot_replies`` row; ``None`` when nothing was stored (no buttons, no mirror)."""
        ...

    @property
    def message_id(self) -> int | None:
        """The stored outbound message, to record its Telegram message id once sent."""
        ...

    @property
    def flagged(self) -> bool:
        """The pipeline wants an agent to look (a timeout or an error gave a fallback)."""
        ...


class Answerer(Protocol):
    """Answers one customer message: routes, stores the question, answers, stores the reply."""

    async def answer(
        self,
        *,
        chat_id: int,
        customer_id: int | None,
        text: str,
        telegram_message_id: int | None = None,
    ) -> Answer:
        """``chat_id`` and ``customer_id`` are database ids, not Telegram ids."""
        ...
