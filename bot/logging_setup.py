"""Logging for the bot: no request URLs, no bot tokens, no message text at INFO.

The Bot API puts the token in every request URL (``…/bot<token>/sendMessage``). httpx logs each
request URL at INFO, python-telegram-bot logs its base URL at DEBUG, and network errors carry the
URL in their text. So the HTTP client loggers are held at WARNING, and every log record, whatever
handler prints it, has anything shaped like a bot token masked when it is created.
"""

from __future__ import annotations

import logging
import re
import traceback
from typing import Any

# A bot token is "<bot id>:<35 characters of [A-Za-z0-9_-]>"; allow some slack in both parts.
TOKEN_PATTERN = re.compile(r"\d{5,}:[A-Za-z0-9_-]{30,}")
MASK = "<bot-token>"

# Loggers that print request URLs (httpx at INFO, httpcore at DEBUG).
URL_LOGGERS = ("httpx", "httpcore")


def mask_tokens(text: str) -> str:
    """``text`` with every substring that looks like a bot token replaced."""
    return TOKEN_PATTERN.sub(MASK, text)


def _masking_factory(base: Any) -> Any:
    def make_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record: logging.LogRecord = base(*args, **kwargs)
        # Render now, so that neither the arguments nor a handler's formatter can bring the
        # token back; records below the logger's level never reach the factory.
        try:
            message = record.getMessage()
        except Exception:  # a malformed call must still log something
            message = str(record.msg)
        record.msg, record.args = mask_tokens(message), None
        if record.exc_info and record.exc_info[0] is not None:
            record.exc_text = mask_tokens("".join(traceback.format_exception(*record.exc_info)))
            record.exc_text = record.exc_text.rstrip("\n")
        if record.stack_info:
            record.stack_info = mask_tokens(record.stack_info)
        return record

    make_record.uttor_masking = True  # type: ignore[attr-defined]
    return make_record


def install_token_masking() -> None:
    """Mask bot tokens in every log record from now on (idempotent)."""
    current = logging.getLogRecordFactory()
    if not getattr(current, "uttor_masking", False):
        logging.setLogRecordFactory(_masking_factory(current))


def protect_logs() -> None:
    """Mask tokens and silence the URL-printing loggers; safe to call many times."""
    install_token_masking()
    for name in URL_LOGGERS:
        # WARNING, not just "quieter": even at DEBUG these must not print request URLs.
        logging.getLogger(name).setLevel(logging.WARNING)


def configure_logging(level: str = "INFO") -> None:
    """Set up the application log: level, format, quiet HTTP client loggers, token masking."""
    protect_logs()
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger().setLevel(level.upper())
    # The scheduler logs each job run at INFO; that is noise next to the bot's own lines.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
