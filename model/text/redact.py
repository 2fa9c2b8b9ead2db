"""Replace personal data in customer text with typed placeholders before it leaves the database.

What counts as personal data here, and its placeholder:

``<EMAIL>``  e-mail addresses.
``<PHONE>``  Bangladeshi mobile numbers: ``01[3-9]`` and eight more digits, with or without the
             ``+88``/``88``/``0088`` country prefix, with spaces, dots or dashes between digit
             groups, in ASCII or Bengali digits (``০১৭১১-২২৩৩৪৪``).
``<CARD>``   payment card numbers: 13 to 19 digits (groups allowed) that pass the Luhn check.
``<NID>``    national ID numbers: a run of exactly 10, 13 or 17 digits that is not a card.
``<TRXID>``  mobile-money transaction ids: the token after "TrxID", "TxnID", "transaction id",
             "ট্রানজেকশন আইডি"…, and bare bKash-style ids (8 to 12 capital letters and digits,
             both kinds at least three times, such as ``9C4DXR7A2B``).

Bengali digits map one to one onto ASCII digits, so matching runs on an ASCII-digit view of the
text and the spans are cut out of the original: what is not personal data stays as written.
Strings in ``allow`` (for example the company's own public e-mail address) are kept.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

__all__ = ["PLACEHOLDERS", "Redaction", "find_pii", "luhn_ok", "redact"]

PLACEHOLDERS = ("<EMAIL>", "<PHONE>", "<CARD>", "<NID>", "<TRXID>")

_BENGALI_DIGITS = str.maketrans({chr(0x09E6 + i): str(i) for i in range(10)})

# A digit run is only PII when it stands alone: digits or letters glued to either side make it
# part of something else (an order id such as BG-10002345, a longer reference number).
_NOT_AFTER = r"(?<![\w+])"
_NOT_BEFORE = r"(?![\w])"

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
_PHONE = re.compile(
    _NOT_AFTER + r"(?:\+|00)?(?:88[\s.-]?)?01[3-9](?:[\s.-]?\d){8}" + _NOT_BEFORE,
)
# Card numbers as people type them: 13-19 digits in one run, or the printed groupings 4-4-4-4,
# 4-4-4-4-3 and 4-6-5 (Amex) with a space or dash. Each layout is its own pattern so a number
# followed by more digits ("4111 1111 1111 1111 2 pcs") still matches at its true length.
_CARDS = tuple(
    re.compile(_NOT_AFTER + body + _NOT_BEFORE)
    for body in (
        r"\d{4}([ -])\d{4}\1\d{4}\1\d{4}\1\d{3}",
        r"\d{4}([ -])\d{4}\1\d{4}\1\d{4}",
        r"\d{4}([ -])\d{6}\1\d{5}",
        r"\d{13,19}",
    )
)
_NID = re.compile(_NOT_AFTER + r"(?:\d{17}|\d{13}|\d{10})" + _NOT_BEFORE)
_TRX_KEYWORD = re.compile(
    r"(?<![A-Za-z])(?:trx|txn|trans|transaction|tx)\s*[-_.]?\s*(?:id|no|number|num)\b\.?"
    r"|(?<![A-Za-z])(?:trxid|txnid|txid)\b"
    r"|ট্রানজেকশন\s*(?:আইডি|নম্বর|নাম্বার)|ট্রানজ্যাকশন\s*(?:আইডি|নম্বর|নাম্বার)"
    r"|লেনদেন\s*(?:আইডি|নম্বর|নাম্বার)",
    re.IGNORECASE,
)
_TRX_AFTER_KEYWORD = re.compile(r"\s*(?:is|:|=|#|হলো|হল|-)?\s*([A-Za-z0-9]{6,20})" + _NOT_BEFORE)
_BARE_TRX = re.compile(r"(?<![\w])[A-Z0-9]{8,12}(?![\w])")


def luhn_ok(digits: str) -> bool:
    """Whether a string of digits passes the Luhn checksum used by payment cards."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


@dataclass(frozen=True)
class Redaction:
    """Redacted text and how many of each placeholder went in."""

    text: str
    counts: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True)
class _Span:
    start: int
    end: int
    kind: str


def _card_spans(view: str) -> Iterable[_Span]:
    for pattern in _CARDS:
        for match in pattern.finditer(view):
            if luhn_ok(re.sub(r"\D", "", match.group())):
                yield _Span(match.start(), match.end(), "<CARD>")


def _bare_trx_spans(view: str) -> Iterable[_Span]:
    for match in _BARE_TRX.finditer(view):
        token = match.group()
        letters = sum(c.isalpha() for c in token)
        if letters >= 3 and len(token) - letters >= 3:
            yield _Span(match.start(), match.end(), "<TRXID>")


def _keyword_trx_spans(view: str) -> Iterable[_Span]:
    for keyword in _TRX_KEYWORD.finditer(view):
        after = _TRX_AFTER_KEYWORD.match(view, keyword.end())
        # The id must hold a digit: "transaction id please" names no id.
        if after and any(c.isdigit() for c in after.group(1)):
            yield _Span(after.start(1), after.end(1), "<TRXID>")


def _regex_spans(pattern: re.Pattern[str], kind: str) -> Callable[[str], Iterable[_Span]]:
    def spans(view: str) -> Iterable[_Span]:
        return (_Span(m.start(), m.end(), kind) for m in pattern.finditer(view))

    return spans


# Order matters: an earlier finder claims its characters first (an e-mail's digits are never a
# phone number; a Luhn-valid 13-digit run is a card before it could be an NID).
_FINDERS: tuple[Callable[[str], Iterable[_Span]], ...] = (
    _regex_spans(_EMAIL, "<EMAIL>"),
    _keyword_trx_spans,
    _regex_spans(_PHONE, "<PHONE>"),
    _card_spans,
    _regex_spans(_NID, "<NID>"),
    _bare_trx_spans,
)


def _spans(text: str) -> list[_Span]:
    view = text.translate(_BENGALI_DIGITS)
    taken: list[_Span] = []
    for finder in _FINDERS:
        for span in finder(view):
            if not any(span.start < t.end and t.start < span.end for t in taken):
                taken.append(span)
    return sorted(taken, key=lambda s: s.start)


def find_pii(text: str) -> list[tuple[str, str]]:
    """Every ``(placeholder, original substring)`` that :func:`redact` would replace."""
    return [(s.kind, text[s.start : s.end]) for s in _spans(text)]


def redact(
    text: str, *, allow: frozenset[str] = frozenset(), kinds: Iterable[str] = PLACEHOLDERS
) -> Redaction:
    """Replace personal data in ``text`` by typed placeholders; strings in ``allow`` stay.

    ``kinds`` limits which placeholders are applied (the application log leaves out ``<NID>``:
    a bare 10- or 13-digit number there is a Telegram id far more often than an ID card).
    """
    wanted = frozenset(kinds)
    pieces: list[str] = []
    counts: Counter[str] = Counter()
    position = 0
    for span in _spans(text):
        original = text[span.start : span.end]
        if original in allow or span.kind not in wanted:
            continue
        pieces.append(text[position : span.start])
        pieces.append(span.kind)
        counts[span.kind] += 1
        position = span.end
    pieces.append(text[position:])
    return Redaction(text="".join(pieces), counts=counts)
