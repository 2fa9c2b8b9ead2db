"""Bengali script and Banglish spellings folded to one Latin key, so that the same word meets.

Customers write one Bangla word three ways: in Bengali script (টাকা), in Banglish with its
spelling variety (taka, tk), and English loanwords either in Latin letters (delivery) or in
Bengali script (ডেলিভারি). Retrieval compares words through two keys built here:

* :func:`romanize` writes Bengali script in Latin letters, letter by letter (ক→k, খ→kh, ভ→bh,
  শ/ষ/স→sh/s, য়→y, hasanta and the ya-phala handled), with the inherent vowel written ``o``
  between consonants as Banglish writers do (কবে→kobe, কত→koto);
* :func:`fold` spells a Latin word the way all its variants agree on: aspirates lose their h
  (kh→k, bh→v, ph→f, sh→s, th→t), a hard or soft ``c`` becomes k or s, z→j, q→k, doubled
  letters count once, and the vowels are reduced to two classes (a/o/u→a, e/i→i). ``vai`` and
  ``bhai``, ``kivabe`` and ``kibhabe``, ``ferot`` and ``phirot``, ``delivery`` and
  ``ডেলিভারি`` then fold alike;
* :func:`skeleton` keeps only the consonants of the fold (and whether the word starts with a
  vowel): ``order``/``ordar``/``অর্ডার`` → ``ardr``, ``taka``/``tk``/``টাকা`` → ``tk``.

:func:`words` splits a text into folded words after the project's normalization
(:func:`model.text.normalize.normalize`) and drops the case endings and classifiers that Bangla
glues to a word (অর্ডারটা, ordertar, bKash-e), so that the stem is what is compared.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from model.text.normalize import normalize

__all__ = ["fold", "romanize", "skeleton", "spell", "stem", "words"]

_VOWEL_SIGNS = {
    "\u09be": "a",  # া
    "\u09bf": "i",  # ি
    "\u09c0": "i",  # ী
    "\u09c1": "u",  # ু
    "\u09c2": "u",  # ূ
    "\u09c3": "ri",  # ৃ
    "\u09c7": "e",  # ে
    "\u09c8": "oi",  # ৈ
    "\u09cb": "o",  # ো
    "\u09cc": "ou",  # ৌ
    "\u09d7": "ou",  # ৗ (au length mark)
}
_VOWELS = {
    "অ": "o",
    "আ": "a",
    "ই": "i",
    "ঈ": "i",
    "উ": "u",
    "ঊ": "u",
    "ঋ": "ri",
    "এ": "e",
    "ঐ": "oi",
    "ও": "o",
    "ঔ": "ou",
}
_CONSONANTS = {
    "ক": "k",
    "খ": "kh",
    "গ": "g",
    "ঘ": "gh",
    "ঙ": "ng",
    "চ": "ch",
    "ছ": "chh",
    "জ": "j",
    "ঝ": "jh",
    "ঞ": "n",
    "ট": "t",
    "ঠ": "th",
    "ড": "d",
    "ঢ": "dh",
    "ণ": "n",
    "ত": "t",
    "থ": "th",
    "দ": "d",
    "ধ": "dh",
    "ন": "n",
    "প": "p",
    "ফ": "f",
    "ব": "b",
    "ভ": "bh",
    "ম": "m",
    "য": "j",
    "র": "r",
    "ল": "l",
    "শ": "sh",
    "ষ": "sh",
    "স": "s",
    "হ": "h",
    "ৎ": "t",
    "ৰ": "r",
    "ৱ": "w",
}
#: Consonants read differently with a nukta: ড়/ঢ় are flapped r, য় is the glide y.
_NUKTA_FORMS = {"ড": "r", "ঢ": "r", "য": "y"}
_HASANTA, _NUKTA = "\u09cd", "\u09bc"
_SIGNS = {"ং": "ng", "ঃ": "", "ঁ": ""}
_BENGALI = re.compile("[\u0980-\u09ff]")


def romanize(text: str) -> str:
    """Bengali letters of ``text`` in Latin letters; anything else is kept as it is."""
    if not _BENGALI.search(text):
        return text
    out: list[str] = []
    chars = unicodedata.normalize("NFC", text)
    size = len(chars)
    i = 0
    while i < size:
        ch = chars[i]
        if ch in _CONSONANTS:
            sound = _CONSONANTS[ch]
            step = 1
            if i + 1 < size and chars[i + 1] == _NUKTA:
                sound = _NUKTA_FORMS.get(ch, sound)
                step = 2
            nxt = chars[i + step] if i + step < size else ""
            if nxt == _HASANTA:
                after = chars[i + step + 1] if i + step + 1 < size else ""
                out.append(sound)
                if after == "য" and not (i + step + 2 < size and chars[i + step + 2] == _NUKTA):
                    out.append("y")  # ya-phala: ক্যা is "kya"
                    i += step + 2
                elif after == "ব":
                    i += step + 2  # ba-phala is silent (বিশ্ব, স্বাধীন)
                else:
                    i += step + 1
                continue
            out.append(sound)
            if nxt in _VOWEL_SIGNS:
                out.append(_VOWEL_SIGNS[nxt])
                i += step + 1
                continue
            # The inherent vowel: written "o" before another letter of the word (koto, kobe),
            # dropped at the end of a word, where Bangla mostly does not say it (kor, ar).
            if _is_letter(nxt):
                out.append("o")
            i += step
            continue
        if ch in _VOWELS:
            if chars[i + 1 : i + 3] == _HASANTA + "য":
                # অ্যা / এ্যা spell the English "a" of "account", "app".
                out.append("a")
                i += 4 if chars[i + 3 : i + 4] == "া" else 3
                continue
            out.append(_VOWELS[ch])
        elif ch in _VOWEL_SIGNS:
            out.append(_VOWEL_SIGNS[ch])
        elif ch in _SIGNS:
            out.append(_SIGNS[ch])
        elif ch in (_HASANTA, _NUKTA):
            pass
        elif "\u09e6" <= ch <= "\u09ef":
            out.append(str(ord(ch) - 0x09E6))
        elif ch == "।":
            out.append(".")
        else:
            out.append(ch)
        i += 1
    return "".join(out)


def _is_letter(ch: str) -> bool:
    return bool(ch) and (ch in _CONSONANTS or ch in _VOWELS or ch in _SIGNS)


# Ordered: longer spellings first, so "chh" is not read as "ch" + "h".
_DIGRAPHS = (
    ("chh", "C"),
    ("ch", "C"),
    ("sh", "s"),
    ("ph", "f"),
    ("bh", "v"),
    ("kh", "k"),
    ("gh", "g"),
    ("th", "t"),
    ("dh", "d"),
    ("jh", "j"),
    ("rh", "r"),
    ("ck", "k"),
    ("qu", "k"),
    ("x", "ks"),
    ("z", "j"),
    ("q", "k"),
    ("w", "o"),
)
_SOFT_C = re.compile(r"c(?=[eiy])")
_VOWEL_CLASS = str.maketrans({"o": "a", "u": "a", "e": "i", "y": "i"})
_REPEATS = re.compile(r"(.)\1+")
_VOWEL_RUN = re.compile(r"[ai]+")
#: y after a consonant is the ya-phala of Bengali script (ক্যাশ) or a glide Banglish drops.
_GLIDE = re.compile(r"(?<=[bcdfgjklmnprstvC])y")


def _consonants(word: str, *, w_vowel: bool = True) -> str:
    """Romanized, lower case, aspirates and hard/soft c folded (``w`` as ``o`` if asked)."""
    word = romanize(word).lower()
    for old, new in _DIGRAPHS:
        if w_vowel or old != "w":
            word = word.replace(old, new)
    word = _SOFT_C.sub("s", word).replace("c", "k").replace("C", "c")
    return _GLIDE.sub("", word)


@lru_cache(maxsize=65536)
def spell(word: str) -> str:
    """A light fold that keeps the vowels (and ``w``): for names, where "honey" must not meet
    "hoyni", nor "will" "oil"."""
    return _REPEATS.sub(r"\1", _consonants(word, w_vowel=False))


@lru_cache(maxsize=65536)
def fold(word: str) -> str:
    """One Latin spelling for a word's variants (see the module doc); Bengali is romanized."""
    word = _consonants(word).translate(_VOWEL_CLASS)
    word = _REPEATS.sub(r"\1", word)
    # A vowel run folds to its first class ("oi", "ai", "ea" differ only by writer).
    return _VOWEL_RUN.sub(lambda m: m.group(0)[0], word)


