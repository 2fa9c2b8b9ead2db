"""What in a question changes its answer: numbers, places, payment instruments, goods, negation.

Two questions can share almost every word and still need different answers: "18 hajar takar
order e COD hobe?" and "28 hajar…", "Chattogram e delivery charge koto?" and "Dhaka te…",
"refund ashche" and "refund ashe nai". The reuse guards (:mod:`model.guards`) compare what
these functions find in both questions; retrieval also uses the delivery region as a feature.

All functions take raw customer text in any register (bn, en, banglish, mixed) and never raise.
"""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache

from model.text.concepts import GOODS, INSTRUMENTS, PLACES, REGION_WORDS, STOP_WORDS
from model.text.normalize import normalize
from model.text.translit import skeleton, spell, stem, words

__all__ = [
    "content_keys",
    "goods",
    "instruments",
    "negated",
    "negation_contexts",
    "negations",
    "numbers",
    "places",
    "regions",
]


def _words(block: str) -> frozenset[str]:
    return frozenset(block.split())


_NUMBER = re.compile(r"(?<![\w.])(\d+(?:[.,]\d+)*)(\s*k\b)?")
_MULTIPLIERS = {
    "hajar": 1000,
    "hazar": 1000,
    "হাজার": 1000,
    "thousand": 1000,
    "k": 1000,
    "lakh": 100000,
    "lac": 100000,
    "lakhs": 100000,
    "লাখ": 100000,
    "লক্ষ": 100000,
}
#: Number words, counted only before a unit (so "ekta parcel", "a parcel" are no numbers).
_NUMBER_WORDS = {
    **dict.fromkeys(("one", "ek", "এক"), 1.0),
    **dict.fromkeys(("two", "dui", "দুই", "দু"), 2.0),
    **dict.fromkeys(("three", "tin", "তিন"), 3.0),
    **dict.fromkeys(("four", "চার"), 4.0),
    **dict.fromkeys(("five", "pach", "panch", "পাঁচ"), 5.0),
    **dict.fromkeys(("six", "choy", "ছয়"), 6.0),
    **dict.fromkeys(("seven", "sat", "shat", "সাত"), 7.0),
    **dict.fromkeys(("ten", "dosh", "দশ"), 10.0),
    **dict.fromkeys(("half", "আধা", "adha"), 0.5),
    **dict.fromkeys(("দেড়", "der"), 1.5),
    **dict.fromkeys(("আড়াই", "arai"), 2.5),
}
_UNITS = _words(
    "din দিন day days taka টাকা tk hajar হাজার thousand minute minutes minit মিনিট ghonta "
    "ঘণ্টা ঘন্টা hour hours mash মাস month months week weeks soptah সপ্তাহ"
)


def numbers(text: str) -> list[str]:
    """The numbers in ``text``, sorted, as plain decimals (``১৮ হাজার`` and ``18,000`` → 18000).

    Digits in any script count (order ids and phone numbers are numbers too); a following
    ``hajar``/``হাজার``/``thousand``/``k`` or ``lakh``/``লাখ`` multiplies; number words count
    only before a unit ("দুই দিন", "five days").
    """
    norm = normalize(text)
    found: list[float] = []
    tokens = words(norm)
    for match in _NUMBER.finditer(norm):
        digits = match.group(1)
        value = _parse(digits)
        if value is None:
            continue
        if value == 0 and norm[match.end() :].lstrip().startswith("%"):
            continue  # "0% EMI", "0 % interest": the name of an offer, not an amount asked
        if match.group(2):
            value *= 1000
        else:
            after = norm[match.end() :].lstrip(" -")
            follower = words(after[:12])[:1]
            if follower and follower[0] in _MULTIPLIERS:
                value *= _MULTIPLIERS[follower[0]]
        found.append(value)
    for word, nxt in zip(tokens, tokens[1:], strict=False):
        if word in _NUMBER_WORDS and (nxt in _UNITS or stem(nxt) in _UNITS):
            value = _NUMBER_WORDS[word]
            if nxt in _MULTIPLIERS:
                value *= _MULTIPLIERS[nxt]
            found.append(value)
    return sorted(_plain(v) for v in found)


def _parse(digits: str) -> float | None:
    # "10,000" and "1,00,000" group thousands; "1.5" is a decimal; "10.000" (European) is rare.
    if "," in digits:
        digits = digits.replace(",", "")
    try:
        return float(digits)
    except ValueError:
        return None


def _plain(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:g}"


@lru_cache(maxsize=1)
def _lookup() -> dict[str, dict[str, str]]:
    """Folded spellings -> canonical value, per kind of name."""
    tables: dict[str, dict[str, str]] = {}
    for kind, names in (
        ("place", {spelling: place for spelling, (place, _) in PLACES.items()}),
        ("region", {spelling: region for spelling, (_, region) in PLACES.items()}),
        ("region_word", REGION_WORDS),
        ("instrument", INSTRUMENTS),
        ("goods", GOODS),
    ):
        table: dict[str, str] = {}
        for spelling, value in names.items():
            table.setdefault(spelling.casefold(), value)
            for key in (spell(spelling), spell(stem(spelling))):
                # Short folds ("so", "t") would meet ordinary words; names that short are
                # matched as written only ("tv").
                if len(key) >= _SHORTEST:
                    table.setdefault(key, value)
        tables[kind] = table
    return tables


