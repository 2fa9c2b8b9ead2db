"""model.text.rouge: ROUGE that sees Bangla, and agrees with rouge-score on English."""

from __future__ import annotations

import re

import pytest
from rouge_score import rouge_scorer

from model.text.rouge import (
    ROUGE_KEYS,
    BanglaTokenizer,
    score_corpus,
    score_pairs,
    split_sentences,
)

TOKENIZER = BanglaTokenizer()
BANGLA = "আপনার অর্ডার আজ পৌঁছাবে ইনশাআল্লাহ"
OTHER_BANGLA = "রিফান্ড পাঁচ কর্মদিবসের মধ্যে বিকাশে যাবে"


def _default_scorer() -> rouge_scorer.RougeScorer:
    return rouge_scorer.RougeScorer(list(ROUGE_KEYS), use_stemmer=False)


def _one(prediction: str, reference: str) -> dict[str, float]:
    return score_pairs([prediction], [reference])[0]


# ----------------------------------------------------------------------------- tokenizer


def test_bangla_words_are_whole_tokens() -> None:
    assert TOKENIZER.tokenize("আমার অর্ডারটা কবে আসবে?") == ["আমার", "অর্ডারটা", "কবে", "আসবে"]


def test_python_word_class_would_split_bangla_at_vowel_signs() -> None:
    # Why the tokenizer is not r"\w+": vowel signs and hasanta are marks, not \w.
    assert re.findall(r"\w+", "আমার") != ["আমার"]
    assert TOKENIZER.tokenize("আমার") == ["আমার"]


def test_tokens_are_normalized() -> None:
    assert TOKENIZER.tokenize("৫০০ টাকা") == TOKENIZER.tokenize("500 টাকা") == ["500", "টাকা"]
    assert TOKENIZER.tokenize("র\u200d্যাব") == TOKENIZER.tokenize("র্যাব")
    assert TOKENIZER.tokenize("পা\u09dfনি") == TOKENIZER.tokenize("পা\u09af\u09bcনি")
    assert TOKENIZER.tokenize("ORDER Cancel") == ["order", "cancel"]


def test_punctuation_symbols_and_emoji_are_not_tokens() -> None:
    assert TOKENIZER.tokenize("ধন্যবাদ। 😊 ৳ — ok!") == ["ধন্যবাদ", "ok"]
    assert TOKENIZER.tokenize("") == []


def test_mixed_and_other_scripts_tokenize() -> None:
    assert TOKENIZER.tokenize("আমার order টা cancel") == ["আমার", "order", "টা", "cancel"]
    assert TOKENIZER.tokenize("मेरा ऑर्डर") == ["मेरा", "ऑर्डर"]


# ------------------------------------------------------------------------ Bangla scores


def test_identical_bangla_strings_score_one() -> None:
    assert _one(BANGLA, BANGLA) == {key: 1.0 for key in ROUGE_KEYS}


def test_one_changed_word_in_five_gives_rouge1_of_0_8() -> None:
    reference = "আপনার রিফান্ড আজ বিকাশে যাবে"
    prediction = "আপনার রিফান্ড কাল বিকাশে যাবে"
    scores = _one(prediction, reference)
    assert scores["rouge1"] == pytest.approx(0.8)
    assert scores["rouge2"] == pytest.approx(0.5)  # 2 of 4 bigrams survive


def test_bengali_and_ascii_digits_match() -> None:
    assert _one("ডেলিভারি চার্জ ৬০ টাকা", "ডেলিভারি চার্জ 60 টাকা")["rouge1"] == 1.0
    assert _one("হটলাইন ১৬৭৮৯", "হটলাইন 16789")["rougeL"] == 1.0


def test_different_bangla_sentences_score_low() -> None:
    assert _one(BANGLA, OTHER_BANGLA)["rouge1"] == 0.0


# ----------------------------------------------- why: rouge-score's default tokenizer fails


def test_default_tokenizer_drops_all_bengali_script() -> None:
    default = rouge_scorer.RougeScorer(["rouge1"])._tokenizer
    assert default.tokenize(BANGLA) == []
    assert default.tokenize("আমার order টা cancel") == ["order", "cancel"]


def test_default_scorer_gives_zero_to_identical_bangla() -> None:
    assert _default_scorer().score(BANGLA, BANGLA)["rouge1"].fmeasure == 0.0
    assert _one(BANGLA, BANGLA)["rouge1"] == 1.0


