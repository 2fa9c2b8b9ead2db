"""Configuration of the Telegram bot: one frozen dataclass, one line of doc per field.

The composition root (``wiring/configs.py``) fills it from the ``UTTOR_`` settings, whose
defaults come from here; nothing under ``bot/`` reads the environment itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import SecretStr

Mirror = Literal["all", "flagged", "off"]


@dataclass(frozen=True)
class BotConfig:
    """Who the bot talks to, and how."""

    telegram_token: SecretStr | None = None
    """Bot token from @BotFather."""
    telegram_api_url: str | None = None
    """Bot API base URL (``None``: Telegram's own)."""
    agents_chat_id: int | None = None
    """The agents' group: mirrored replies, handoffs, flagged questions."""
    operators_chat_id: int | None = None
    """The operators' chat: retrain reports."""
    admin_ids: tuple[int, ...] = ()
    """User ids that hold the operator role without a staff row."""
    timezone: str = "Asia/Dhaka"
    """Time zone in which times are shown to staff."""
    rate_limit_per_min: int = 20
    """Messages per customer per minute the bot answers; more get a note."""
    mirror: Mirror = "all"
    """Which bot replies are copied to the agents group for review."""
    followup_corrections: bool = True
    """Send an agent's correction to the customer as a follow-up."""
    handoff_timeout_min: int = 30
    """Idle minutes before a handed-off chat returns to the bot; 0: never."""
    webhook_url: str | None = None
    """Public HTTPS URL; set, the bot runs a webhook server instead of polling."""
    webhook_secret: SecretStr | None = None
    """Secret token Telegram sends with every webhook call."""
    webhook_listen: str = "0.0.0.0"
    """Address the webhook server binds."""
    webhook_port: int = 8443
    """Port the webhook server binds."""
    reply_timeout_s: float = 30.0
    """Seconds from a message's arrival to its answer or fallback (the generation timeout)."""
    send_rate_per_s: float = 30.0
    """Messages a second this process sends at most: a bot may send about 30, replicas share."""
    inbox_lease_s: float = 15.0
    """Seconds an inbox claim lasts unless renewed: how long a dead worker's updates wait."""