_SHORTEST = 3


def _keys(text: str) -> list[set[str]]:
    """Per word of ``text``: the word as written, its light fold and its stem's fold."""
    keys: list[set[str]] = []
    for word in words(text):
        if word[0].isdigit():
            continue
        word = word.replace("'", "")
        # One ending off too: a name that ends like a suffix loses part of itself to the
        # second ("উত্তরায়" → "উত্তরা" → "উত্ত").
        folded = {spell(word), spell(stem(word, 1)), spell(stem(word))}
        keys.append({word} | {k for k in folded if len(k) >= _SHORTEST})
    return keys


def _find(kind: str, text: str) -> list[str]:
    """The values of ``kind`` named in ``text``, one per word at most."""
    table = _lookup()[kind]
    found: list[str] = []
    for options in _keys(text):
        for key in sorted(options):
            if key in table:
                found.append(table[key])
                break
    return found


def place_word(word: str) -> bool:
    """Whether one word of :func:`words` names a place (মিরপুরে, uttaray, sylhet)."""
    table = _lookup()["place"]
    return any(key in table for key in _keys(word)[0]) if not word[0].isdigit() else False


def places(text: str) -> set[str]:
    """Canonical names of the places ``text`` names (ঢাকা, Dhaka-তে, dhakay → ``dhaka``)."""
    return set(_find("place", text))


def regions(text: str) -> set[str]:
    """Delivery regions asked about: ``dhaka``, ``district``, ``remote``, ``abroad``.

    "outside Dhaka" / "ঢাকার বাইরে" is ``district``; a remote upazila or village is ``remote``
    (and not also its district's town).
    """
    found = set(_find("region", text))
    hints = set(_find("region_word", text))
    if "outside" in hints and "dhaka" in found:
        found.discard("dhaka")
        found.add("district")
    if "remote" in hints:
        found.discard("district")
        found.add("remote")
    return found


def instruments(text: str) -> set[str]:
    """Payment instruments named: bkash, nagad, rocket, card, bank, wallet, cash.

    A bank named beside a card is the card's issuer ("bank card", "ব্যাংকের কার্ড", "partner
    bank er card") or the one that charged it ("visa card e pay korlam, bank taka kete nilo"),
    not a bank transfer: the card alone is named then.
    """
    found = set(_find("instrument", text))
    if "card" in found:
        found.discard("bank")
    return found


def goods(text: str) -> set[str]:
    """Kinds of goods named: food, innerwear, cosmetics, voucher, clothing, shoes…"""
    return set(_find("goods", text))


# --- negation ----------------------------------------------------------------------------------

_NEGATORS = _words(
    "না নাই নেই নি নয় নহে নাহ "
    "na nai ni nei noy nah naa nahi "
    "not no never none nothing nobody neither nor cannot without"
)
#: Verb endings that carry the negation in Bengali script (আসেনি, পাইনি, হয়নি, যায়না, হবেনা).
_BN_ENDINGS = tuple(_words("েনি ইনি য়নি িনি ননি য়না বেনা বোনা বনা ছিনা ছেনা েনা িনা"))
#: Banglish endings that carry it (asheni, paini, hoyni, jayna, hobena, parchina).
_LATIN_ENDINGS = tuple(_words("eni ini yni yna bena bona china chena sina sena"))
_CONTRACTIONS = _words("cant dont didnt doesnt wont isnt havent hasnt wasnt arent couldnt")
#: Words with those endings that are not negated verbs.
_NOT_NEGATED = _words(
    "কিনা কেনা দেনা চেনা জানা চিনি পানি কাহিনি রানি কোম্পানি অনলাইনি "
    "kina kena dena chena jana chini pani kahini rani company mini bikini gemini sena china"
)


def negations(text: str) -> int:
    """How many negations ``text`` holds, in any register (see :func:`negated`)."""
    return sum(negated(text).values())


#: Negators that follow what they negate in Bangla and Banglish ("ashe nai", "আসে না").
_AFTER = _words("না নাই নেই নি নয় নহে নাহ na nai ni nei noy nah naa nahi")


def negated(text: str) -> Counter[str]:
    """What ``text`` negates: the consonant skeleton of each negated word, with its count.

    Whole words (না, নেই, nai, not, never…) negate the word before them in Bangla and
    Banglish ("chai na": ``c``) and the word after them in English ("not shipped": ``spd``);
    ``n't`` negates the next word ("don't want"); Bangla verbs carry the negation in their
    ending (আসেনি, হবেনা; asheni, hobena). So "cancel korte chai na" (do not want) and
    "cancel korte parchi na" (cannot) differ, while "ashe nai" and "asheni" agree.
    "কিনা"/"kina" (whether), nouns with such endings (চিনি, company) and place names (Feni)
    are no negations; "no" before a digit is "number".
    """
    return Counter(head for _, head, _ in _negations(words(text)))


