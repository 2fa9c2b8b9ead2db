"""model.text.normalize: one comparison form for Bangla, English and mixed text."""

from __future__ import annotations

import random
import unicodedata

import pytest

from model.text.normalize import (
    bengali_digits_to_ascii,
    collapse_whitespace,
    fold_nukta,
    normalize,
    strip_invisible,
)

ZWJ, ZWNJ, ZWSP, BOM = "\u200d", "\u200c", "\u200b", "\ufeff"
NUKTA = "\u09bc"


def test_precomposed_and_decomposed_nukta_letters_compare_equal() -> None:
    precomposed = "\u09df\u09dc\u09dd"  # য় ড় ঢ় as single code points
    decomposed = "\u09af" + NUKTA + "\u09a1" + NUKTA + "\u09a2" + NUKTA
    assert normalize(precomposed) == normalize(decomposed) == decomposed


def test_nukta_form_is_the_one_nfc_produces() -> None:
    # The documented choice: decomposed, because NFC never recomposes these letters.
    word = "পা\u09dfনি"  # পায়নি typed with precomposed য়
    assert normalize(word) == unicodedata.normalize("NFC", normalize(word))
    assert "\u09df" not in normalize(word)
    assert fold_nukta(word) == "পা\u09af\u09bcনি"


def test_nfc_composes_split_vowel_signs() -> None:
    split_o = "ক\u09c7\u09be"  # ে + া typed separately
    assert normalize(split_o) == normalize("কো") == "ক\u09cb"
    assert normalize("cafe\u0301") == "café"


@pytest.mark.parametrize(
    ("typed", "clean"),
    [
        (f"র{ZWJ}্যাব", "র্যাব"),  # ZWJ for the ya-phala shape
        (f"কি{ZWNJ}ন্তু", "কিন্তু"),
        (f"{BOM}আমার{ZWSP} অর্ডার", "আমার অর্ডার"),
        ("\u200fরিফান্ড\u200e \u202aচাই\u202c \u2066এখন\u2069", "রিফান্ড চাই এখন"),
        ("soft\u00adhyphen", "softhyphen"),
    ],
)
def test_invisible_characters_are_dropped(typed: str, clean: str) -> None:
    assert normalize(typed) == normalize(clean)
    assert not set(normalize(typed)) & {ZWJ, ZWNJ, ZWSP, BOM}


def test_old_khanda_ta_encoding_becomes_khanda_ta_not_a_conjunct() -> None:
    old = f"উত্{ZWJ}সব"  # Unicode 4.0 spelling of উৎসব
    assert normalize(old) == normalize("উৎসব") == "উৎসব"
    assert strip_invisible(old) == "উৎসব"


def test_a_plus_aa_sign_reads_as_aa() -> None:
    assert normalize("\u0985\u09beমার") == normalize("আমার")


def test_bengali_digits_become_ascii_by_default_and_can_be_kept() -> None:
    assert bengali_digits_to_ascii("০১২৩৪৫৬৭৮৯") == "0123456789"
    assert normalize("৫০০ টাকা") == normalize("500 টাকা") == "500 টাকা"
    assert normalize("৫০০ টাকা", digits=False) == "৫০০ টাকা"
    assert normalize("অর্ডার BG-১০০০২৩৪৫") == "অর্ডার bg-10002345"


def test_whitespace_collapses_and_ends_are_stripped() -> None:
    assert collapse_whitespace("  a\t\n b\u00a0\u3000c  ") == "a b c"
    assert normalize(" আমার\n\nঅর্ডার \t কোথায়? ") == "আমার অর্ডার কোথায়?"
    assert normalize("   ") == ""
    assert normalize("") == ""


def test_casefold_is_stronger_than_lower() -> None:
    assert normalize("ORDER Cancel") == "order cancel"
    assert normalize("Straße") == normalize("STRASSE")


def test_two_encodings_of_one_customer_message_compare_equal() -> None:
    typed_on_phone = f"আমার  অর্ডারটা{ZWNJ} পা\u09dfনি,  ৫ দিন হ\u09df\u09c7 গেল"
    typed_on_desktop = "আমার অর্ডারটা পা\u09af\u09bcনি, 5 দিন হ\u09af\u09bc\u09c7 গেল"
    assert typed_on_phone != typed_on_desktop
    assert normalize(typed_on_phone) == normalize(typed_on_desktop)


def test_different_messages_stay_different() -> None:
    assert normalize("আমার অর্ডার") != normalize("তোমার অর্ডার")
    assert normalize("৫০০") != normalize("৫০")


_POOL = (
    [chr(c) for c in range(32, 127)]
    + [chr(c) for c in range(0x0980, 0x0A00)]
    + list("\u200b\u200c\u200d\ufeff\u00ad\u200e\u202e\u2066 \t\n\u00a0ÉßİǅẞＡ\u0301\u0345")
    + list("ÀǄﬁ❤\ufe0f😀")
)


def test_normalize_is_idempotent_on_random_text() -> None:
    rng = random.Random(20240603)
    for _ in range(2000):
        text = "".join(rng.choice(_POOL) for _ in range(rng.randint(0, 40)))
        once = normalize(text)
        assert normalize(once) == once, repr(text)
        assert unicodedata.is_normalized("NFC", once)
