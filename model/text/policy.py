"""Which language the bot answers in, and how the prompt builder says so.

Rules, first match wins:

1. The customer's explicit preference (``/lang bn|en|banglish``) overrides detection.
2. ``bn``, ``en``, ``banglish`` and ``mixed`` messages are answered in kind; ``mixed`` gets
   Bengali script that keeps the common English terms the customer used.
3. ``other`` (a language we do not serve) gets a short bilingual note, Bangla then English,
   saying we serve Bangla and English and that ``/agent`` brings a human.
4. ``und`` (emoji, digits, an order id) continues in the chat's last known language; with
   none known, it answers in both Bangla and English.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, cast, get_args

from model.text.languages import LABELS, PREFERRED, REGISTERS, Preferred, Register
from model.text.replies import OTHER_LANGUAGE_NOTE

__all__ = [
    "INSTRUCTIONS",
    "PREFERENCES",
    "Preference",
    "Reason",
    "ReplyLang",
    "ReplyPolicy",
    "note_language",
    "reply_policy",
]

ReplyLang = Literal[Register, "bilingual"]
Preference = Literal["auto", Preferred]
Reason = Literal["preference", "detected", "history", "unsupported", "default"]
PREFERENCES: tuple[str, ...] = get_args(Preference)

#: System-prompt sentence for each reply language.
INSTRUCTIONS: dict[ReplyLang, str] = {
    "bn": "Answer in Bangla written in Bengali script.",
    "en": "Answer in English.",
    "banglish": (
        "Answer in Bangla written in Latin letters (romanized Bangla, the way the customer "
        "writes), not in Bengali script."
    ),
    "mixed": (
        "Answer in Bangla written in Bengali script, keeping common English terms such as "
        "order, refund, OTP or bKash in English letters as the customer does."
    ),
    "bilingual": "Answer briefly in both Bangla (Bengali script) and English, Bangla first.",
}

_ANSWERED_IN_KIND: frozenset[str] = frozenset(REGISTERS)


@dataclass(frozen=True, slots=True)
class ReplyPolicy:
    """What the prompt builder needs to answer in the right language."""

    language: ReplyLang
    """The reply language."""
    instruction: str
    """One English sentence for the system prompt."""
    note: str | None = None
    """A ready bilingual message to send instead of generating (only for ``other``)."""
    reason: Reason = "detected"
    """Which rule decided, for logs and the agents' mirror."""


def reply_policy(
    detected: str, preference: str | None = None, last_language: str | None = None
) -> ReplyPolicy:
    """Decide the reply language from the detected label, a preference and the chat history.

    ``detected`` is a :func:`model.text.langid.detect` label. ``preference`` is ``None`` or
    ``"auto"`` (follow detection) or ``"bn"``/``"en"``/``"banglish"``. ``last_language`` is
    the label of the chat's latest message with language content, if any; other values
    (``und``, ``other``, ``None``) mean "unknown". Raises ``ValueError`` for a label or
    preference outside those sets, which is a programming error upstream.
    """
    if detected not in LABELS:
        raise ValueError(f"unknown language label {detected!r}; expected one of {LABELS}")
    choice = (preference or "auto").strip().lower()
    if choice not in PREFERENCES:
        raise ValueError(f"unknown language preference {preference!r}; expected {PREFERENCES}")

    if choice != "auto":
        return _policy(cast(ReplyLang, choice), "preference")
    if detected in _ANSWERED_IN_KIND:
        return _policy(cast(ReplyLang, detected), "detected")
    if detected == "other":
        return ReplyPolicy(
            "bilingual", INSTRUCTIONS["bilingual"], OTHER_LANGUAGE_NOTE, "unsupported"
        )
    if last_language in _ANSWERED_IN_KIND:
        return _policy(cast(ReplyLang, last_language), "history")
    return _policy("bilingual", "default")


def _policy(language: ReplyLang, reason: Reason) -> ReplyPolicy:
    return ReplyPolicy(language, INSTRUCTIONS[language], None, reason)


def note_language(preferred: str | None, last: str | None) -> str | None:
    """The language of a fixed note: the customer's choice, else what they wrote last.

    ``mixed`` writers get Bengali script (as :func:`reply_policy` answers them); ``None``
    means unknown, and the note goes out in Bangla and English together.
    """
    for language in (preferred, last):
        if language in PREFERRED:
            return language
        if language == "mixed":
            return "bn"
    return None
