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

import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

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

_BENGALI_DIGITS = str.maketrans({chr(0x09E6 + i): str(i) for i in range(10)})

_BN = "\u0980-\u09ff"
# Bengali letters, vowel signs and marks, and the joiners that sit inside Bengali words.
_BN_CHAR = f"[{_BN}\u200c\u200d]"


def _bn(word: str) -> str:
    """A Bengali word as a pattern that accepts both spellings of য়/ড়/ঢ় (one code point or two)."""
    pairs = [(c, unicodedata.normalize("NFD", c)) for c in ("\u09df", "\u09dc", "\u09dd")]
    for composed, decomposed in pairs:
        word = word.replace(decomposed, composed)
    pattern = re.escape(word)
    for composed, decomposed in pairs:
        pattern = pattern.replace(composed, f"(?:{composed}|{decomposed})")
    return pattern


def _bn_words(*words: str) -> str:
    return "|".join(_bn(w) for w in sorted(words, key=len, reverse=True))


def _en_words(*words: str) -> str:
    return "|".join(sorted(words, key=len, reverse=True))


# A keyword is a whole word on its left; on its right an English keyword may carry a Banglish
# ending ("otp-ta", "pin er") and a Bengali one any glued suffix ("ওটিপিটা", "বাসার").
_EN_LEFT = r"(?<![A-Za-z0-9_])"
_EN_RIGHT = r"(?:-?(?:ta|ti|er|r|e|te|tai))?(?![A-Za-z_])"
_BN_LEFT = f"(?<!{_BN_CHAR})"
_BN_RIGHT = f"(?:-?{_BN_CHAR}*)"


def _keyword(english: str, bengali: str) -> str:
    parts = []
    if english:
        parts.append(f"{_EN_LEFT}(?:{english}){_EN_RIGHT}")
    if bengali:
        parts.append(f"{_BN_LEFT}(?:{bengali}){_BN_RIGHT}")
    return "(?:" + "|".join(parts) + ")"


# Between a keyword and its value: punctuation that introduces a value, and up to a few short
# words ("OTP ta holo 482913", "আমার ওটিপি নম্বর হলো ৪৮২৯১৩"). Words hold no digit and no
# sentence end, so a value is never taken from the next sentence or across another number.
_GAP = r"[\s:=#\-–—ঃ,'\"“”‘’()\[\]]*"
_WORD = r"(?:[^\s\d.।?!,;:=#'\"“”‘’()\[\]]{1,15}|(?:no|nr|num|nong|a/c)\.)"


def _fillers(count: int) -> str:
    return f"(?:{_GAP}{_WORD}){{0,{count}}}{_GAP}"


# A number followed by one of these is an amount, a duration, a count or a year, not a secret.
_UNIT_AFTER = (
    r"(?!\s*(?:%|৳|/-|(?:taka|tk|bdt|টাকা|km|kg|min|mins|minute|minutes|মিনিট|ghonta|ঘণ্টা|"
    r"hour|hours|din|দিন|day|days|pcs|piece|pieces|bar|বার|sal|সাল|year|years|"
    r"মাস|mash|month|months|gram|gm|liter|litre)(?![A-Za-z])))"
)

# --- e-mail -------------------------------------------------------------------------------------

