"""What a hardening case expects: small checks of an :class:`Outcome`, built by name.

Each builder returns a check ``(outcome, seen) -> None`` that raises ``AssertionError``; a
table row pairs an action with one of these, so the table reads as the policy it enforces.
Every check also insists the database is still consistent (:mod:`tests.hardening.invariants`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from model.text.replies import NOTES, say
from storage.db import Database
from storage.models import BotReply, Chat, Message
from tests.hardening.driver import Outcome

#: Rows a customer's first update creates: the customer and their private chat.
NEW = {"customers": 1, "chats": 1}
#: Rows of an answered question from a new customer.
ANSWERED = {**NEW, "messages": 2, "bot_replies": 1}


@dataclass
class Seen:
    """What a check may look at besides the outcome: the chat that matters, the database."""

    chat_id: int
    database: Database
    extra: dict[str, Any] = field(default_factory=dict)


Check = Callable[[Outcome, Seen], None]


def _consistent(outcome: Outcome) -> None:
    assert not outcome.broken, outcome.broken


def _changed(outcome: Outcome, expected: dict[str, int]) -> None:
    assert outcome.changed == expected, f"rows changed {outcome.changed}, expected {expected}"


def variants(key: str) -> set[str]:
    """Every way the bot can word a fixed note (each language, and bilingual)."""
    return {say(key, language) for language in (None, *NOTES[key])}


def answered(*, stored: str | None = None, sources: Iterable[str] = ("model",)) -> Check:
    """Answered once, as plain text with 👍/👎 under the last part; question stored as written.

    ``stored``: the text the database must hold when it differs from what was sent.
    """
    # A timeout on a busy machine is a valid answer too, and so is the honest hand-over.
    allowed = set(sources) | {"fallback", "unsure"}

    def check(outcome: Outcome, seen: Seen) -> None:
        _consistent(outcome)
        parts = outcome.sent(seen.chat_id)
        assert parts, "no answer"
        assert all(p.params.get("parse_mode") in (None, "") for p in parts), "markup enabled"
        assert [b["text"] for b in parts[-1].buttons] == ["👍", "👎"]
        _changed(outcome, ANSWERED)
        with seen.database.read() as session:
            question, source = session.execute(
                select(Message.text, BotReply.source)
                .join(Chat, Chat.id == Message.chat_id)
                .join(BotReply, BotReply.question_message_id == Message.id)
                .where(Chat.telegram_chat_id == seen.chat_id, Message.direction == "in")
            ).one()
        expected = seen.extra["sent"] if stored is None else stored
        assert question == expected, (question[:80], expected[:80])
        assert source in allowed, source

    return check


def note(key: str, *, changed: dict[str, int] | None = None) -> Check:
    """Exactly one fixed note ``key`` (no buttons); by default only the customer is new."""

    def check(outcome: Outcome, seen: Seen) -> None:
        _consistent(outcome)
        sent = outcome.sent(seen.chat_id)
        assert len(sent) == 1, [c.text[:60] for c in sent]
        assert sent[0].text in variants(key), sent[0].text[:200]
        assert not sent[0].buttons
        _changed(outcome, NEW if changed is None else changed)

    return check


def ignored() -> Check:
    """Nothing visible happens and no row changes."""

    def check(outcome: Outcome, seen: Seen) -> None:
        _consistent(outcome)
        assert not outcome.visible(), [(c.method, c.chat_id, c.text[:40]) for c in outcome.calls]
        _changed(outcome, {})

    return check


def says(*needles: str, changed: dict[str, int] | None = None, count: int | None = None) -> Check:
    """Messages to the chat that, together, contain every needle; rows change as given."""

    def check(outcome: Outcome, seen: Seen) -> None:
        _consistent(outcome)
        sent = outcome.sent(seen.chat_id)
        text = "\n".join(c.text for c in sent)
        for needle in needles:
            assert needle in text, (needle, text[:300])
        if count is not None:
            assert len(sent) == count, [c.text[:60] for c in sent]
        _changed(outcome, changed or {})

    return check


def usage(command: str, *also: str) -> Check:
    """The command's usage line (after an explanation, if any); nothing changes."""

    def check(outcome: Outcome, seen: Seen) -> None:
        says(*also, changed={})(outcome, seen)
        sent = outcome.sent(seen.chat_id)
        assert sent and sent[-1].text.startswith(f"Usage: {command}"), [c.text for c in sent]

    return check


def acked(*, text: str | None = None, changed: dict[str, int] | None = None) -> Check:
    """A button press answered once without an alert (so the client stops spinning)."""

    def check(outcome: Outcome, seen: Seen) -> None:
        _consistent(outcome)
        (ack,) = outcome.acks()
        assert not ack.params.get("show_alert"), ack.params
        if text is not None:
            assert text in str(ack.params.get("text") or ""), ack.params
        assert not outcome.sent(), [c.text[:60] for c in outcome.sent()]
        _changed(outcome, changed or {})

    return check


def refused(role: str = "staff") -> Check:
    """A refusal (an alert for buttons, a message otherwise), one audit line, nothing else."""
    needle = "operators only" if role == "operator" else "staff only"

    def check(outcome: Outcome, seen: Seen) -> None:
        _consistent(outcome)
        shown = [str(c.params.get("text") or "") for c in outcome.acks()]
        shown += [c.text for c in outcome.sent()]
        assert len(shown) == 1 and needle in shown[0], shown
        for ack in outcome.acks():
            assert ack.params.get("show_alert") is True
        _changed(outcome, {"audit_log": 1})

    return check
