"""The words and shapes personal data hides behind: keyword patterns in English, Banglish and
বাংলা, boundaries that tolerate glued-on suffixes, and the small helpers the finders share.

Split from :mod:`model.text.redact` (the public API) and :mod:`model.text.pii_finders` (the
rules) so each stays readable; docs/redaction.md explains what each rule catches.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass

BENGALI_DIGITS = str.maketrans({chr(0x09E6 + i): str(i) for i in range(10)})

BN = "\u0980-\u09ff"
# Bengali letters, vowel signs and marks, and the joiners that sit inside Bengali words.
BN_CHAR = f"[{BN}\u200c\u200d]"


def _bn(word: str) -> str:
    """A Bengali word as a pattern that accepts both spellings of য়/ড়/ঢ় (one code point or two)."""
    pairs = [(c, unicodedata.normalize("NFD", c)) for c in ("\u09df", "\u09dc", "\u09dd")]
    for composed, decomposed in pairs:
        word = word.replace(decomposed, composed)
    pattern = re.escape(word)
    for composed, decomposed in pairs:
        pattern = pattern.replace(composed, f"(?:{composed}|{decomposed})")
    return pattern


def bn_words(*words: str) -> str:
    return "|".join(_bn(w) for w in sorted(words, key=len, reverse=True))


def en_words(*words: str) -> str:
    return "|".join(sorted(words, key=len, reverse=True))


# A keyword is a whole word on its left; on its right an English keyword may carry a Banglish
# ending ("otp-ta", "pin er") and a Bengali one any glued suffix ("ওটিপিটা", "বাসার").
EN_LEFT = r"(?<![A-Za-z0-9_])"
_EN_RIGHT = r"(?:-?(?:ta|ti|er|r|e|te|tai))?(?![A-Za-z_])"
BN_LEFT = f"(?<!{BN_CHAR})"
_BN_RIGHT = f"(?:-?{BN_CHAR}*)"


def _keyword(english: str, bengali: str) -> str:
    parts = []
    if english:
        parts.append(f"{EN_LEFT}(?:{english}){_EN_RIGHT}")
    if bengali:
        parts.append(f"{BN_LEFT}(?:{bengali}){_BN_RIGHT}")
    return "(?:" + "|".join(parts) + ")"


# Between a keyword and its value: punctuation that introduces a value, and up to a few short
# words ("OTP ta holo 482913", "আমার ওটিপি নম্বর হলো ৪৮২৯১৩"). Words hold no digit and no
# sentence end, so a value is never taken from the next sentence or across another number.
_GAP = r"[\s:=#\-–—ঃ,'\"“”‘’()\[\]]*"
_WORD = r"(?:[^\s\d.।?!,;:=#'\"“”‘’()\[\]]{1,15}|(?:no|nr|num|nong|a/c)\.)"


def _fillers(count: int) -> str:
    return f"(?:{_GAP}{_WORD}){{0,{count}}}{_GAP}"


# A number followed by one of these is an amount, a duration, a count or a year, not a secret.
UNIT_AFTER = (
    r"(?!\s*(?:%|৳|/-|(?:taka|tk|bdt|টাকা|km|kg|min|mins|minute|minutes|মিনিট|ghonta|ঘণ্টা|"
    r"hour|hours|din|দিন|day|days|pcs|piece|pieces|bar|বার|sal|সাল|year|years|"
    r"মাস|mash|month|months|gram|gm|liter|litre)(?![A-Za-z])))"
)


# --- keywords that introduce a value ------------------------------------------------------------

_NID_KEYWORD = _keyword(
    en_words(
        r"nid",
        r"n\.i\.d\.?",
        r"national\s*id(?:\s*card)?",
        r"voter\s*id",
        r"id\s*card",
        r"smart\s*card",
        r"jatiyo\s*porichoy\s*potro",
        r"jatio\s*porichoy\s*potro",
        r"porichoy\s*potro",
        r"birth\s*certificate",
        r"birth\s*reg(?:istration)?",
        r"brn",
    ),
    bn_words(
        "এনআইডি",
        "এন আই ডি",
        "জাতীয় পরিচয়পত্র",
        "জাতীয় পরিচয় পত্র",
        "পরিচয়পত্র",
        "ভোটার আইডি",
        "আইডি কার্ড",
        "জন্ম নিবন্ধন",
        "জন্মনিবন্ধন",
    ),
)
_CARD_KEYWORD = _keyword(
    en_words(
        r"card", r"visa", r"master\s*card", r"amex", r"debit", r"credit", r"nexus", r"unionpay"
    ),
    bn_words("কার্ড", "কার্ড", "ভিসা", "মাস্টারকার্ড", "ডেবিট", "ক্রেডিট"),
)
_TRX_KEYWORD = _keyword(
    r"(?:trx|txn|trans|transaction|tran|tx)\s*[-_.]?\s*(?:id|no|number|num|nombor)\.?"
    r"|trxid|txnid|txid|trx|txn|transaction|lenden\s*(?:id|no|number|nombor)",
    "(?:"
    + bn_words("ট্রানজেকশন", "ট্রানজ্যাকশন", "ট্রাঞ্জেকশন", "ট্রানসেকশন", "লেনদেন")
    + r")(?:\s*(?:আইডি|নম্বর|নাম্বার|নং))?",
)
# A bare "code" is an OTP unless a word before it says which other code it is.
_OTHER_CODES = (
    *("promo", "coupon", "voucher", "discount", "referral", "error", "status", "exit", "postal"),
    *("post", "zip", "area", "product", "item", "order", "tracking", "sku", "model", "dress"),
    *("qr", "bar"),
)
_OTHER_CODES_BN = ("প্রোমো", "কুপন", "ভাউচার", "ডিসকাউন্ট", "অর্ডার", "পোস্ট", "প্রোডাক্ট")
OTP_KEYWORD = _keyword(
    r"otp|o\.t\.p\.?|one[\s-]*time\s*(?:password|code|pin)"
    r"|(?:verification|verify|login|security|confirmation|activation|sms|otp)\s*code|"
    + "".join(f"(?<!{word}\\s)" for word in _OTHER_CODES)
    + "code",
    bn_words("ওটিপি", "ও টি পি", "ভেরিফিকেশন কোড", "যাচাই কোড", "লগইন কোড")
    + "|"
    + "".join(f"(?<!{_bn(word)}\\s)" for word in _OTHER_CODES_BN)
    + "কোড",
)
PIN_KEYWORD = _keyword(
    r"pin(?:\s*(?:no|number|nombor|nambar|code))?|m-?pin|atm\s*pin",
    bn_words("পিন", "পিন নম্বর", "পিন কোড"),
)
PASSWORD_KEYWORD = _keyword(
    r"(?<!time[\s-])pass\s*word|passwd|pasword|passward|paswrd|pwd|passcode|pass(?=\s*[:=])",
    bn_words("পাসওয়ার্ড", "পাসওয়ার্ড", "পাস ওয়ার্ড", "পাসওয়ার্ড", "পাসকোড"),
)


def compile(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


# A short secret: 4 to 8 digits (or 3+3, as some SMS print it), not part of a date, time,
# price or longer number.
_CODE = (
    r"(?<!\d[/.:,])(?<![\dA-Za-z])(?:\d{4,8}|\d{3}[ -]\d{3})(?!\d)(?![/.:,]\d)(?!(?-i:[A-Z]))"
    + UNIT_AFTER
)


def code_finder(
    keyword: str, kind: str, *, backward: bool = False, code: str = _CODE
) -> Callable[[str], Iterator[Span]]:
    """The code after its keyword ("OTP ta holo 482913", "OTP482913"), or with ``backward``
    the code before it ("482913 is my OTP", "৪৮২৯১৩ হলো আমার ওটিপি"). All forward rules run
    before any backward one, so "pin: 1234, otp: 567890" keeps the PIN a PIN."""
    if backward:
        # A year there is the time of the story ("2025 sale e OTP ashe nai"), not the code.
        patterns = [compile(f"(?!(?:19|20)\\d\\d(?!\\d))({code}){_fillers(3)}{keyword}")]
    else:
        glued = r"(\d{4,8})(?!\d)" + UNIT_AFTER
        patterns = [compile(f"{keyword}{_fillers(3)}({code})"), compile(f"{keyword}{glued}")]

    def spans(view: str) -> Iterator[Span]:
        for pattern in patterns:
            for match in pattern.finditer(view):
                yield Span(match.start(1), match.end(1), kind)

    return spans


# The three or four digits on the back of a card.
CVV_KEYWORD = _keyword(r"cvv2?|cvc2?|cid|card\s*security\s*code", "সিভিভি")
CVV = r"(?<![\dA-Za-z])\d{3,4}(?!\d)(?![/.:,]\d)"


NID_AFTER_KEYWORD = compile(f"{_NID_KEYWORD}{_fillers(3)}(?=\\d)")
CARD_AFTER_KEYWORD = compile(f"{_CARD_KEYWORD}{_fillers(3)}(?=\\d)")
TRX_AFTER_KEYWORD = compile(
    f"{_TRX_KEYWORD}{_fillers(2)}"
    r"(?<![A-Za-z0-9])([A-Za-z0-9]{6,20})(?![A-Za-z0-9])" + UNIT_AFTER
)


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
class Span:
    start: int
    end: int
    kind: str


# --- addresses ----------------------------------------------------------------------------------

_ADDR_KEYWORD_EN = en_words(
    r"house",
    r"hous",
    r"hose",
    r"holding",
    r"plot",
    r"road",
    r"rd\.?",
    r"block",
    r"blk\.?",
    r"flat",
    r"apartment",
    r"apt\.?",
    r"sector",
    r"lane",
    r"basa",
    r"bashar?",
    r"basar",
    r"barir?",
    r"bari\s*no",
    r"goli",
    r"gali",
)
ADDR_KEYWORD_BN = bn_words(
    "বাসা",
    "বাড়ি",
    "বাড়ী",
    "হাউস",
    "হাউজ",
    "হোল্ডিং",
    "প্লট",
    "রোড",
    "সড়ক",
    "ব্লক",
    "ফ্ল্যাট",
    "ফ্লাট",
    "অ্যাপার্টমেন্ট",
    "সেক্টর",
    "লেন",
    "গলি",
)
_ADDR_KEYWORD = (
    rf"(?:{EN_LEFT}(?:{_ADDR_KEYWORD_EN})(?:-?(?:er|r))?(?![A-Za-z0-9])"
    rf"|{BN_LEFT}(?:{ADDR_KEYWORD_BN})(?:র|ের|-এর|এর)?(?!{BN_CHAR})"
    r"|(?-i:\b[HR])(?=\s?[#-]\s?\d))"
)
_ADDR_NUMBER_WORD = r"(?:no\.?|num\.?|number|nong|nombor|nambar|নং|নম্বর|নাম্বার|#)"
# Letter names as Bengali writes them ("ব্লক সি", "ফ্ল্যাট ৪বি"); not এ, ই, কে, which are also
# suffixes ("১২ই", "১২কে").
_BN_LETTER_NAME = bn_words("বি", "সি", "ডি", "এফ", "জি", "এইচ", "এল", "এম", "এন")
_ADDR_VALUE = (
    r"(?:\d{1,5}(?:\s?[/-]\s?(?:\d{1,4}|[A-Za-z](?![A-Za-z])|" + _BN_LETTER_NAME + r"))?"
    r"(?:-?(?-i:[A-Z])(?![A-Za-z])|[a-z](?![A-Za-z])|" + _BN_LETTER_NAME + rf"(?!{BN_CHAR}))?"
    r"(?!\d)(?![/.:,]\d)" + UNIT_AFTER + r"(?!\s*(?:টা|টি|ta|ti)(?![A-Za-z]))"
    r"|(?-i:[A-Z])(?![A-Za-z0-9])|" + _BN_LETTER_NAME + rf"(?!{BN_CHAR}))"
)
_ADDR_COMPONENT = (
    rf"{_ADDR_KEYWORD}\s?[:#.\-]?\s?(?:{_ADDR_NUMBER_WORD}\s?[:.\-]?\s?)?{_ADDR_VALUE}"
)
_FLOOR = (
    r"(?:\d{1,2}(?:st|nd|rd|th|ম|য়|য়|র্থ|তম)?\s?(?:floor|tola|তলা|তলায়|তলায়)(?![A-Za-z])"
    r"|(?:floor|level|লেভেল)\s?\d{1,2}(?!\d))"
)
_NAMED_ROAD = (
    r"(?:(?-i:[A-Z][a-z]+)\s){1,3}(?:Road|Rd\.?|Lane|Avenue|Ave\.?|Street|St\.?|Sarani|Sharani)"
    rf"(?![A-Za-z])|(?:{BN_CHAR}+\s){{1,2}}(?:রোড|সড়ক|সড়ক|লেন|এভিনিউ|সরণি)(?!{BN_CHAR})"
)
# "23/B Green Road", "২৩/বি গ্রিন রোড": a house number, then a named road. In Bengali the
# number must carry its slash, or "৫ মিনিট হাঁটলে মেইন রোড" would be an address.
_NUMBERED_ROAD = (
    r"\d{1,4}(?:\s?/\s?[A-Za-z0-9]{1,3}|(?-i:[A-Z]))?,?\s"
    r"(?:(?-i:[A-Z][a-z]+)\s){1,3}(?:Road|Rd\.?|Lane|Avenue|Ave\.?|Street|St\.?|Sarani|Sharani)"
    r"(?![A-Za-z])"
    rf"|\d{{1,4}}\s?/\s?(?:\d{{1,3}}|[A-Za-z]|{_BN_LETTER_NAME}),?\s(?:{BN_CHAR}+\s){{1,2}}"
    rf"(?:রোড|সড়ক|সড়ক|লেন|এভিনিউ|সরণি)(?!{BN_CHAR})"
)
ADDRESS = compile(
    rf"(?:{_ADDR_COMPONENT}|{_NUMBERED_ROAD})"
    rf"(?:\s?[,;]?\s?(?:{_ADDR_COMPONENT}|{_FLOOR}|{_NAMED_ROAD}|{_NUMBERED_ROAD}))*"
)
