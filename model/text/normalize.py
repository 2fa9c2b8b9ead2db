"""One text normalization for everything in uttor that compares text.

Correction memory, deduplication, ROUGE and leakage checks all import :func:`normalize` from
here, so two strings that a person reads as the same compare equal everywhere.

Steps, in order (:func:`normalize`):

1. Old khanda-ta spelling ``ত + ্ + ZWJ`` becomes ``ৎ`` (Unicode 4.0 encoded khanda ta that way;
   dropping the ZWJ alone would turn it into a conjunct with the next letter).
2. Invisible format characters are dropped: ZWJ, ZWNJ, ZWSP, word joiner, BOM, soft hyphen
   and bidi marks/embeddings/isolates. Keyboards and copy-paste insert them at random; they
   never change what a Bangla reader sees in our register.
3. Unicode NFC.
4. Nukta letters are kept *decomposed*: য় is ``য + ়`` (U+09AF U+09BC), ড় is ``ড + ়``,
   ঢ় is ``ঢ + ়``. The precomposed code points U+09DF, U+09DC, U+09DD are composition
   exclusions, so NFC itself decomposes them; the decomposed form is the only one that
   survives any later NFC pass (database drivers, tokenizers), so it is the stable choice.
   Step 3 already yields it; :func:`fold_nukta` exists for callers that skip NFC.
5. The visually identical but non-standard vowel sequence ``অ + া`` becomes ``আ``.
6. Bengali digits ০-৯ become 0-9 (optional: ``digits=False`` keeps them).
7. Case folding (``str.casefold``), then NFC again since folding can emit combining marks.
8. Whitespace runs (any Unicode space, tabs, newlines) collapse to one space; ends stripped.

The function is idempotent: ``normalize(normalize(t)) == normalize(t)``.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = [
    "INVISIBLE_CHARS",
    "bengali_digits_to_ascii",
    "collapse_whitespace",
    "fold_nukta",
    "is_blank",
    "normalize",
    "strip_controls",
    "strip_invisible",
]

#: Zero-width and bidi format characters removed by :func:`strip_invisible`.
INVISIBLE_CHARS: frozenset[str] = frozenset(
    "\u200b\u200c\u200d"  # ZWSP, ZWNJ, ZWJ
    "\u2060\ufeff"  # word joiner, BOM / zero-width no-break space
    "\u00ad"  # soft hyphen
    "\u200e\u200f\u061c"  # LRM, RLM, Arabic letter mark
    "\u202a\u202b\u202c\u202d\u202e"  # bidi embeddings and overrides
    "\u2066\u2067\u2068\u2069"  # bidi isolates
)

_INVISIBLE_TABLE = {ord(c): None for c in INVISIBLE_CHARS}
# Unicode's control characters (category Cc: C0, DEL, C1) but tab and line breaks.
_CONTROL_TABLE = {
    code: None for code in (*range(0x00, 0x20), *range(0x7F, 0xA0)) if chr(code) not in "\t\n\r"
}
_BENGALI_DIGITS = {0x09E6 + i: str(i) for i in range(10)}
_NUKTA_TABLE = {0x09DC: "\u09a1\u09bc", 0x09DD: "\u09a2\u09bc", 0x09DF: "\u09af\u09bc"}
_OLD_KHANDA_TA = "\u09a4\u09cd\u200d"
_KHANDA_TA = "\u09ce"
_A_PLUS_AA = "\u0985\u09be"
_AA = "\u0986"
_SPACES = re.compile(r"\s+")


def strip_invisible(text: str) -> str:
    """Drop zero-width joiners/non-joiners/spaces, BOM, soft hyphens and bidi controls."""
    return text.replace(_OLD_KHANDA_TA, _KHANDA_TA).translate(_INVISIBLE_TABLE)


def strip_controls(text: str) -> str:
    """Drop control characters (NUL, escape, DEL, C1…) but keep tabs and line breaks.

    They mean nothing in a chat message, PostgreSQL refuses NUL in text, and an escape sequence
    stored from a customer would act on the terminal of whoever prints a log or an export.
    Zero-width and bidi characters are not controls here: they can matter in Bangla text.
    """
    return text.translate(_CONTROL_TABLE)


def is_blank(text: str) -> bool:
    """True when ``text`` shows nothing: only spaces, controls and invisible characters."""
    return not collapse_whitespace(strip_invisible(strip_controls(text)))


def bengali_digits_to_ascii(text: str) -> str:
    """Replace Bengali digits ০-৯ with ASCII 0-9 (so ``৫০০`` equals ``500``)."""
    return text.translate(_BENGALI_DIGITS)


def fold_nukta(text: str) -> str:
    """Decompose precomposed য় ড় ঢ় into base + nukta (the form NFC produces)."""
    return text.translate(_NUKTA_TABLE)


def collapse_whitespace(text: str) -> str:
    """Collapse every run of Unicode whitespace to one space and strip both ends."""
    return _SPACES.sub(" ", text).strip()


def normalize(text: str, *, digits: bool = True) -> str:
    """Return the comparison form of ``text`` (see the module docstring for the steps).

    ``digits=False`` keeps Bengali digits as they are, for callers that display the result.
    """
    text = strip_invisible(text)
    text = fold_nukta(unicodedata.normalize("NFC", text))
    text = text.replace(_A_PLUS_AA, _AA)
    if digits:
        text = bengali_digits_to_ascii(text)
    text = unicodedata.normalize("NFC", text.casefold())
    return collapse_whitespace(text)


def trigrams(text: str) -> frozenset[str]:
    """Character trigrams of the normalized text, padded with spaces.

    A language-agnostic fingerprint for near-duplicate checks (train/test leakage of the
    shipped data and of exports): Bangla, English and Banglish are compared alike.
    """
    padded = f" {normalize(text)} "
    return frozenset(padded[i : i + 3] for i in range(len(padded) - 2))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    """Jaccard similarity of two sets; two empty sets are identical."""
    return len(a & b) / len(a | b) if a or b else 1.0
