"""Logging for every command: no request URLs, no secrets, no customer text, no personal data.

The Bot API puts the token in every request URL (``…/bot<token>/sendMessage``). httpx logs each
request URL at INFO, python-telegram-bot logs its base URL at DEBUG, and network errors carry the
URL in their text. So the HTTP client loggers are held at WARNING, and every log record, whatever
handler prints it, is masked when it is created:

* anything shaped like a bot token, and the configured token and webhook secret verbatim;
* the payload of python-telegram-bot's DEBUG lines that dump whole Bot API requests, responses
  and updates (they hold customer text and, for ``setWebhook``, the webhook secret): the line
  keeps the endpoint name, the payload becomes ``<payload hidden>``;
* personal data of the kinds exports redact, as a last line behind the first two, for whatever
  a traceback or a library might still print: in tracebacks all of them (model/text/redact.py:
  e-mail, phone, card, national id, transaction id, OTP, PIN, password, address); in the message
  line all
  but national-ID numbers, since a bare 10- or 13-digit number there is a Telegram user or chat
  id that the log needs (uttor's own lines carry ids and counts, never message text).
"""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Iterable
from typing import Any

from model.text.redact import PLACEHOLDERS, redact

# A bot token is "<bot id>:<35 characters of [A-Za-z0-9_-]>"; allow some slack in both parts.
TOKEN_PATTERN = re.compile(r"\d{5,}:[A-Za-z0-9_-]{30,}")
MASK = "<bot-token>"
SECRET_MASK = "<secret>"
PAYLOAD_MASK = "<payload hidden>"

# Loggers that print request URLs (httpx at INFO, httpcore at DEBUG).
URL_LOGGERS = ("httpx", "httpcore")

# python-telegram-bot's (v22) log lines that dump Bot API payloads: template -> which of its
# arguments is a payload. Matched on the template, so the logger or level does not matter.
PAYLOAD_TEMPLATES: dict[str, tuple[int, ...]] = {
    "Calling Bot API endpoint `%s` with parameters `%s`": (1,),
    "Call to Bot API endpoint `%s` finished with return value `%s`": (1,),
    "Processing update %s": (0,),
    "Dropping pending update: %s": (0,),
    "Error while parsing updates! Received data was %r": (0,),
    'Can not load invalid JSON data: "%s"': (0,),
    "Webhook received data: %s": (0,),
    "Request had the wrong secret token: %s": (0,),
}
LOG_PII_KINDS = tuple(kind for kind in PLACEHOLDERS if kind != "<NID>")
# A group or channel id ("-1001234567890") is not a card number, whatever Luhn says.
_NEGATIVE_ID = re.compile(r"(?<![\w-])-(\d{5,})")

# Secrets set by the running configuration (token, webhook secret), masked verbatim.
_secrets: set[str] = set()


def add_secrets(values: Iterable[str | None]) -> None:
    """Mask these strings in every log record from now on (empty values are ignored)."""
    # Very short values would mask ordinary words; real tokens and secrets are long.
    _secrets.update(v for v in values if v and len(v) >= 6)


def settings_secrets(settings: Any) -> list[str]:
    """The bot token, webhook secret and vLLM API key of the settings, as plain text."""
    values = (
        settings.telegram_token,
        settings.webhook_secret,
        getattr(settings, "vllm_api_key", None),
    )
    return [value.get_secret_value() for value in values if value is not None]


def mask_tokens(text: str) -> str:
    """``text`` with every substring that looks like a bot token, or is a secret, replaced."""
    text = TOKEN_PATTERN.sub(MASK, text)
    for secret in sorted(_secrets, key=len, reverse=True):
        text = text.replace(secret, SECRET_MASK)
    return text


def mask_record_text(text: str, kinds: tuple[str, ...] = LOG_PII_KINDS) -> str:
    """Tokens, secrets and personal data of ``kinds`` masked (see the module doc)."""
    text = mask_tokens(text)
    ids = frozenset(match.group(1) for match in _NEGATIVE_ID.finditer(text))
    return redact(text, allow=ids, kinds=kinds).text


def _hide_payloads(record: logging.LogRecord) -> None:
    hidden = PAYLOAD_TEMPLATES.get(record.msg) if isinstance(record.msg, str) else None
    if hidden and isinstance(record.args, tuple):
        record.args = tuple(
            PAYLOAD_MASK if index in hidden else arg for index, arg in enumerate(record.args)
        )


def _masking_factory(base: Any) -> Any:
    def make_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record: logging.LogRecord = base(*args, **kwargs)
        _hide_payloads(record)
        # Render now, so that neither the arguments nor a handler's formatter can bring the
        # token back; records below the logger's level never reach the factory.
        try:
            message = record.getMessage()
        except Exception:  # a malformed call must still log something
            message = str(record.msg)
        record.msg, record.args = mask_record_text(message), None
        if record.exc_info and record.exc_info[0] is not None:
            text = "".join(traceback.format_exception(*record.exc_info))
            record.exc_text = mask_record_text(text, PLACEHOLDERS).rstrip("\n")
        if record.stack_info:
            record.stack_info = mask_record_text(record.stack_info, PLACEHOLDERS)
        return record

    make_record.uttor_masking = True  # type: ignore[attr-defined]
    return make_record


def install_token_masking() -> None:
    """Mask bot tokens in every log record from now on (idempotent)."""
    current = logging.getLogRecordFactory()
    if not getattr(current, "uttor_masking", False):
        logging.setLogRecordFactory(_masking_factory(current))


def protect_logs(secrets: Iterable[str | None] = ()) -> None:
    """Mask tokens, ``secrets`` and personal data, and silence the URL-printing loggers.

    Safe to call many times; secrets accumulate.
    """
    add_secrets(secrets)
    install_token_masking()
    for name in URL_LOGGERS:
        # WARNING, not just "quieter": even at DEBUG these must not print request URLs.
        logging.getLogger(name).setLevel(logging.WARNING)


def configure_logging(level: str = "INFO", secrets: Iterable[str | None] = ()) -> None:
    """Set up the application log: level, format, quiet HTTP client loggers, masking."""
    protect_logs(secrets)
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger().setLevel(level.upper())
    # The scheduler logs each job run at INFO; that is noise next to the bot's own lines.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
