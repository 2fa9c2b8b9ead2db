"""Is an agent's answer meant for one customer only? The default of a correction's flag.

A correction is *personal* when reusing it for another customer would be wrong or would leak:
it names an order id, a person (a name after a salutation, or the customer's own name), an
amount of money, or personal data that redaction finds (phone numbers, e-mail addresses, card,
ID and transaction numbers, codes, street addresses). Agents can overrule the default either
way; this only decides what happens when they do not.

It errs towards personal: a general answer kept to one reply costs a repeated correction, a
personal one given to others leaks. Strings in ``allow`` (the company's own hotline or e-mail
as the knowledge base states them) are not personal.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from model.text.normalize import normalize
from model.text.pii_patterns import BENGALI_DIGITS
from model.text.redact import find_pii

__all__ = ["Personal", "personal_reasons"]

PII_KINDS = {
    "<PHONE>": "a phone number",
    "<EMAIL>": "an e-mail address",
    "<CARD>": "a card number",
    "<NID>": "an ID number",
    "<TRXID>": "a transaction id",
    "<OTP>": "a one-time code",
    "<PIN>": "a PIN",
    "<PASSWORD>": "a password",
    "<ADDRESS>": "a street address",
}

_NUMBER = r"\d[\d,]*(?:\.\d+)?"
_AMOUNT = re.compile(
    rf"(?:৳|(?<![A-Za-z])(?:tk\.?|bdt|taka|rs\.?)\s*){_NUMBER}"
    rf"|{_NUMBER}\s*(?:৳|/-|(?:tk|bdt|taka|takar|takay)(?![A-Za-z])|টাকা)",
    re.IGNORECASE,
)
_ORDER_ID = re.compile(
    r"(?<![A-Za-z0-9])BG[-\s]?\d{8}(?!\d)"
    r"|(?:order|অর্ডার)\s*(?:no\.?|number|id|নম্বর|নং|আইডি)?\s*[:#]?\s*#?\d{4,}",
    re.IGNORECASE,
)
# A salutation, then a capitalized word: "Dear Rahim", "Hi Salma,", "Mr. Hasan".
_LATIN_BEFORE = re.compile(
    r"(?<![A-Za-z])(?i:dear|hi|hello|hey|mr|mrs|ms|miss|mister|madam|janab)\.?\s+"
    r"(?P<name>[A-Z][a-z]{2,})"
)
# A capitalized word, then an honorific: "Rahim bhai", "Salma apu".
_LATIN_AFTER = re.compile(
    r"(?<![A-Za-z])(?P<name>[A-Z][a-z]{2,})\s+"
    r"(?i:bhai|vai|bhaiya|vaiya|apu|apa|shaheb|saheb|sahib)(?![A-Za-z])"
)
_BENGALI_WORD = r"[\u0980-\u09FF]+"
_BENGALI_BEFORE = re.compile(
    rf"(?:প্রি\u09af\u09bc|প্রি\u09df|জনাব|জনাবা|মিস্টার|মিসেস)\s+(?P<name>{_BENGALI_WORD})"
)
_BENGALI_AFTER = re.compile(
    rf"(?P<name>{_BENGALI_WORD})\s+(?:ভাই|ভাই\u09af\u09bcা|ভাই\u09dfা|আপু|আপা|সাহেব|সাহেবা)(?![\u0980-\u09FF])"
)
# Words that follow a salutation or precede an honorific without being anyone's name.
_NOT_NAMES_TEXT = """
    customer customers sir madam maam there all team valued friend friends everyone guys
    bhai vai apu ji jee ok okay thanks thank sorry yes no accha thik dhonnobad welcome
    hello dear please assalamu salam walaikum good bro sister brother
    গ্রাহক গ্রাহকগণ স্যার ম্যাডাম বন্ধু ভাই আপু জি জ্বি হ্যাঁ না ঠিক আছে ধন্যবাদ আচ্ছা ওকে
    দুঃখিত সরি হ্যালো প্রিয় আসসালামু আলাইকুম শুভেচ্ছা স্বাগতম অবশ্যই আপনাকে আপনার
"""
_NOT_NAMES = frozenset(normalize(word) for word in _NOT_NAMES_TEXT.split())
_NAME_PATTERNS = (_LATIN_BEFORE, _LATIN_AFTER, _BENGALI_BEFORE, _BENGALI_AFTER)


@dataclass(frozen=True)
class Personal:
    """One reason a text is for one customer: what kind, and the words that show it."""

    kind: str
    """``an order id``, ``a name``, ``an amount``, or a kind of personal data."""
    text: str


def _names(text: str, customer_names: Iterable[str]) -> list[Personal]:
    found = [
        Personal("a name", m.group("name"))
        for pattern in _NAME_PATTERNS
        for m in pattern.finditer(text)
        if normalize(m.group("name")) not in _NOT_NAMES
    ]
    folded = text.casefold()
    for name in customer_names:
        for part in name.split():
            # Only a name-like part: "Md" or a one-letter initial is in too many words.
            if len(part) >= 3 and normalize(part) not in _NOT_NAMES:
                at = re.search(rf"(?<!\w){re.escape(part.casefold())}(?!\w)", folded)
                if at is not None:
                    found.append(Personal("a name", text[at.start() : at.end()]))
    return found


def personal_reasons(
    text: str, *, customer_names: Iterable[str] = (), allow: frozenset[str] = frozenset()
) -> list[Personal]:
    """Why ``text`` is personal, in order of appearance kind by kind; empty when general.

    ``customer_names``: the customer's display name and username (their name in the answer
    makes it theirs); ``allow``: strings that are public (the company's contacts).
    """
    view = text.translate(BENGALI_DIGITS)
    reasons = [Personal("an order id", text[m.start() : m.end()]) for m in _ORDER_ID.finditer(view)]
    reasons += _names(text, customer_names)
    reasons += [Personal("an amount", text[m.start() : m.end()]) for m in _AMOUNT.finditer(view)]
    reasons += [
        Personal(PII_KINDS.get(kind, "personal data"), original)
        for kind, original in find_pii(text)
        if original not in allow
    ]
    return reasons