#: Words read on each side of a negation, within its clause, for :func:`negation_contexts`.
CONTEXT = 2
#: Where a clause ends: punctuation, and the conjunctions that join two statements ("taka
#: kete nise kintu order hoy nai", "OTP আসেনি তাই login হচ্ছে না").
_CLAUSE_END = re.compile(
    r"[,.;:!?।\n]+|(?<!\S)(?:but|so|and|kintu|tai|tobe|ar|কিন্তু|তাই|অথচ|তবে|আর)(?!\S)",
    re.IGNORECASE,
)


def negation_contexts(text: str) -> list[tuple[str, frozenset[str]]]:
    """Each negation of ``text`` (as :func:`negated` names it) with the consonant skeletons of
    the words around it in its clause (:data:`CONTEXT` on each side, not counting one-consonant
    words like "ta", "ki", "my"): what the negation is about, for :func:`model.guards.agree`."""
    found = []
    for clause in _CLAUSE_END.split(text):
        tokens = words(clause)
        keys = [_key(w) if w not in _NEGATORS and w not in _FUNCTION else "" for w in tokens]
        for at, head, closes in _negations(tokens):
            before = [k for k in keys[:at] if len(k) >= 2][-CONTEXT:]
            # A Bangla negation closes its clause: the negated verb comes last, so what follows
            # is the next statement even without a comma ("order hoy nai kobe ferot ashbe" asks
            # when the money comes back). An English one reads on ("never received my refund").
            after = [] if closes else [k for k in keys[at + 1 :] if len(k) >= 2]
            found.append((head, frozenset(before + after[:CONTEXT])))
    return found


def _key(word: str) -> str:
    return skeleton(stem(word)) or word


#: Function words ("er", "theke", "korte", "the"): never what a negation is about.
_FUNCTION = frozenset(normalize(w) for w in STOP_WORDS.split())


def content_keys(text: str) -> frozenset[str]:
    """The consonant skeletons of the words of ``text`` that are not function words: what a
    negation's context is compared with (a skeleton as short as "ar", from "er", would
    otherwise begin "ard", order)."""
    return frozenset(_key(w) for w in words(text) if w not in _FUNCTION)


def _negations(tokens: list[str]) -> list[tuple[int, str, bool]]:
    """(position of the negated word, its skeleton, whether the negation is Bangla's) of each
    negation in ``tokens``: a negator after the word (আসে না, ashe nai) or a negating ending
    (আসেনি, hoyni) is Bangla's and closes its clause; an English one reads on."""
    found: list[tuple[int, str, bool]] = []

    def head(at: int) -> str:
        if 0 <= at < len(tokens):
            return _key(tokens[at])
        return "_"

    for index, word in enumerate(tokens):
        if word in _NOT_NEGATED or _is_name(word):
            continue
        if tuple(tokens[index + 1 : index + 3]) in _FAILED:
            continue  # "didn't go through": a payment that failed, the failure concept's
        if word in _NEGATORS:
            if word == "no" and index + 1 < len(tokens) and tokens[index + 1][0].isdigit():
                continue
            bangla = word in _AFTER
            at = index - 1 if bangla else index + 1
            found.append((at, head(at), bangla))
        elif word.endswith("n't") or word in _CONTRACTIONS:
            found.append((index + 1, head(index + 1), False))
        elif len(word) > 3 and (ending := _ending(word)):
            found.append((index, skeleton(stem(word[: -len(ending)])) or word, True))
    return found


#: What follows a negator in "didn't go through" / "never went thru": one word for failing.
_FAILED = frozenset(
    (verb, through) for verb in ("go", "went", "gone") for through in ("through", "thru")
)


def _ending(word: str) -> str:
    """The negating ending of a Bangla verb (its last two letters), or ""."""
    if word.endswith(_BN_ENDINGS + _LATIN_ENDINGS):
        return word[-2:]
    return ""


def _is_name(word: str) -> bool:
    """A place, instrument or goods name ("Feni" ends like "asheni" but negates nothing)."""
    tables = _lookup()
    keys = {word, spell(word)}
    return any(key in tables[kind] for kind in ("place", "instrument", "goods") for key in keys)


def signature(text: str) -> Counter[str]:
    """Everything above in one multiset, for tests and diagnostics."""
    items: Counter[str] = Counter(f"n:{n}" for n in numbers(text))
    items.update(f"p:{p}" for p in places(text))
    items.update(f"r:{r}" for r in regions(text))
    items.update(f"i:{i}" for i in instruments(text))
    items.update(f"g:{g}" for g in goods(text))
    items["neg"] = negations(text)
    return items
