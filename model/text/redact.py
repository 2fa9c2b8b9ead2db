"""Replace personal data in customer text with typed placeholders before it leaves the database.

What counts as personal data here, and its placeholder (docs/redaction.md has examples and the
known limits):

``<EMAIL>``    e-mail addresses, also written out: ``rahim at gmail dot com``, ``rahim[at]gmail
               [dot]com``, ``rahim at the rate gmail.com``, ``রহিম এট জিমেইল ডট কম``.
``<PHONE>``    Bangladeshi mobile numbers: ``01[3-9]`` and eight more digits, with or without the
               ``+88``/``88``/``+880``/``0088`` country prefix, with spaces, dots, dashes or
               brackets anywhere between the digits, a letter ``o`` for a zero, in ASCII or
               Bengali digits, and with words or Bengali suffixes glued on
               (``mobile01711223344``, ``০১৭১১২২৩৩৪৪তে``).
``<CARD>``     payment card numbers: 13 to 19 digits, in groups of three or more digits with any
               separators, that pass the Luhn check; after a card keyword ("card", "কার্ড",
               "visa"…) any 13 to 19 digits, so a mistyped number goes too.
``<NID>``      national ID (and birth registration) numbers: 10, 13 or 17 digits in one run, in
               the printed groupings, or in any grouping after an NID keyword.
``<TRXID>``    mobile-money transaction ids: the token after "TrxID", "TxnID", "transaction
               id", "ট্রানজেকশন আইডি", "লেনদেন নম্বর"…, and bare bKash/Nagad-style ids (such as
               ``9C4DXR7A2B``; lower case too when the message is about a payment).
``<OTP>``      one-time codes: 4 to 8 digits after (or before) "OTP", "ওটিপি", "verification
               code", "কোড"….
``<PIN>``      PINs: 4 to 8 digits after (or before) "PIN", "পিন".
``<PASSWORD>`` the value after "password", "pass:", "পাসওয়ার্ড"….
``<ADDRESS>``  street addresses: house/road/block/flat/sector/lane/plot/holding numbers and the
               like (বাসা, বাড়ি, রোড, ব্লক, ফ্ল্যাট, সেক্টর, লেন…), chained with the named road
               and floor that follow them. The area and city stay ("<ADDRESS>, Banani, Dhaka").

What stays: order ids (``BG-10002345``), prices and amounts, dates, times, years, quantities,
the hotline (16789) and other short business numbers, USSD codes.

Bengali digits map one to one onto ASCII digits, so matching runs on an ASCII-digit view of the
text and the spans are cut out of the original: what is not personal data stays as written.
Strings in ``allow`` (for example the company's own public e-mail address) are kept.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from model.text.pii_finders import FINDERS
from model.text.pii_patterns import BENGALI_DIGITS, Span, luhn_ok

__all__ = ["PLACEHOLDERS", "Redaction", "find_pii", "luhn_ok", "redact"]

# The first five are the original kinds; later ones are appended so that code slicing or
# indexing the tuple keeps working.
PLACEHOLDERS = (
    "<EMAIL>",
    "<PHONE>",
    "<CARD>",
    "<NID>",
    "<TRXID>",
    "<OTP>",
    "<PIN>",
    "<PASSWORD>",
    "<ADDRESS>",
)


@dataclass(frozen=True)
class Redaction:
    """Redacted text and how many of each placeholder went in."""

    text: str
    counts: Counter[str] = field(default_factory=Counter)


def _spans(text: str) -> list[Span]:
    view = text.translate(BENGALI_DIGITS)
    taken: list[Span] = []
    for finder in FINDERS:
        for span in finder(view):
            if span.end > span.start and not any(
                span.start < t.end and t.start < span.end for t in taken
            ):
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
