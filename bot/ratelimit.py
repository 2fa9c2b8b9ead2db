"""Per-customer message rate limit: a sliding minute counted in the inbox, once per deployment.

Each update's verdict is kept on its inbox row (``storage/inbox.py``), and the next update of
the chat is judged by the verdicts of the updates that arrived within the minute before it.
Every replica reads the same rows, so a customer whose messages land on two replicas is
limited once, not once per process; a restart forgets nothing. A chat's updates are handled
one after another, so the verdicts it is judged by are all written when it is judged.
"""

from __future__ import annotations

from datetime import timedelta
from enum import Enum

from sqlalchemy.orm import Session

from bot.jobs import Job
from storage.inbox import RateWindow, rate_window

WINDOW = timedelta(seconds=60)


class Verdict(Enum):
    """What to do with one incoming message."""

    ALLOW = "allow"
    NOTE = "note"
    """Over the limit: drop it, and tell the customer once per window."""
    DROP = "drop"
    """Over the limit and already told: drop it silently, so a flood gets no flood back."""


def judge(window: RateWindow, per_minute: int) -> Verdict:
    """The verdict on a message, given the chat's verdicts in the minute before it."""
    if window.allowed < per_minute:
        return Verdict.ALLOW
    return Verdict.DROP if window.noted else Verdict.NOTE


def verdict_for(session: Session, job: Job, per_minute: int) -> Verdict:
    """Judge the update ``job`` holds by its chat's recent inbox rows."""
    window = rate_window(
        session,
        chat_key=job.chat_key,
        update_id=job.update_id,
        received_at=job.received_at,
        window=WINDOW,
    )
    return judge(window, per_minute)