@lru_cache(maxsize=65536)
def skeleton(word: str) -> str:
    """The consonants of :func:`fold`'s spelling, led by ``a`` when the word starts with a vowel.

    ``h`` after a vowel is dropped (Banglish writes "ache", "ase", "ashe" for আছে alike).
    """
    folded = fold(word)
    if not folded:
        return ""
    head = "a" if folded[0] in "ai" else ""
    body = re.sub(r"(?<=[ai])h", "", folded)
    consonants = re.sub(r"[ai]", "", body)
    return head + _REPEATS.sub(r"\1", consonants)


#: Case endings and classifiers Bangla glues to a word, in Bengali and Latin letters (and the
#: Banglish locative "dhakay"). Only stripped when three characters stay, so "pay" stays.
_SUFFIXES = tuple(
    sorted(
        re.split(
            r"\s+",
            "টা টি টার টির টাই গুলো গুলা গুলি গুলোর দের রা ের এর র কে তে য় ে ও ই "
            "ta ti tar tir tai gula gulo guli gulor der era er r ke te e o i re y",
        ),
        key=len,
        reverse=True,
    )
)
#: A word: a run of Bengali letters and signs, a Latin word (with inner hyphens or apostrophes,
#: "e-mail", "don't", "bg-10002345"), or a number with its thousands separators ("10,000").
#: Python's ``\w`` would split Bengali words at their vowel signs, so the classes are explicit.
_TOKEN = re.compile(
    r"[\u0980-\u09fb\u09fe]+"
    r"|[a-z\u00e0-\u024f0-9]+(?:[-'][a-z\u00e0-\u024f0-9]+)*"
)


def stem(word: str, times: int = 2) -> str:
    """``word`` without the Bangla case endings and classifiers glued to it (``times`` at
    most: অর্ডারটার → অর্ডার…, bkashe → bkash), the same stem for every form of the word."""
    base = word.split("-")[0] if "-" in word and not word[0].isdigit() else word
    for _ in range(times):
        for suffix in _SUFFIXES:
            if base.endswith(suffix) and len(base) - len(suffix) >= 3:
                base = base[: -len(suffix)]
                break
        else:
            break
    return base


def words(text: str) -> list[str]:
    """Normalized words of ``text``: Bengali runs, Latin words and numbers, in order.

    Bengali and Latin runs inside one chunk ("bKash-এ", "Dhaka-র") are separate words; a
    number keeps its digits only ("10,000" → "10000").
    """
    found: list[str] = []
    for token in _TOKEN.findall(normalize(text).replace(",", "")):
        found.append(token)
    return found