def test_default_scorer_gives_one_to_different_bangla_sharing_a_number() -> None:
    reference = "আপনার রিফান্ড 5 কর্মদিবসে বিকাশে যাবে"
    prediction = "অর্ডার বাতিল করতে 5 মিনিট লাগবে"
    assert _default_scorer().score(reference, prediction)["rouge1"].fmeasure == 1.0
    assert _one(prediction, reference)["rouge1"] < 0.2


def test_default_scorer_misses_bengali_digits() -> None:
    default = _default_scorer().score("চার্জ 60 টাকা", "চার্জ ৬০ টাকা")
    assert default["rouge1"].fmeasure == 0.0


# ---------------------------------------------------------- English equals rouge-score's

ENGLISH_PAIRS = [
    ("Your order will arrive in 2 days.", "Your order arrives within 1-2 days inside Dhaka."),
    ("Refunds take 5 working days to bKash.", "A refund to bKash takes 5 working days."),
    ("I can't find the OTP!", "Never share the OTP: we don't ask for it."),
    ("the cat sat on the mat", "the cat is on the mat"),
    ("Delivery fee is 60 taka", "Delivery fee is 120 taka outside Dhaka"),
    ("", "Something"),
    ("Call 16789 from 9 am to 9 pm", "call 16789, 9am-9pm"),
]


@pytest.mark.parametrize(("prediction", "reference"), ENGLISH_PAIRS)
def test_english_matches_rouge_score_within_1e_9(prediction: str, reference: str) -> None:
    ours = _one(prediction, reference)
    theirs = _default_scorer().score(split_sentences(reference), split_sentences(prediction))
    for key in ROUGE_KEYS:
        assert ours[key] == pytest.approx(theirs[key].fmeasure, abs=1e-9), key


@pytest.mark.parametrize(("prediction", "reference"), ENGLISH_PAIRS)
def test_our_tokenizer_in_rouge_score_matches_its_default_on_english(
    prediction: str, reference: str
) -> None:
    ours = rouge_scorer.RougeScorer(list(ROUGE_KEYS), tokenizer=BanglaTokenizer())
    for key in ROUGE_KEYS:
        assert ours.score(reference, prediction)[key].fmeasure == pytest.approx(
            _default_scorer().score(reference, prediction)[key].fmeasure, abs=1e-9
        )


# ------------------------------------------------------------------ sentences for Lsum


def test_sentences_split_on_danda_and_terminal_punctuation() -> None:
    assert split_sentences("অর্ডার পেয়েছি।ধন্যবাদ! আবার কিনব? ok. 2.5 kg") == (
        "অর্ডার পেয়েছি।\nধন্যবাদ!\nআবার কিনব?\nok.\n2.5 kg"
    )
    assert split_sentences("line one\nline two") == "line one\nline two"


def test_rouge_lsum_sees_bangla_sentences() -> None:
    reference = "আপনার অর্ডার পৌঁছেছে। রিফান্ড বিকাশে যাবে।"
    prediction = "রিফান্ড বিকাশে যাবে। আপনার অর্ডার পৌঁছেছে।"
    scores = _one(prediction, reference)
    assert scores["rougeLsum"] == pytest.approx(1.0)  # same sentences, other order
    assert scores["rougeL"] < 1.0  # one long sequence: order matters


# ----------------------------------------------------------------------- corpus scores


def test_corpus_score_is_the_mean_of_pair_f1() -> None:
    predictions = [BANGLA, "আপনার রিফান্ড কাল বিকাশে যাবে", "the cat sat"]
    references = [BANGLA, "আপনার রিফান্ড আজ বিকাশে যাবে", "a dog ran"]
    pairs = score_pairs(predictions, references)
    corpus = score_corpus(predictions, references)
    assert set(corpus) == set(ROUGE_KEYS)
    for key in ROUGE_KEYS:
        assert corpus[key] == pytest.approx(sum(p[key] for p in pairs) / 3)
    assert corpus["rouge1"] == pytest.approx((1.0 + 0.8 + 0.0) / 3)


def test_misaligned_or_empty_input_is_rejected() -> None:
    with pytest.raises(ValueError, match="aligned"):
        score_pairs(["a"], ["a", "b"])
    with pytest.raises(ValueError, match="no prediction"):
        score_corpus([], [])