_LOCAL = r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9_][A-Za-z0-9._%+\-]*"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?"
_EMAIL = re.compile(rf"{_LOCAL}@{_LABEL}(?:\.{_LABEL})*\.[A-Za-z]{{2,}}(?![A-Za-z0-9])")
# Written-out forms. "at" and "dot" as words are common English, so the domain must end in a
# known top-level domain (or be a known mail provider) for these to count.
_AT = (
    r"(?:\s*@\s*|\s*[\[({<]\s*(?:at|@)\s*[\])}>]\s*"
    r"|\s+(?:at\s*the\s*rate(?:\s*of)?|at-the-rate|attherate|at)\s+"
    rf"|\s*(?:{_bn_words('এট', 'অ্যাট', 'অ্যাট')})(?:\s*(?:দ্য|দি)\s*রেট)?(?!{_BN_CHAR})\s*)"
)
_DOT = r"(?:\s?\.\s?|\s*[\[({<]\s*(?:dot|\.)\s*[\])}>]\s*|\s+dot\s+|\s*ডট\s*)"
_TLD = r"(?:com|net|org|edu|gov|info|io|co|me|bd|biz|xyz|ac|uk|us|in|ca|au|dev|app|mail)"
_BN_TLD = _bn_words("কম", "নেট", "অর্গ", "বিডি")
_PROVIDER = r"(?:gmail|googlemail|yahoo|ymail|hotmail|outlook|live|icloud|proton|protonmail)"
_BN_PROVIDER = _bn_words("জিমেইল", "ইয়াহু", "হটমেইল", "আউটলুক")
_EMAIL_SPOKEN = re.compile(
    rf"(?P<local>{_LOCAL}|{_BN_LEFT}{_BN_CHAR}+)"
    + f"(?P<at>{_AT})"
    + rf"(?P<domain>(?:{_LABEL}|{_BN_PROVIDER})(?:{_DOT}(?:{_TLD}|{_BN_TLD}))+"
    + rf"(?![A-Za-z0-9]|{_BN_CHAR})|(?:{_PROVIDER}|{_BN_PROVIDER})(?![A-Za-z0-9]|{_BN_CHAR}))",
    re.IGNORECASE,
)
_PROVIDER_START = re.compile(rf"(?:{_PROVIDER}|{_BN_PROVIDER})(?![A-Za-z0-9])", re.IGNORECASE)


def _spoken_email_spans(view: str) -> Iterator[_Span]:
    for match in _EMAIL_SPOKEN.finditer(view):
        # "ordered at daraz.com.bd" names a website: a plain "at" before a plainly written
        # domain is an e-mail only when the name looks like one (digits, dots, underscores)
        # or the domain is a mail provider.
        plain_at = match.group("at").strip().lower() == "at"
        plain_domain = not re.search(r"dot|ডট|[\[({<]", match.group("domain"), re.IGNORECASE)
        if (
            plain_at
            and plain_domain
            and match.group("local").isalpha()
            and not _PROVIDER_START.match(match.group("domain"))
        ):
            continue
        yield _Span(match.start(), match.end(), "<EMAIL>")


# --- phone --------------------------------------------------------------------------------------

# Up to three separators between any two digits: spaces, dots, dashes, brackets. A letter o
# stands for a zero anywhere but in the last place ("o1919o77665").
_PS = r"[ \t\u00a0.\-–()]{0,3}"
_PHONE = re.compile(
    r"(?<![\d+])"
    rf"(?:\(\s?)?(?:(?:\+|00){_PS})?(?:8{_PS}8{_PS})?"
    rf"[0oO]{_PS}1{_PS}[3-9](?:{_PS}[\doO]){{7}}{_PS}\d"
    r"(?!\d)",
)


# "01.5.2025 12.30" has a mobile number's digits: a date first means it is a date and a time.
_DATE_START = re.compile(r"\d{1,2}[./]\d{1,2}[./](?:19|20)?\d\d(?!\d)")


def _phone_spans(view: str) -> Iterator[_Span]:
    for match in _PHONE.finditer(view):
        start = match.start()
        # An opening bracket belongs to the number only when the number closes it.
        if view[start] == "(" and ")" not in match.group():
            start += 1
        if _DATE_START.match(match.group()):
            continue
        yield _Span(start, match.end(), "<PHONE>")


# --- digit runs (cards, NIDs) -------------------------------------------------------------------

_RUN_SEP = r"[ \t\u00a0.\-–_]{1,3}"
_DIGIT_RUN = re.compile(rf"\d+(?:{_RUN_SEP}\d+)*")
# Something glued on the left that makes a digit run part of an id: digits, "+", an upper-case
# code ("INV1234567890") or an id with a dash ("BG-", "SKU-").
_ID_BEFORE = re.compile(r"(?:[\d+]|[A-Z]|[A-Za-z]-)$")


def _groups(run: re.Match[str]) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in re.finditer(r"\d+", run.group())]


def _free_run(view: str, start: int, end: int) -> bool:
    """A digit run that nothing glued on makes part of an id or a longer number."""
    if _ID_BEFORE.search(view[max(0, start - 2) : start]):
        return False
    return not (end < len(view) and (view[end].isdigit() or view[end].isupper()))


# --- keywords that introduce a value ------------------------------------------------------------

