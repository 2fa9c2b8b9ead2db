"""Route a customer's message to a language label.

Labels (:data:`LANGS`):

``bn``        Bangla in Bengali script.
``en``        English.
``banglish``  Bangla written in Latin script, with or without English words.
``mixed``     Bengali script together with Latin-script words ("আমার order টা cancel করতে চাই").
``other``     Any other language (Hindi, Urdu, Arabic, French, Spanish...).
``und``       No language content: empty, emoji, punctuation, digits, order ids, links, or only
              names that every language shares ("Mirpur", "bKash").

How (cheapest evidence first, so the median message never reaches langdetect):

1. Drop what is not language: whitespace-separated chunks holding a digit (order ids, phone
   numbers, amounts, "10GB"), e-mail addresses and @mentions, links, /commands, emoticons.
2. Count letters per script. Nothing left → ``und``. Letters of a script other than Bengali
   and Latin outnumbering both → ``other``. Bengali letters plus a Latin word of two or more
   letters → ``mixed``; Bengali only → ``bn``.
3. Latin only: set aside what is spelt like a name (brands and models: "iPhone", "Walton
   Primo", "Pad SE", "NFC") and look every other word up in
   :mod:`model.text.banglish_lexicon` and :mod:`model.text.hinglish_lexicon`; a word no list
   knows may still show its language by a Bangla or Hindi ending ("kortesi", "porenai",
   "milega") or a Bangla suffix on a known word ("phoneta", "bkashe"). Then:
   Hindi/Urdu grammar words outnumbering Bangla ones → ``other`` ("tumhara naam kya hai");
   Bangla words, with the words both write (bhai, ji, na), outnumbering foreign ones →
   ``banglish`` (one is enough: "thanks vai", "Tecno camon pro er review den"). Foreign
   function words or accented letters → ``other``. English words covering at least half of
   the unknown-or-English words → ``en``. Only names → ``und``. docs/routing.md has the
   word lists' reasoning and the figures.
4. Still undecided (mostly unknown words): langdetect, seeded and guarded, decides between
   English and a confidently detected European language; anything else is taken as Banglish
   with spellings the lexicon lacks, since that is what such text is for our customers.

``confidence`` is a heuristic strength in [0, 1] (share of deciding letters or words), not a
calibrated probability. :func:`detect` is deterministic and never raises.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Literal

from model.text.banglish_lexicon import (
    AMBIGUOUS,
    BANGLISH,
    BANGLISH_ENDINGS,
    BANGLISH_NAME_SUFFIXES,
    BANGLISH_SUFFIXES,
    ENGLISH,
    FOREIGN,
    NEUTRAL,
)
from model.text.hinglish_lexicon import (
    HINDI_ENDINGS,
    HINGLISH,
    LIGHT_VERB_STEMS,
    LIGHT_VERBS,
    SHARED,
    WEAK,
)
from model.text.normalize import strip_invisible

__all__ = ["LANGS", "Detection", "Lang", "detect"]

Lang = Literal["bn", "en", "banglish", "mixed", "other", "und"]
LANGS: tuple[Lang, ...] = ("bn", "en", "banglish", "mixed", "other", "und")

# langdetect codes it separates reliably from romanized Bangla at high probability. Banglish
# itself comes back as so/sw/id/tl/hr/fi..., so those are deliberately absent.
_LANGDETECT_OTHER = frozenset({"fr", "es", "pt", "it", "de", "nl", "ca", "ro", "pl", "sv"})
_LANGDETECT_MIN_PROB = 0.9
_LANGDETECT_MAX_CHARS = 1000  # enough to tell a language; keeps a 4096-char message cheap

_EMOTICON = re.compile(r"[:;=8][-'^o]?[()\[\]DPpOo3/\\|*$@]+|[xX][dD]+|<3+|\^_*\^|[-o]_+[-o]")
_LATIN_LETTERS = "a-z\u00e0-\u00f6\u00f8-\u024f\u1e00-\u1eff"
# Hyphenated compounds stay whole: "e-wallet" must not yield the Banglish particle "e".
_LATIN_WORD = re.compile(f"[{_LATIN_LETTERS}]+(?:['-][{_LATIN_LETTERS}]+)*", re.IGNORECASE)
_SENTENCE_END = frozenset(".!?:;\n")
_LETTER_NAMES = frozenset("BCDEFGHJKLMNOPQRSTUVWXYZ")  # not "I" and "A", English words
_ELONGATION = re.compile(r"(.)\1{2,}")
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u02bc": "'", "`": "'"})


@dataclass(frozen=True, slots=True)
class Detection:
    """A routed language label and how strongly the evidence supports it."""

    label: Lang
    confidence: float


@dataclass(slots=True)
class _Scripts:
    bengali: int = 0
    latin: int = 0
    other: int = 0


def detect(text: str) -> Detection:
    """Return the language label of ``text``; deterministic, never raises (see module doc)."""
    try:
        return _detect(text)
    except Exception:  # pragma: no cover - defensive: routing must never break a chat
        return Detection("und", 0.0)


def _detect(text: str) -> Detection:
    if not isinstance(text, str):
        return Detection("und", 0.0)
    kept = _language_chunks(text)
    scripts = _count_scripts(kept)
    total = scripts.bengali + scripts.latin + scripts.other
    if total == 0:
        return Detection("und", 1.0)
    if scripts.other >= scripts.bengali + scripts.latin:
        return Detection("other", _round(scripts.other / total))

    latin_text = kept.translate(_APOSTROPHES)
    if scripts.bengali:
        latin_words = [w for w in _LATIN_WORD.findall(latin_text) if len(w) >= 2]
        if latin_words:
            minority = min(scripts.bengali, sum(map(len, latin_words)))
            return Detection("mixed", 0.9 if minority >= 3 else 0.7)
        return Detection("bn", _round(scripts.bengali / total))
    return _detect_latin(kept, _latin_words(latin_text))


def _language_chunks(text: str) -> str:
    """Text without ids, numbers, links, mentions, commands and emoticons."""
    text = unicodedata.normalize("NFC", strip_invisible(text))
    kept = []
    for chunk in text.split():
        if (
            any(ch.isdigit() for ch in chunk)
            or "@" in chunk
            or "://" in chunk
            or chunk.lower().startswith("www.")
            or (chunk.startswith("/") and len(chunk) > 1)
            or _EMOTICON.fullmatch(chunk.strip(".,!?"))
        ):
            continue
        kept.append(chunk)
    return " ".join(kept)


def _count_scripts(text: str) -> _Scripts:
    counts = _Scripts()
    after_letter = False
    for ch in text:
        cp = ord(ch)
        if cp < 0x80:
            after_letter = ch.isalpha()
            counts.latin += after_letter
        elif 0x0980 <= cp <= 0x09FF:
            # Letters, vowel signs and marks only: Bengali digits were dropped with their
            # chunk, and the taka sign ৳ and fractions are symbols, not language.
            after_letter = cp <= 0x09E3 or cp in (0x09F0, 0x09F1, 0x09FC, 0x09FE)
            counts.bengali += after_letter
        elif ch.isalpha() or (after_letter and unicodedata.category(ch).startswith("M")):
            # A mark counts only on a letter: the variation selector in "❤️" or the keycap
            # in "#️⃣" are marks too, but belong to emoji.
            after_letter = True
            if cp <= 0x024F or 0x1E00 <= cp <= 0x1EFF or 0x0300 <= cp <= 0x036F:
                counts.latin += 1  # accented Latin; its words count as foreign evidence later
            else:
                counts.other += 1
        else:
            after_letter = False
    return counts


def _latin_words(text: str) -> list[tuple[str, int]]:
    """Lower-cased words, each with how much its spelling says it is a name (:func:`_name_sign`).

    Model and brand names are what outnumber the Bangla words of a product question; as names
    they are evidence of no language.
    """
    matches = list(_LATIN_WORD.finditer(text))
    letters = upper = capitalised = 0
    for match in matches:
        word = match.group()
        letters += len(word)
        upper += sum(ch.isupper() for ch in word)
        capitalised += word[0].isupper()
    if 2 * upper > letters:
        # Shouting: capitals say nothing ("AMAR PARCEL KOI").
        return [(match.group().lower(), 0) for match in matches]
    title_style = 2 * capitalised > len(matches)
    return [
        (match.group().lower(), _name_sign(match.group(), text, match.start(), title_style))
        for match in matches
    ]


def _name_sign(word: str, text: str, start: int, title_style: bool) -> int:
    """2: a name whatever a list says; 1: a name if no list knows the word; 0: no sign.

    2 is an all-capital code of two letters ("Pad SE", "AC", "TV") or a capital letter inside
    a sentence ("Vitamin E", not the Bangla particle "e"). 1 is an all-capital word of up to
    five letters (NFC, LED, COD), inner capitals ("iPhone", "PowerCore"), or a capitalised
    word inside a sentence ("Walton Primo") when most words are not capitalised.
    """
    if word.isupper():
        if len(word) == 2 or (word in _LETTER_NAMES and not _sentence_start(text, start)):
            return 2
        return 1 if 2 < len(word) <= 5 else 0
    if any(ch.isupper() for ch in word[1:]):
        return 1
    if word[0].isupper() and not title_style and not _sentence_start(text, start):
        return 1
    return 0


def _sentence_start(text: str, position: int) -> bool:
    """Whether the word at ``position`` opens the message or a sentence."""
    i = position - 1
    while i >= 0 and text[i] in " \t\"'(":
        i -= 1
    return i < 0 or text[i] in _SENTENCE_END


def _detect_latin(text: str, words: list[tuple[str, int]]) -> Detection:
    content = [(w, name) for w, name in words if w not in NEUTRAL]
    if not content:
        # Only shared names or laughter: no sign of a language, route by chat history.
        return Detection("und", 0.5)
    banglish = shared = hindi = weak = english = foreign = unknown = 0
    previous = ""
    for word, name in content:
        if word in LIGHT_VERBS and previous in LIGHT_VERB_STEMS:
            kind = "hindi"
        else:
            kind = "name" if name == 2 else _word_kind(word)
        previous = word
        if kind == "unknown" and name:
            kind = "name"
        if kind == "banglish":
            banglish += 1
        elif kind == "shared":
            shared += 1
        elif kind == "hindi" and word in WEAK:
            weak += 1
        elif kind == "hindi":
            hindi += 1
        elif kind == "english":
            english += 1
        elif kind == "foreign":
            foreign += 1
        elif kind == "unknown":
            unknown += 1
    if hindi or shared:
        hindi += weak  # "ho" beside "gaya" is Hindi; "par" beside "value" is English
    # Hindi and Urdu grammar words against Bangla ones; words both write (bhai, ji, na) and
    # English loanwords say nothing about which of the two it is.
    if hindi > banglish:
        return Detection("other", _round(0.6 + 0.4 * hindi / (hindi + banglish + english)))
    south_asian = banglish + shared
    if south_asian > foreign:
        return Detection(
            "banglish", _round(0.6 + 0.4 * south_asian / (south_asian + english + hindi))
        )
    if foreign and foreign >= english:
        return Detection("other", _round(0.6 + 0.4 * foreign / (foreign + english + banglish)))
    if english and english >= unknown:
        return Detection("en", _round(english / (english + unknown)))
    if not (english or unknown):
        # Only names, or words shared by both languages ("to", "pay"): too little to tell.
        return Detection("und", 0.5)
    return _by_langdetect(text, english, unknown)


def _word_kind(word: str) -> str:
    """Which list ``word`` belongs to; a word no list knows goes by its parts or endings."""
    kind = _lookup(word)
    if kind != "unknown":
        return kind
    if "-" in word:
        parts = {_lookup(part) for part in word.split("-") if len(part) > 1}
        for candidate in ("banglish", "hindi", "shared", "foreign", "english", "ambiguous"):
            if candidate in parts:
                return candidate
    return _by_ending(word)


def _by_ending(word: str) -> str:
    """Bangla or Hindi by a verb ending, or a Bangla suffix glued to a known word."""
    if len(word) >= 5:
        if word.endswith(HINDI_ENDINGS):
            return "hindi"
        if word.endswith(BANGLISH_ENDINGS):
            return "banglish"
    for suffix, shortest in BANGLISH_SUFFIXES:
        stem = word[: -len(suffix)]
        if word.endswith(suffix) and len(stem) >= shortest:
            kind = "english" if stem in NEUTRAL else _lookup(stem)
            if kind == "english" or kind == "banglish":
                return "banglish"
    if word.endswith(BANGLISH_NAME_SUFFIXES) and word[:-1] in NEUTRAL:
        return "banglish"
    return "unknown"


def _lookup(word: str) -> str:
    """Which list ``word`` is in, trying its elongation-free forms ("okkkk", "pleaseee")."""
    for form in (word, _ELONGATION.sub(r"\1", word), _ELONGATION.sub(r"\1\1", word)):
        if form in SHARED:
            return "shared"
        if form in BANGLISH:
            return "banglish"
        if form in HINGLISH:
            return "hindi"
        if form in ENGLISH:
            return "english"
        if form in FOREIGN:
            return "foreign"
        if form in AMBIGUOUS or form in NEUTRAL:
            return "ambiguous"
    return "unknown" if word.isascii() else "foreign"


def _by_langdetect(text: str, english: int, unknown: int) -> Detection:
    probabilities = _langdetect_probabilities(text)
    if probabilities:
        lang, prob = probabilities[0]
        if lang == "en" and prob >= 0.7:
            return Detection("en", _round(0.9 * prob))
        # Three words at least: on one or two unlisted Banglish words ("tmgo pola")
        # langdetect is just as sure of Italian, and misrouting a customer costs more.
        if lang in _LANGDETECT_OTHER and prob >= _LANGDETECT_MIN_PROB and english + unknown >= 3:
            return Detection("other", _round(0.9 * prob))
    # Latin text that is neither recognisably English nor a detected European language is,
    # for our customers, Banglish in spellings the lexicon does not list.
    return Detection("banglish", 0.5)


def _langdetect_probabilities(text: str) -> list[tuple[str, float]]:
    """langdetect's ranked guesses, or [] when it cannot say (it raises on such text)."""
    factory = _langdetect_factory()
    if factory is None:
        return []
    try:
        detector = factory.create()
        detector.append(text[:_LANGDETECT_MAX_CHARS])
        return [(p.lang, p.prob) for p in detector.get_probabilities()]
    except Exception:  # LangDetectException on featureless text; nothing else is expected
        return []


@functools.cache
def _langdetect_factory() -> Any:
    """A private, seeded langdetect factory (loaded once, on first undecided message).

    A private factory keeps our seed from leaking into other langdetect users, and seed 0
    makes its sampling, and so our labels, identical on every run.
    """
    try:
        from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory
    except ImportError:  # pragma: no cover - langdetect is a declared dependency
        return None
    factory = DetectorFactory()
    factory.load_profile(PROFILES_DIRECTORY)
    factory.seed = 0
    return factory


def _round(value: float) -> float:
    return round(min(max(value, 0.0), 1.0), 3)
