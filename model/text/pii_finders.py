"""The rules that find personal data: each finder yields spans of one kind in the ASCII-digit
view of a message; :data:`FINDERS` runs them in order (docs/redaction.md).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator

from model.text.pii_patterns import (
    ADDR_KEYWORD_BN,
    ADDRESS,
    BN,
    BN_CHAR,
    BN_LEFT,
    CARD_AFTER_KEYWORD,
    CVV,
    CVV_KEYWORD,
    NID_AFTER_KEYWORD,
    OTP_KEYWORD,
    PASSWORD_KEYWORD,
    PIN_KEYWORD,
    TRX_AFTER_KEYWORD,
    Span,
    bn_words,
    code_finder,
    compile,
    luhn_ok,
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
    rf"|\s*(?:{bn_words('এট', 'অ্যাট', 'অ্যাট')})(?:\s*(?:দ্য|দি)\s*রেট)?(?!{BN_CHAR})\s*)"
)
_DOT = r"(?:\s?\.\s?|\s*[\[({<]\s*(?:dot|\.)\s*[\])}>]\s*|\s+dot\s+|\s*ডট\s*)"
_TLD = r"(?:com|net|org|edu|gov|info|io|co|me|bd|biz|xyz|ac|uk|us|in|ca|au|dev|app|mail)"
_BN_TLD = bn_words("কম", "নেট", "অর্গ", "বিডি")
_PROVIDER = r"(?:gmail|googlemail|yahoo|ymail|hotmail|outlook|live|icloud|proton|protonmail)"
_BN_PROVIDER = bn_words("জিমেইল", "ইয়াহু", "হটমেইল", "আউটলুক")
_EMAIL_SPOKEN = re.compile(
    rf"(?P<local>{_LOCAL}|{BN_LEFT}{BN_CHAR}+)"
    + f"(?P<at>{_AT})"
    + rf"(?P<domain>(?:{_LABEL}|{_BN_PROVIDER})(?:{_DOT}(?:{_TLD}|{_BN_TLD}))+"
    + rf"(?![A-Za-z0-9]|{BN_CHAR})|(?:{_PROVIDER}|{_BN_PROVIDER})(?![A-Za-z0-9]|{BN_CHAR}))",
    re.IGNORECASE,
)
_PROVIDER_START = re.compile(rf"(?:{_PROVIDER}|{_BN_PROVIDER})(?![A-Za-z0-9])", re.IGNORECASE)


def _spoken_email_spans(view: str) -> Iterator[Span]:
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
        yield Span(match.start(), match.end(), "<EMAIL>")


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


def _phone_spans(view: str) -> Iterator[Span]:
    for match in _PHONE.finditer(view):
        start = match.start()
        # An opening bracket belongs to the number only when the number closes it.
        if view[start] == "(" and ")" not in match.group():
            start += 1
        if _DATE_START.match(match.group()):
            continue
        yield Span(start, match.end(), "<PHONE>")


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


# --- passwords ----------------------------------------------------------------------------------

_PW_CONNECTOR = (
    r"(?:\s*[:=ঃ]\s*|\s*-\s+|\s+(?:is|was|holo|hocche|hoche|chilo|dilam|diyechi|to|set\s+to|"
    + bn_words("হলো", "হল", "হচ্ছে", "ছিল", "দিলাম", "দিয়েছি", "দিয়েছিলাম")
    + r")\s+)"
)
_PW_SOFT = (
    r"(?:\s+(?:ta|ti|er|amar|my|new|old|notun|purono|current|"
    + bn_words("টা", "টি", "এর", "আমার", "নতুন", "পুরনো", "পুরানো")
    + r")(?![A-Za-z0-9]|"
    + BN_CHAR
    + r"))*"
)
_PASSWORD = compile(
    f"{PASSWORD_KEYWORD}{_PW_SOFT}(?P<connector>{_PW_CONNECTOR})?\\s*"
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


def _password_spans(view: str) -> Iterator[Span]:
    for match in _PASSWORD.finditer(view):
        if match.group("quoted"):
            yield Span(match.start("quoted"), match.end("quoted"), "<PASSWORD>")
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
            ends_clause = not re.match(r"\s*[A-Za-z" + BN + r"]", rest)
            if has_mark or ends_clause:
                yield Span(match.start("token"), match.end("token"), "<PASSWORD>")
        elif has_mark and (has_letter or token.isdigit()):
            # No connector: only something that cannot be an ordinary word ("password rahim@123").
            yield Span(match.start("token"), match.end("token"), "<PASSWORD>")


# --- transaction ids ----------------------------------------------------------------------------

_BARE_TRX = re.compile(r"(?<![A-Za-z0-9\-/])[A-Za-z0-9]{8,12}(?![A-Za-z0-9\-/])")
_PAYMENT_CONTEXT = compile(
    r"(?<![A-Za-z])(?:bkash|bikash|nagad|nogod|rocket|upay|trx|txn|transaction|payment|"
    r"send\s*money|cash\s*out|cashout)|বিকাশ|নগদ|রকেট|লেনদেন|ট্রানজ|পেমেন্ট|সেন্ড মানি|ক্যাশ আউট"
)
_ORDER_ID = re.compile(r"BG-?\d{8}", re.IGNORECASE)


def _transitions(token: str) -> int:
    return sum(a.isdigit() != b.isdigit() for a, b in zip(token, token[1:], strict=False))


_PROMO_BEFORE = re.compile(
    r"(?:promo|voucher|coupon|code|kod|প্রোমো|ভাউচার|কুপন|কোড)\W{0,3}$", re.IGNORECASE
)


def _bare_trx_spans(view: str) -> Iterator[Span]:
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
            yield Span(match.start(), match.end(), "<TRXID>")


def _keyword_trx_spans(view: str) -> Iterator[Span]:
    for match in TRX_AFTER_KEYWORD.finditer(view):
        # The id must hold a digit: "transaction id please" names no id.
        if any(c.isdigit() for c in match.group(1)):
            yield Span(match.start(1), match.end(1), "<TRXID>")


def _keyword_run_spans(
    keyword: re.Pattern[str], lengths: frozenset[int], kind: str, *, card: bool = False
) -> Callable[[str], Iterator[Span]]:
    """The digit run right after a keyword, cut at a prefix of its groups whose digit count is
    in ``lengths``: separators do not matter once the keyword says what the number is.

    The longest such prefix wins; for cards a Luhn-valid prefix wins over a longer invalid one,
    and a group of one or two digits ends the number ("card 4111 1111 1111 1111 2 pcs").
    """

    def spans(view: str) -> Iterator[Span]:
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
                yield Span(run.start(), run.start() + end, kind)

    return spans


_CARD_LENGTHS = frozenset(range(13, 20))
_NID_LENGTHS = frozenset({10, 13, 17})
# How people print NIDs without saying so: 3-3-4 (smart card), 4-4-5, 4-5-4, 5-4-4 (13 digits),
# 4-4-4-5, 4-4-5-4 and 4-13 (17 digits, birth year first).
_NID_LAYOUTS = frozenset(
    {(3, 3, 4), (4, 3, 3), (5, 5), (4, 4, 5), (4, 5, 4), (5, 4, 4), (4, 4, 4, 5), (4, 4, 5, 4)}
)


def _card_spans(view: str) -> Iterator[Span]:
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
                yield Span(base + found[0], base + found[1], "<CARD>")
                index = found[2] + 1
            else:
                index += 1


# A long number the message calls a receipt, invoice, tracking or meter number is the business's
# reference, not an ID card.
_BUSINESS_REF_BEFORE = compile(
    r"(?:invoice|receipt|order|tracking|consignment|meter|parcel|memo|challan|"
    + bn_words("রসিদ", "অর্ডার", "ইনভয়েস", "মিটার", "ট্র্যাকিং", "মেমো", "চালান")
    + r")\s*(?:no\.?|number|nombor|id|#|নং|নম্বর|নাম্বার)?\s*[:#-]?\s*$"
)


def _nid_spans(view: str) -> Iterator[Span]:
    """A digit run that is exactly an NID: one run of 10, 13 or 17 digits, or one of the printed
    layouts as a whole ("2025 100 200 300" is no NID, nor a run of one repeated digit)."""
    for run in _DIGIT_RUN.finditer(view):
        sizes = tuple(end - start for start, end in _groups(run))
        if not ((len(sizes) == 1 and sizes[0] in _NID_LENGTHS) or sizes in _NID_LAYOUTS):
            continue
        if _BUSINESS_REF_BEFORE.search(view[: run.start()][-40:]):
            continue
        if _free_run(view, run.start(), run.end()) and len(set(run.group())) > 2:
            yield Span(run.start(), run.end(), "<NID>")


def _regex_spans(pattern: re.Pattern[str], kind: str) -> Callable[[str], Iterator[Span]]:
    def spans(view: str) -> Iterator[Span]:
        return (Span(m.start(), m.end(), kind) for m in pattern.finditer(view))

    return spans


def _gated(gate: str, finder: Callable[[str], Iterable[Span]]) -> Callable[[str], Iterable[Span]]:
    """``finder`` run only on text where ``gate`` (a cheap necessary condition: a keyword's
    first letters, enough digits) is found; most messages then skip most rules."""
    compiled = compile(gate)

    def spans(view: str) -> Iterable[Span]:
        return finder(view) if compiled.search(view) else ()

    return spans


_FOUR_DIGITS = r"\d(?:\D{0,3}\d){3}"
# Every address keyword and road word, as a plain substring.
_ADDRESS_GATE = (
    r"(?<![A-Za-z])(?:hous|hose|holding|plot|road|rd|block|blk|flat|apartment|apt|sector|lane"
    r"|bas|bari|goli|gali|avenue|ave|sarani|sharani|st(?![A-Za-z]))|[HR]\s?[#-]|"
    + ADDR_KEYWORD_BN
    + "|এভিনিউ|সরণি"
)

# Order matters: an earlier finder claims its characters first. Keyword rules come before the
# shape rules, so that the customer's own words decide ("NID 1987654321012" is an NID even when
# its digits pass Luhn); e-mails first so that their digits are never a phone number; a
# password before the phone number it may contain; a phone number before a transaction id
# ("transaction korechi 01711223344 theke" names the sender's number).
FINDERS: tuple[Callable[[str], Iterable[Span]], ...] = (
    _gated("@", _regex_spans(_EMAIL, "<EMAIL>")),
    _gated(r"@|at|এট|অ্যাট|অ্যাট", _spoken_email_spans),
    _gated(r"pas|pwd|পাস", _password_spans),
    _gated(_FOUR_DIGITS, _phone_spans),
    _gated(r"tr|tx|lenden|লেনদেন|ট্রা", _keyword_trx_spans),
    _gated(_FOUR_DIGITS, _keyword_run_spans(NID_AFTER_KEYWORD, _NID_LENGTHS, "<NID>")),
    _gated(
        _FOUR_DIGITS, _keyword_run_spans(CARD_AFTER_KEYWORD, _CARD_LENGTHS, "<CARD>", card=True)
    ),
    _gated(_FOUR_DIGITS, _card_spans),
    _gated(_FOUR_DIGITS, _nid_spans),
    _gated(r"\d{3}", code_finder(OTP_KEYWORD, "<OTP>")),
    _gated(r"\d{3}", code_finder(PIN_KEYWORD, "<PIN>")),
    _gated(r"\d{3}", code_finder(CVV_KEYWORD, "<PIN>", code=CVV)),
    _gated(r"\d{3}", code_finder(OTP_KEYWORD, "<OTP>", backward=True)),
    _gated(r"\d{3}", code_finder(PIN_KEYWORD, "<PIN>", backward=True)),
    _gated(_ADDRESS_GATE, _regex_spans(ADDRESS, "<ADDRESS>")),
    _gated(r"[A-Za-z0-9]{8}", _bare_trx_spans),
)
