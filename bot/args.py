"""Numbers typed into staff commands or carried by buttons, read within the database's ranges.

A person (or a forged button) can send any digits. Only decimal digits count (ASCII or Bengali:
``১২`` is 12; ``²`` is not a digit here), and a number outside the column's range is treated as
no number at all, so it gets the usage line instead of an error from the database driver.
"""

from __future__ import annotations

from storage.models import MAX_BIGINT, MAX_ROW_ID


def row_id(text: str) -> int | None:
    """A positive id of a row (reply, correction, run, adapter) or a page number; else None."""
    if not text.isdecimal():
        return None
    value = int(text)
    return value if 1 <= value <= MAX_ROW_ID else None


def telegram_id(text: str) -> int | None:
    """A Telegram chat or user id (groups are negative); else None."""
    digits = text.removeprefix("-")
    if not digits.isdecimal():
        return None
    value = int(text)
    return value if value != 0 and abs(value) <= MAX_BIGINT else None