_NID_KEYWORD = _keyword(
    _en_words(
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
    _bn_words(
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
    _en_words(
        r"card", r"visa", r"master\s*card", r"amex", r"debit", r"credit", r"nexus", r"unionpay"
    ),
    _bn_words("কার্ড", "কার্ড", "ভিসা", "মাস্টারকার্ড", "ডেবিট", "ক্রেডিট"),
)
_TRX_KEYWORD = _keyword(
    r"(?:trx|txn|trans|transaction|tran|tx)\s*[-_.]?\s*(?:id|no|number|num|nombor)\.?"
    r"|trxid|txnid|txid|trx|txn|transaction|lenden\s*(?:id|no|number|nombor)",
    "(?:"
    + _bn_words("ট্রানজেকশন", "ট্রানজ্যাকশন", "ট্রাঞ্জেকশন", "ট্রানসেকশন", "লেনদেন")
    + r")(?:\s*(?:আইডি|নম্বর|নাম্বার|নং))?",
)
# A bare "code" is an OTP unless a word before it says which other code it is.
_OTHER_CODES = (
    *("promo", "coupon", "voucher", "discount", "referral", "error", "status", "exit", "postal"),
    *("post", "zip", "area", "product", "item", "order", "tracking", "sku", "model", "dress"),
    *("qr", "bar"),
)
_OTHER_CODES_BN = ("প্রোমো", "কুপন", "ভাউচার", "ডিসকাউন্ট", "অর্ডার", "পোস্ট", "প্রোডাক্ট")
_OTP_KEYWORD = _keyword(
    r"otp|o\.t\.p\.?|one[\s-]*time\s*(?:password|code|pin)"
    r"|(?:verification|verify|login|security|confirmation|activation|sms|otp)\s*code|"
    + "".join(f"(?<!{word}\\s)" for word in _OTHER_CODES)
    + "code",
    _bn_words("ওটিপি", "ও টি পি", "ভেরিফিকেশন কোড", "যাচাই কোড", "লগইন কোড")
    + "|"
    + "".join(f"(?<!{_bn(word)}\\s)" for word in _OTHER_CODES_BN)
    + "কোড",
)
_PIN_KEYWORD = _keyword(
    r"pin(?:\s*(?:no|number|nombor|nambar|code))?|m-?pin|atm\s*pin",
    _bn_words("পিন", "পিন নম্বর", "পিন কোড"),
)
_PASSWORD_KEYWORD = _keyword(
    r"(?<!time[\s-])pass\s*word|passwd|pasword|passward|paswrd|pwd|passcode|pass(?=\s*[:=])",
    _bn_words("পাসওয়ার্ড", "পাসওয়ার্ড", "পাস ওয়ার্ড", "পাসওয়ার্ড", "পাসকোড"),
)


def _compile(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


# A short secret: 4 to 8 digits (or 3+3, as some SMS print it), not part of a date, time,
# price or longer number.
_CODE = (
    r"(?<!\d[/.:,])(?<![\dA-Za-z])(?:\d{4,8}|\d{3}[ -]\d{3})(?!\d)(?![/.:,]\d)(?!(?-i:[A-Z]))"
    + _UNIT_AFTER
)


def _code_finder(
    keyword: str, kind: str, *, backward: bool = False, code: str = _CODE
) -> Callable[[str], Iterator[_Span]]:
    """The code after its keyword ("OTP ta holo 482913", "OTP482913"), or with ``backward``
    the code before it ("482913 is my OTP", "৪৮২৯১৩ হলো আমার ওটিপি"). All forward rules run
    before any backward one, so "pin: 1234, otp: 567890" keeps the PIN a PIN."""
    if backward:
        # A year there is the time of the story ("2025 sale e OTP ashe nai"), not the code.
        patterns = [_compile(f"(?!(?:19|20)\\d\\d(?!\\d))({code}){_fillers(3)}{keyword}")]
    else:
        glued = r"(\d{4,8})(?!\d)" + _UNIT_AFTER
        patterns = [_compile(f"{keyword}{_fillers(3)}({code})"), _compile(f"{keyword}{glued}")]

    def spans(view: str) -> Iterator[_Span]:
        for pattern in patterns:
            for match in pattern.finditer(view):
                yield _Span(match.start(1), match.end(1), kind)

    return spans


# The three or four digits on the back of a card.
_CVV_KEYWORD = _keyword(r"cvv2?|cvc2?|cid|card\s*security\s*code", "সিভিভি")
_CVV = r"(?<![\dA-Za-z])\d{3,4}(?!\d)(?![/.:,]\d)"


_NID_AFTER_KEYWORD = _compile(f"{_NID_KEYWORD}{_fillers(3)}(?=\\d)")
_CARD_AFTER_KEYWORD = _compile(f"{_CARD_KEYWORD}{_fillers(3)}(?=\\d)")
_TRX_AFTER_KEYWORD = _compile(
    f"{_TRX_KEYWORD}{_fillers(2)}"
    r"(?<![A-Za-z0-9])([A-Za-z0-9]{6,20})(?![A-Za-z0-9])" + _UNIT_AFTER
)

# --- passwords ----------------------------------------------------------------------------------

_PW_CONNECTOR = (
    r"(?:\s*[:=ঃ]\s*|\s*-\s+|\s+(?:is|was|holo|hocche|hoche|chilo|dilam|diyechi|to|set\s+to|"
    + _bn_words("হলো", "হল", "হচ্ছে", "ছিল", "দিলাম", "দিয়েছি", "দিয়েছিলাম")
    + r")\s+)"
)
_PW_SOFT = (
    r"(?:\s+(?:ta|ti|er|amar|my|new|old|notun|purono|current|"
    + _bn_words("টা", "টি", "এর", "আমার", "নতুন", "পুরনো", "পুরানো")
    + r")(?![A-Za-z0-9]|"
    + _BN_CHAR
    + r"))*"
)
_PASSWORD = _compile(
    f"{_PASSWORD_KEYWORD}{_PW_SOFT}(?P<connector>{_PW_CONNECTOR})?\\s*"
    r"(?:(?P<quote>[\"'“‘`])(?P<quoted>[^\"'”’`\n]{3,64})[\"'”’`]"
    r"|(?P<token>[!-~]*[A-Za-z0-9@#$%^&*_+=~!\-]))"
)
# Words that follow "password is" without being one ("my password is wrong").
_PW_STOPWORD_TEXT = """
    reset change changed changing forgot forget forgotten wrong incorrect correct right not
    isn't wasn't too weak strong required needed expired working same set please again the a
    an my your his her it its that this what how why kono ki keno kivabe kothay lagbe lage
    dorkar bhule vule bhul vul kaj hocche hoche hoy na nai ache dibo dilam dite pari parchi
    parsi and or for to of with field box option manager reset-link link case sensitive
    length valid invalid protected hidden saved secure safe update updated used mone pore
    nei nai
"""
_PW_STOPWORDS = frozenset(_PW_STOPWORD_TEXT.split())


def _password_spans(view: str) -> Iterator[_Span]:
    for match in _PASSWORD.finditer(view):
        if match.group("quoted"):
            yield _Span(match.start("quoted"), match.end("quoted"), "<PASSWORD>")
            continue
        token = match.group("token")
        if not token or len(token) < 4 or token.lower() in _PW_STOPWORDS:
            continue
        # A closing "!" is more often the sentence's than the password's ("bolben!").
        has_mark = any(c.isdigit() or not c.isalnum() for c in token.rstrip("!"))
        has_letter = any(c.isalpha() for c in token)
        if match.group("connector"):
            # After "is"/"holo"/":" a word is the password when it carries a digit or symbol,
            # or ends the clause ("my password is sunflower."), not "is case sensitive".
            rest = view[match.end("token") :]
            ends_clause = not re.match(r"\s*[A-Za-z" + _BN + r"]", rest)
            if has_mark or ends_clause:
                yield _Span(match.start("token"), match.end("token"), "<PASSWORD>")
        elif has_mark and (has_letter or token.isdigit()):
            # No connector: only something that cannot be an ordinary word ("password rahim@123").
            yield _Span(match.start("token"), match.end("token"), "<PASSWORD>")


# --- addresses ----------------------------------------------------------------------------------

_ADDR_KEYWORD_EN = _en_words(
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
_ADDR_KEYWORD_BN = _bn_words(
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
    rf"(?:{_EN_LEFT}(?:{_ADDR_KEYWORD_EN})(?:-?(?:er|r))?(?![A-Za-z0-9])"
    rf"|{_BN_LEFT}(?:{_ADDR_KEYWORD_BN})(?:র|ের|-এর|এর)?(?!{_BN_CHAR})"
    r"|(?-i:\b[HR])(?=\s?[#-]\s?\d))"
)
_ADDR_NUMBER_WORD = r"(?:no\.?|num\.?|number|nong|nombor|nambar|নং|নম্বর|নাম্বার|#)"
# Letter names as Bengali writes them ("ব্লক সি", "ফ্ল্যাট ৪বি"); not এ, ই, কে, which are also
# suffixes ("১২ই", "১২কে").
_BN_LETTER_NAME = _bn_words("বি", "সি", "ডি", "এফ", "জি", "এইচ", "এল", "এম", "এন")
_ADDR_VALUE = (
    r"(?:\d{1,5}(?:\s?[/-]\s?(?:\d{1,4}|[A-Za-z](?![A-Za-z])|" + _BN_LETTER_NAME + r"))?"
    r"(?:-?(?-i:[A-Z])(?![A-Za-z])|[a-z](?![A-Za-z])|" + _BN_LETTER_NAME + rf"(?!{_BN_CHAR}))?"
    r"(?!\d)(?![/.:,]\d)" + _UNIT_AFTER + r"(?!\s*(?:টা|টি|ta|ti)(?![A-Za-z]))"
    r"|(?-i:[A-Z])(?![A-Za-z0-9])|" + _BN_LETTER_NAME + rf"(?!{_BN_CHAR}))"
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
    rf"(?![A-Za-z])|(?:{_BN_CHAR}+\s){{1,2}}(?:রোড|সড়ক|সড়ক|লেন|এভিনিউ|সরণি)(?!{_BN_CHAR})"
)
# "23/B Green Road", "২৩/বি গ্রিন রোড": a house number, then a named road. In Bengali the
# number must carry its slash, or "৫ মিনিট হাঁটলে মেইন রোড" would be an address.
_NUMBERED_ROAD = (
    r"\d{1,4}(?:\s?/\s?[A-Za-z0-9]{1,3}|(?-i:[A-Z]))?,?\s"
    r"(?:(?-i:[A-Z][a-z]+)\s){1,3}(?:Road|Rd\.?|Lane|Avenue|Ave\.?|Street|St\.?|Sarani|Sharani)"
    r"(?![A-Za-z])"
    rf"|\d{{1,4}}\s?/\s?(?:\d{{1,3}}|[A-Za-z]|{_BN_LETTER_NAME}),?\s(?:{_BN_CHAR}+\s){{1,2}}"
    rf"(?:রোড|সড়ক|সড়ক|লেন|এভিনিউ|সরণি)(?!{_BN_CHAR})"
)
_ADDRESS = _compile(
    rf"(?:{_ADDR_COMPONENT}|{_NUMBERED_ROAD})"
    rf"(?:\s?[,;]?\s?(?:{_ADDR_COMPONENT}|{_FLOOR}|{_NAMED_ROAD}|{_NUMBERED_ROAD}))*"
)

# --- transaction ids ----------------------------------------------------------------------------

_BARE_TRX = re.compile(r"(?<![A-Za-z0-9\-/])[A-Za-z0-9]{8,12}(?![A-Za-z0-9\-/])")
_PAYMENT_CONTEXT = _compile(
    r"(?<![A-Za-z])(?:bkash|bikash|nagad|nogod|rocket|upay|trx|txn|transaction|payment|"
    r"send\s*money|cash\s*out|cashout)|বিকাশ|নগদ|রকেট|লেনদেন|ট্রানজ|পেমেন্ট|সেন্ড মানি|ক্যাশ আউট"
)
_ORDER_ID = re.compile(r"BG-?\d{8}", re.IGNORECASE)


def _transitions(token: str) -> int:
    return sum(a.isdigit() != b.isdigit() for a, b in zip(token, token[1:], strict=False))


_PROMO_BEFORE = re.compile(
    r"(?:promo|voucher|coupon|code|kod|প্রোমো|ভাউচার|কুপন|কোড)\W{0,3}$", re.IGNORECASE
)


def _bare_trx_spans(view: str) -> Iterator[_Span]:
    payment = _PAYMENT_CONTEXT.search(view) is not None
    for match in _BARE_TRX.finditer(view):
        token = match.group()
        if _ORDER_ID.fullmatch(token) or _PROMO_BEFORE.search(view[: match.start()][-16:]):
            continue
        letters = sum(c.isalpha() for c in token)
        digits = len(token) - letters
        upper = token.upper() == token
        # Ids are random, so letters and digits interleave, unlike the words and one number of
        # a promo code or a name ("BZR500OFF", "rahim1990", "2000taka"), unless the message
        # is about a payment.
        mixed = _transitions(token)
        capitals = upper and letters >= 3 and digits >= 3 and (payment or mixed >= 3)
        interleaved = (upper or payment) and letters >= 2 and digits >= 2 and mixed >= 4
        if capitals or interleaved:
            yield _Span(match.start(), match.end(), "<TRXID>")


def _keyword_trx_spans(view: str) -> Iterator[_Span]:
    for match in _TRX_AFTER_KEYWORD.finditer(view):
        # The id must hold a digit: "transaction id please" names no id.
        if any(c.isdigit() for c in match.group(1)):
            yield _Span(match.start(1), match.end(1), "<TRXID>")


# --- the finders --------------------------------------------------------------------------------


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


def _keyword_run_spans(
    keyword: re.Pattern[str], lengths: frozenset[int], kind: str, *, card: bool = False
) -> Callable[[str], Iterator[_Span]]:
    """The digit run right after a keyword, cut at a prefix of its groups whose digit count is
    in ``lengths``: separators do not matter once the keyword says what the number is.

    The longest such prefix wins; for cards a Luhn-valid prefix wins over a longer invalid one,
    and a group of one or two digits ends the number ("card 4111 1111 1111 1111 2 pcs").
    """

    def spans(view: str) -> Iterator[_Span]:
        for match in keyword.finditer(view):
            run = _DIGIT_RUN.match(view, match.end())
            if run is None:
                continue
            groups = _groups(run)
            count, best, best_valid = 0, None, None
            for index, (start, end) in enumerate(groups):
                if card and index > 0 and end - start < 3:
                    break
                count += end - start
                if count > max(lengths):
                    break
                if count in lengths:
                    best = end
                    if card and luhn_ok(re.sub(r"\D", "", run.group()[:end])):
                        best_valid = end
            end = best_valid or best
            if end is not None:
                yield _Span(run.start(), run.start() + end, kind)

    return spans


_CARD_LENGTHS = frozenset(range(13, 20))
_NID_LENGTHS = frozenset({10, 13, 17})
# How people print NIDs without saying so: 3-3-4 (smart card), 4-4-5, 4-5-4, 5-4-4 (13 digits),
# 4-4-4-5, 4-4-5-4 and 4-13 (17 digits, birth year first).
_NID_LAYOUTS = frozenset(
    {(3, 3, 4), (4, 3, 3), (5, 5), (4, 4, 5), (4, 5, 4), (5, 4, 4), (4, 4, 4, 5), (4, 4, 5, 4)}
)


def _card_spans(view: str) -> Iterator[_Span]:
    """Luhn-valid 13-19 digit numbers starting 2-6 (the card networks' ranges), in groups of
    three or more digits, so that "4111 1111 1111 1111 2 pcs" stops before the quantity."""
    for run in _DIGIT_RUN.finditer(view):
        groups = _groups(run)
        base = run.start()
        index = 0
        while index < len(groups):
            found = None
            count = 0
            for last in range(index, len(groups)):
                start, end = groups[last]
                if end - start < 3 and len(groups) > 1:
                    break
                count += end - start
                if count > 19:
                    break
                digits = re.sub(r"\D", "", run.group()[groups[index][0] : end])
                if count >= 13 and digits[0] in "23456" and luhn_ok(digits):
                    found = (groups[index][0], end, last)
            if found and _free_run(view, base + found[0], base + found[1]):
                yield _Span(base + found[0], base + found[1], "<CARD>")
                index = found[2] + 1
            else:
                index += 1


# A long number the message calls a receipt, invoice, tracking or meter number is the business's
# reference, not an ID card.
_BUSINESS_REF_BEFORE = _compile(
    r"(?:invoice|receipt|order|tracking|consignment|meter|parcel|memo|challan|"
    + _bn_words("রসিদ", "অর্ডার", "ইনভয়েস", "মিটার", "ট্র্যাকিং", "মেমো", "চালান")
    + r")\s*(?:no\.?|number|nombor|id|#|নং|নম্বর|নাম্বার)?\s*[:#-]?\s*$"
)


def _nid_spans(view: str) -> Iterator[_Span]:
    """A digit run that is exactly an NID: one run of 10, 13 or 17 digits, or one of the printed
    layouts as a whole ("2025 100 200 300" is no NID, nor a run of one repeated digit)."""
    for run in _DIGIT_RUN.finditer(view):
        sizes = tuple(end - start for start, end in _groups(run))
        if not ((len(sizes) == 1 and sizes[0] in _NID_LENGTHS) or sizes in _NID_LAYOUTS):
            continue
        if _BUSINESS_REF_BEFORE.search(view[: run.start()][-40:]):
            continue
        if _free_run(view, run.start(), run.end()) and len(set(run.group())) > 2:
            yield _Span(run.start(), run.end(), "<NID>")


def _regex_spans(pattern: re.Pattern[str], kind: str) -> Callable[[str], Iterator[_Span]]:
    def spans(view: str) -> Iterator[_Span]:
        return (_Span(m.start(), m.end(), kind) for m in pattern.finditer(view))

    return spans


def _gated(gate: str, finder: Callable[[str], Iterable[_Span]]) -> Callable[[str], Iterable[_Span]]:
    """``finder`` run only on text where ``gate`` (a cheap necessary condition: a keyword's
    first letters, enough digits) is found; most messages then skip most rules."""
    compiled = _compile(gate)

    def spans(view: str) -> Iterable[_Span]:
        return finder(view) if compiled.search(view) else ()

    return spans


_FOUR_DIGITS = r"\d(?:\D{0,3}\d){3}"
# Every address keyword and road word, as a plain substring.
_ADDRESS_GATE = (
    r"(?<![A-Za-z])(?:hous|hose|holding|plot|road|rd|block|blk|flat|apartment|apt|sector|lane"
    r"|bas|bari|goli|gali|avenue|ave|sarani|sharani|st(?![A-Za-z]))|[HR]\s?[#-]|"
    + _ADDR_KEYWORD_BN
    + "|এভিনিউ|সরণি"
)

# Order matters: an earlier finder claims its characters first. Keyword rules come before the
# shape rules, so that the customer's own words decide ("NID 1987654321012" is an NID even when
# its digits pass Luhn); e-mails first so that their digits are never a phone number; a
# password before the phone number it may contain; a phone number before a transaction id
# ("transaction korechi 01711223344 theke" names the sender's number).
_FINDERS: tuple[Callable[[str], Iterable[_Span]], ...] = (
    _gated("@", _regex_spans(_EMAIL, "<EMAIL>")),
    _gated(r"@|at|এট|অ্যাট|অ্যাট", _spoken_email_spans),
    _gated(r"pas|pwd|পাস", _password_spans),
    _gated(_FOUR_DIGITS, _phone_spans),
    _gated(r"tr|tx|lenden|লেনদেন|ট্রা", _keyword_trx_spans),
    _gated(_FOUR_DIGITS, _keyword_run_spans(_NID_AFTER_KEYWORD, _NID_LENGTHS, "<NID>")),
    _gated(
        _FOUR_DIGITS, _keyword_run_spans(_CARD_AFTER_KEYWORD, _CARD_LENGTHS, "<CARD>", card=True)
    ),
    _gated(_FOUR_DIGITS, _card_spans),
    _gated(_FOUR_DIGITS, _nid_spans),
    _gated(r"\d{3}", _code_finder(_OTP_KEYWORD, "<OTP>")),
    _gated(r"\d{3}", _code_finder(_PIN_KEYWORD, "<PIN>")),
    _gated(r"\d{3}", _code_finder(_CVV_KEYWORD, "<PIN>", code=_CVV)),
    _gated(r"\d{3}", _code_finder(_OTP_KEYWORD, "<OTP>", backward=True)),
    _gated(r"\d{3}", _code_finder(_PIN_KEYWORD, "<PIN>", backward=True)),
    _gated(_ADDRESS_GATE, _regex_spans(_ADDRESS, "<ADDRESS>")),
    _gated(r"[A-Za-z0-9]{8}", _bare_trx_spans),
)


def _spans(text: str) -> list[_Span]:
    view = text.translate(_BENGALI_DIGITS)
    taken: list[_Span] = []
    for finder in _FINDERS:
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
