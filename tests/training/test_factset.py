"""The fact-check set and the false-reuse probe set: schema, balance, patterns, freshness."""

from __future__ import annotations

import json
import re
import statistics
import unicodedata
from collections import Counter
from functools import cache
from pathlib import Path

import pytest

from model.text.normalize import jaccard, normalize, trigrams
from training.data import TEST_FILE, TRAIN_FILE, load_pairs
from training.data.factset import (
    DIFFERS_BY,
    REGISTERS,
    FactQuestion,
    ReuseProbe,
    load_facts,
    load_probes,
)

# Similarity at or above which a question counts as a near-duplicate of a shipped one
# (the same threshold as the train/test leakage check in test_data.py).
LEAK_THRESHOLD = 0.6
BENGALI = re.compile(r"[\u0980-\u09FF]")
LATIN = re.compile(r"[A-Za-z]")


@cache
def facts() -> list[FactQuestion]:
    return load_facts()


@cache
def probes() -> list[ReuseProbe]:
    return load_probes()


@cache
def shipped_question_grams() -> list[frozenset[str]]:
    return [trigrams(p["text"]) for p in [*load_pairs(TRAIN_FILE), *load_pairs(TEST_FILE)]]


# --- schema and balance -----------------------------------------------------------------


def test_facts_load_and_are_balanced() -> None:
    rows = facts()
    assert len(rows) >= 160
    by_register = Counter(q.register for q in rows)
    assert set(by_register) == set(REGISTERS)
    for register in REGISTERS:
        assert by_register[register] >= 40, by_register
        first = [q for q in rows if q.register == register and q.split != "fresh"]
        unseen = sum(q.split == "unseen" for q in first)
        # A third of the first 200 questions; the later, harder 96 are all for tuning.
        assert 0.2 <= unseen / len(first) <= 0.4, (register, unseen)
        # The fresh split: two questions per fact in every register, never tuned on.
        fresh = sum(q.register == register and q.split == "fresh" for q in rows)
        assert fresh == 2 * len({q.fact for q in rows}), (register, fresh)
    names = {q.fact for q in rows}
    assert len(names) >= 16
    for name in names:
        registers = {q.register for q in rows if q.fact == name}
        assert registers == set(REGISTERS), name
        splits = {q.split for q in rows if q.fact == name}
        assert splits == {"tune", "unseen", "fresh"}, name
    # All questions of a fact are judged by the same patterns.
    for name in names:
        assert len({(q.must, q.contradicts) for q in rows if q.fact == name}) == 1, name
        assert all(q.contradicts for q in rows if q.fact == name), name


def test_probes_load_and_are_balanced() -> None:
    rows = probes()
    guarded = [p for p in rows if not p.should_reuse]
    assert len(guarded) >= 140
    assert sum(p.should_reuse for p in rows) >= 40
    counts = Counter((p.register, p.differs_by) for p in rows)
    for register in REGISTERS:
        assert sum(n for (r, kind), n in counts.items() if r == register and kind != "none") >= 30
        for kind in DIFFERS_BY:
            assert counts[register, kind] >= 5, (register, kind, counts)


def test_text_is_in_the_script_of_its_register() -> None:
    texts = [(q.register, q.question) for q in facts()]
    texts += [
        (p.register, text)
        for p in probes()
        for text in (p.stored_question, p.stored_answer, p.probe_question)
    ]
    for register, text in texts:
        if register == "bn":
            assert BENGALI.search(text) and not LATIN.search(text), text
        elif register in ("en", "banglish"):
            assert not BENGALI.search(text), text
        else:
            assert BENGALI.search(text) and LATIN.search(text), text


def test_text_is_stored_in_nfc() -> None:
    for text in [q.question for q in facts()] + [
        t for p in probes() for t in (p.stored_question, p.stored_answer, p.probe_question)
    ]:
        assert unicodedata.normalize("NFC", text) == text, text


# --- freshness ---------------------------------------------------------------------------


def _closest_shipped(text: str) -> float:
    grams = trigrams(text)
    return max(jaccard(grams, other) for other in shipped_question_grams())


def test_fact_questions_are_fresh() -> None:
    seen: set[str] = set()
    for q in facts():
        key = normalize(q.question)
        assert key not in seen, q.question
        seen.add(key)
        closest = _closest_shipped(q.question)
        assert closest < LEAK_THRESHOLD, (q.id, q.question, closest)


def test_probe_questions_are_fresh() -> None:
    for p in probes():
        for text in (p.stored_question, p.probe_question):
            closest = _closest_shipped(text)
            assert closest < LEAK_THRESHOLD, (p.id, text, closest)


# --- the patterns judge answers as intended ----------------------------------------------

# Hand-written answers per fact: right ones in all four registers (and some extra phrasings),
# and wrong ones that state another value. Every question of the fact must accept the right
# answers without seeing a contradiction, and reject the wrong ones and flag them.
RIGHT: dict[str, list[str]] = {
    "delivery_fee_dhaka": [
        "ঢাকার ভেতরে হোম ডেলিভারি চার্জ ৬০ টাকা, আর ২,০০০ টাকা বা তার বেশি অর্ডারে ডেলিভারি ফ্রি।",
        "Delivery costs 60 taka inside Dhaka and 120 taka outside Dhaka.",
        "Dhaka r bhitore delivery charge 60 tk, baire 120 tk. 2000 taka ba beshi order e free.",
        "Uttara Dhaka-র ভেতরে, তাই delivery charge ৳৬০; ২,০০০ টাকার বেশি order-এ free।",
    ],
    "delivery_fee_outside": [
        "খুলনা ঢাকার বাইরে, তাই ডেলিভারি খরচ ১২০ টাকা; ২,০০০ টাকা বা তার বেশি অর্ডারে লাগবে না।",
        "Sylhet is outside Dhaka, so the fee is 120 taka, free on orders of 2,000 or more.",
        "Dhakar baire delivery charge 120 taka, Dhaka r bhitore 60 taka.",
        "Bogura ঢাকার বাইরে, তাই shipping charge ১২০ টাকা।",
        "Outside Dhaka it's a hundred and twenty taka per order.",
    ],
    "free_delivery_threshold": [
        "২,০০০ টাকা বা তার বেশি অর্ডারে সারা দেশে ডেলিভারি ফ্রি।",
        "Spend 2,000 taka or more in one order and delivery is free.",
        "2 hajar taka ba tar beshi order korle delivery charge lage na.",
        "Minimum ২০০০ টাকার order-এ delivery free।",
    ],
    "delivery_time_dhaka": [
        "গুলশান ঢাকা শহরের ভেতরে, তাই ১–২ দিনের মধ্যে পেয়ে যাবেন।",
        "Inside Dhaka delivery takes 1-2 days.",
        "Dhaka city te 1 theke 2 din lage.",
        "Dhaka-র ভিতরে সাধারণত ১ থেকে ২ দিন লাগে, Dhaka-র বাইরে ৩–৫ দিন।",
    ],
    "delivery_time_district": [
        "যশোর জেলা শহর, তাই সাধারণত ৩–৫ দিনে ডেলিভারি হয়।",
        "District towns usually get deliveries in 3 to 5 days.",
        "Sylhet shohore 3-5 din lage.",
        "Khulna city-তে delivery হতে ৩–৫ দিন লাগে, remote upazila তে ৫–৭ দিন।",
    ],
    "delivery_time_remote": [
        "প্রত্যন্ত উপজেলায় সাধারণত ৫–৭ দিন লাগে।",
        "Remote upazilas take 5-7 days.",
        "remote upojela te 5 theke 7 din lage.",
        "Remote upazila তে delivery হতে ৫ থেকে ৭ দিন লাগে; জেলা শহরে ৩–৫ দিন।",
    ],
    "districts_covered": [
        "আমরা দেশের ৬৪টি জেলাতেই ডেলিভারি দিই।",
        "We deliver to all 64 districts of Bangladesh.",
        "64 ta jelatei delivery dei.",
        "সব ৬৪টা district এ delivery হয়।",
    ],
    "pickup_fee": [
        "পিকআপ পয়েন্ট থেকে নিলে ৩০ টাকা ফি লাগে।",
        "Collecting from a pickup point costs 30 taka, less than the 60 taka home delivery.",
        "pickup point theke nile 30 tk charge.",
        "Pickup point এ collect করলে fee ৩০ টাকা, parcel ৫ দিন রাখা হয়।",
    ],
    "pickup_hold_days": [
        "পার্সেল পিকআপ পয়েন্টে ৫ দিন রাখা হয়।",
        "Your parcel waits at the pickup point for 5 days.",
        "pickup point e parcel 5 din porjonto thake.",
        "Pickup point এ parcel পাঁচ দিন রাখা হয়।",
    ],
    "pickup_point_count": [
        "আমাদের ৪০টি পিকআপ পয়েন্ট আছে।",
        "Bazarghor has 40 pickup points; collecting costs 30 taka.",
        "amader 40 ta pickup point ache.",
        "দেশজুড়ে ৪০টা pickup point আছে।",
    ],
    "cod_limit": [
        "২০,০০০ টাকা পর্যন্ত অর্ডারে ক্যাশ অন ডেলিভারি নেওয়া যায়।",
        "Cash on delivery works for orders up to 20,000 taka, with no extra fee.",
        "COD te maximum 20 hajar takar order kora jay.",
        "Cash on delivery limit ২০,০০০ টাকা।",
    ],
    "payment_reversal_mfs": [
        "চিন্তা করবেন না, বিকাশের টাকা ৩ কার্যদিবসের মধ্যে নিজে থেকেই ফেরত আসবে।",
        "It is reversed to your bKash automatically within 3 working days; cards take 7.",
        "Rocket e taka 3 working day er moddhe automatic ferot ashbe.",
        "bKash এ amount ৩ working day-র মধ্যে reverse হয়ে যাবে।",
    ],
    "payment_reversal_card": [
        "কার্ডের ক্ষেত্রে ব্যর্থ পেমেন্টের টাকা ৭ কার্যদিবসের মধ্যে ফেরত যায়।",
        "For cards the failed payment is reversed within 7 working days (3 for bKash).",
        "card e taka 7 working day er moddhe ferot ashbe.",
        "Card এর failed payment সাত দিনের মধ্যে reverse হয়।",
        "It is reversed automatically (3 working days for bKash/Nagad/Rocket, 7 for cards).",
    ],
    "emi_minimum": [
        "৫,০০০ টাকা বা তার বেশি অর্ডারে ০% ইএমআই পাবেন।",
        "0% EMI is available on orders of 5,000 taka or more, for 3, 6, 9 or 12 months.",
        "EMI nite minimum 5 hajar takar order lagbe.",
        "EMI চালু হয় ৫০০০ টাকার order থেকে।",
    ],
    "emi_tenure": [
        "৩, ৬, ৯ বা ১২ মাসের কিস্তি বেছে নিতে পারবেন।",
        "You can choose 3, 6, 9 or 12 months.",
        "3/6/9/12 masher EMI nite parben.",
        "EMI ৩, ৬, ৯ অথবা ১২ মাসের জন্য নেওয়া যায়।",
    ],
    "return_window": [
        "ডেলিভারির ৭ দিনের মধ্যে ফেরত দেওয়া যায়, পণ্য অব্যবহৃত থাকতে হবে।",
        "You can return it within 7 days of delivery if it is unused.",
        "delivery er 7 diner moddhe return korte hobe.",
        "Delivery-র এক সপ্তাহের মধ্যে return করা যায়।",
        "You are inside the 7-day return window.",
    ],
    "damage_report_window": [
        "ডেলিভারির ৪৮ ঘণ্টার মধ্যে ছবিসহ জানান, আমরা বিনামূল্যে বদলে দেব।",
        "Please report it within 48 hours of delivery with photos.",
        "delivery er 48 ghontar moddhe chobi shoho janan.",
        "Delivery-র ৪৮ ঘন্টার মধ্যে photo সহ report করুন।",
    ],
    "refund_wallet": [
        "ওয়ালেটে রিফান্ড ২৪ ঘণ্টার মধ্যে চলে আসে।",
        "Wallet refunds arrive within 24 hours of quality check; bKash takes 5 working days.",
        "wallet e refund 24 ghontar moddhe pouche jay.",
        "Wallet এ refund ২৪ ঘন্টার মধ্যে আসে।",
    ],
    "refund_mfs": [
        "বিকাশে রিফান্ড ৫ কার্যদিবসের মধ্যে আসে, মান যাচাইয়ের দিন থেকে গুনে।",
        "Refunds to Nagad take up to 5 working days; cards take 7–10 working days.",
        "bkash e refund 5 working day er moddhe ashe.",
        "Rocket এ refund পাঁচ working day-র মধ্যে আসে।",
    ],
    "refund_card": [
        "কার্ডে রিফান্ড আসতে ৭–১০ কার্যদিবস লাগে।",
        "Card refunds take 7 to 10 working days from quality check.",
        "card e refund 7-10 working day lage, bkash e 5.",
        "Credit card এ refund ৭ থেকে ১০ working day-র মধ্যে আসে।",
    ],
    "wallet_max_balance": [
        "ওয়ালেটে সর্বোচ্চ ৫০,০০০ টাকা রাখা যায়।",
        "The wallet can hold at most 50,000 taka.",
        "wallet e maximum 50 hajar taka rakha jay.",
        "Wallet balance এর limit ৫০,০০০ টাকা।",
    ],
    "wallet_cashback_rate": [
        "ওয়ালেটে পেমেন্ট করলে ২% ক্যাশব্যাক পাবেন, প্রতি অর্ডারে সর্বোচ্চ ৫০ টাকা।",
        "You get 2 percent cashback, up to 50 taka per order.",
        "wallet diye pay korle 2% cashback.",
        "Wallet এ pay করলে দুই percent cashback পাবেন।",
    ],
    "wallet_cashback_cap": [
        "প্রতি অর্ডারে সর্বোচ্চ ৫০ টাকা ক্যাশব্যাক পাওয়া যায়।",
        "Cashback is 2% but capped at 50 taka per order.",
        "ek order e maximum 50 tk cashback.",
        "Unlimited না, প্রতি order এ maximum ৫০ টাকা cashback।",
    ],
    "otp_validity": [
        "ওটিপি ৫ মিনিট কার্যকর থাকে।",
        "The OTP is valid for 5 minutes.",
        "OTP 5 minit valid thake.",
        "OTP পাঁচ মিনিট valid থাকে।",
    ],
    "hotline": [
        "আমাদের হটলাইন ১৬৭৮৯, প্রতিদিন সকাল ৯টা থেকে রাত ৯টা।",
        "Call 16789, every day from 9 am to 9 pm.",
        "hotline 16789 e call korun.",
        "আমাদের hotline 16789।",
    ],
}

WRONG: dict[str, list[str]] = {
    "delivery_fee_dhaka": ["ঢাকার ভেতরে ডেলিভারি চার্জ ৮০ টাকা।", "Inside Dhaka delivery is 120 taka."],
    "delivery_fee_outside": ["ঢাকার বাইরে চার্জ ১৫০ টাকা।", "Comilla te delivery charge 60 taka."],
    "free_delivery_threshold": [
        "১,৫০০ টাকা বা তার বেশি অর্ডারে ডেলিভারি ফ্রি।",
        "Free delivery on orders above 1,000 taka.",
    ],
    "delivery_time_dhaka": ["ঢাকার ভেতরে ৩–৫ দিন লাগে।", "Dhaka city te 2-3 din lage."],
    "delivery_time_district": ["জেলা শহরে ৫–৭ দিন লাগে।", "Rangpur town takes 2-3 days."],
    "delivery_time_remote": ["প্রত্যন্ত উপজেলায় ৩–৫ দিন লাগে।", "Remote areas take 7-10 days."],
    "districts_covered": ["আমরা ৫০টি জেলায় ডেলিভারি দিই।", "We deliver to 8 districts only."],
    "pickup_fee": [
        "পিকআপ পয়েন্ট থেকে নিলে ৫০ টাকা লাগে।",
        "Pickup point collection is free of charge.",
    ],
    "pickup_hold_days": [
        "পিকআপ পয়েন্টে পার্সেল ৭ দিন রাখা হয়।",
        "The pickup point holds parcels for 3 days.",
    ],
    "pickup_point_count": ["আমাদের ২৫টি পিকআপ পয়েন্ট আছে।", "We have 100 pickup points."],
    "cod_limit": ["১০,০০০ টাকা পর্যন্ত অর্ডারে ক্যাশ অন ডেলিভারি হয়।", "COD limit is 50,000 taka."],
    "payment_reversal_mfs": [
        "বিকাশে টাকা ফেরত আসতে ৫ কার্যদিবস লাগবে।",
        "Nagad reversals take 7-10 working days.",
    ],
    "payment_reversal_card": [
        "কার্ডে টাকা ফেরত আসতে ৭–১০ কার্যদিবস লাগে।",
        "Card reversal takes 3 working days.",
    ],
    "emi_minimum": [
        "১০,০০০ টাকা বা তার বেশি অর্ডারে ইএমআই পাওয়া যায়।",
        "EMI needs a minimum order of 3,000 taka.",
    ],
    "emi_tenure": ["৬ থেকে ২৪ মাস পর্যন্ত ইএমআই নেওয়া যায়।", "EMI is available for up to 36 months."],
    "return_window": [
        "ডেলিভারির ৩ দিনের মধ্যে ফেরত দিতে হবে।",
        "Returns are accepted within 30 days.",
    ],
    "damage_report_window": [
        "ডেলিভারির ২৪ ঘণ্টার মধ্যে জানাতে হবে।",
        "You must report damage within 3 days.",
    ],
    "refund_wallet": ["ওয়ালেটে রিফান্ড আসতে ৩ কার্যদিবস লাগে।", "Wallet refunds take 48 hours."],
    "refund_mfs": [
        "বিকাশে রিফান্ড আসতে ৭–১০ কার্যদিবস লাগে।",
        "Nagad refunds arrive within 3 working days.",
    ],
    "refund_card": ["কার্ডে রিফান্ড ৫ কার্যদিবসে আসে।", "Card refunds take 14 working days."],
    "wallet_max_balance": ["ওয়ালেটে সর্বোচ্চ ২০,০০০ টাকা রাখা যায়।", "Wallet limit is 1 lakh taka."],
    "wallet_cashback_rate": ["ওয়ালেটে ৫% ক্যাশব্যাক পাবেন।", "Wallet payments earn 10% cashback."],
    "wallet_cashback_cap": ["প্রতি অর্ডারে সর্বোচ্চ ১০০ টাকা ক্যাশব্যাক।", "There's no limit on cashback."],
    "otp_validity": ["ওটিপি ১০ মিনিট কার্যকর থাকে।", "The OTP code is valid for 24 hours."],
    "hotline": ["হটলাইন ১৬২৪৭ নম্বরে কল করুন।", "Call 09612345678 for support."],
}


def test_answers_are_given_for_enough_facts() -> None:
    names = {q.fact for q in facts()}
    assert set(RIGHT) == set(WRONG)
    assert set(RIGHT) <= names
    assert len(RIGHT) >= 16


@pytest.mark.parametrize("name", sorted(RIGHT))
def test_right_answers_pass_and_wrong_answers_fail(name: str) -> None:
    questions = [q for q in facts() if q.fact == name]
    assert questions
    for q in questions:
        for answer in RIGHT[name]:
            assert q.passes(answer), (q.id, answer, q.missing(answer))
            assert not q.contradicted(answer), (q.id, answer, q.contradictions(answer))
        for answer in WRONG[name]:
            assert not q.passes(answer), (q.id, answer)
            assert q.contradicted(answer), (q.id, answer)
        # Each `must` pattern on its own is needed: some right answer matches it and a wrong
        # answer misses at least one of them.
        for pattern in q.must:
            assert any(re.search(pattern, normalize(a), re.IGNORECASE) for a in RIGHT[name])


# --- the probes differ by what they say they differ by ----------------------------------

_ORDER_ID = re.compile(r"(?:bg|বিজি)-\d{8}")
_PHONE = re.compile(r"(?<!\d)(?:01[3-9]\d{8}|16789)(?!\d)")
_NUMBER = re.compile(r"\d+")
_NEGATION = {
    "bn": re.compile(
        unicodedata.normalize(
            "NFC",
            r"(?<![\u0980-\u09FF])(?:না|নাই|নেই|নয়)(?![\u0980-\u09FF])|নি(?![\u0980-\u09FF])",
        )
    ),
    "en": re.compile(r"\b(?:not|no|never)\b|n't\b"),
    "banglish": re.compile(r"\b(?:na|nai|ni|nei)\b"),
}
_NEGATION["mixed"] = re.compile(f"{_NEGATION['bn'].pattern}|{_NEGATION['en'].pattern}")


def _features(register: str, text: str) -> tuple[list[str], list[str], list[str], int]:
    form = normalize(text)
    ids = sorted(_ORDER_ID.findall(form))
    phones = sorted(_PHONE.findall(form))
    rest = _PHONE.sub(" ", _ORDER_ID.sub(" ", form)).replace(",", "")
    return ids, phones, sorted(_NUMBER.findall(rest)), len(_NEGATION[register].findall(form))


def test_probes_differ_only_by_their_kind() -> None:
    for p in probes():
        ids, phones, numbers, negations = _features(p.register, p.stored_question)
        ids2, phones2, numbers2, negations2 = _features(p.register, p.probe_question)
        where = (p.id, p.stored_question, p.probe_question)
        assert normalize(p.stored_question) != normalize(p.probe_question), where
        assert (ids != ids2) == (p.differs_by == "order_id"), where
        assert (phones != phones2) == (p.differs_by == "phone"), where
        assert (numbers != numbers2) == (p.differs_by == "amount"), where
        assert (negations != negations2) == (p.differs_by == "negation"), where
        if p.differs_by == "order_id":
            assert ids and ids2, where
        if p.differs_by == "phone":
            assert phones and phones2, where


def test_probes_look_alike() -> None:
    """A probe is only a test of the guards if plain similarity would reuse the answer."""
    guarded = [
        jaccard(trigrams(p.stored_question), trigrams(p.probe_question))
        for p in probes()
        if not p.should_reuse
    ]
    controls = [
        jaccard(trigrams(p.stored_question), trigrams(p.probe_question))
        for p in probes()
        if p.should_reuse
    ]
    assert min(guarded) >= 0.4
    assert statistics.median(guarded) >= 0.7
    assert min(controls) >= 0.55
    assert statistics.median(controls) >= 0.75


# --- the loaders refuse bad lines ---------------------------------------------------------


def _fact_row(**changes: object) -> dict[str, object]:
    row: dict[str, object] = {
        "id": "f001",
        "fact": "hotline",
        "topic": "contact",
        "register": "en",
        "question": "what is the hotline",
        "must": [r"16789"],
        "contradicts": [r"1[0-5]\d{3}"],
        "split": "tune",
    }
    row.update(changes)
    return row


def _write(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text(
        "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8"
    )
    return path


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"register": "hinglish"}, "unknown register"),
        ({"split": "test"}, "unknown split"),
        ({"must": ["(16789"]}, "bad regex"),
        ({"contradicts": ["[a-"]}, "bad regex"),
        ({"must": []}, "'must' is empty"),
        ({"must": ["১৬৭৮৯"]}, "Bengali digits"),
        ({"must": "16789"}, "list of non-empty strings"),
        ({"extra": 1}, "unknown keys"),
        ({"id": "f001"}, "duplicate id"),
    ],
)
def test_load_facts_names_the_bad_line(tmp_path: Path, change: dict, message: str) -> None:
    path = _write(tmp_path / "facts.jsonl", [_fact_row(), _fact_row(id="f002") | change])
    with pytest.raises(ValueError, match=f"line 2: .*{re.escape(message)}"):
        load_facts(path)


def test_load_facts_missing_key_and_bad_json(tmp_path: Path) -> None:
    row = _fact_row(id="f002")
    del row["must"]
    path = _write(tmp_path / "facts.jsonl", [_fact_row(), row])
    with pytest.raises(ValueError, match=r"line 2: missing keys \['must'\]"):
        load_facts(path)
    path.write_text(json.dumps(_fact_row()) + "\n\n{not json\n", encoding="utf-8")
    with pytest.raises(ValueError, match="line 3: not valid JSON"):
        load_facts(path)


def test_load_probes_names_the_bad_line(tmp_path: Path) -> None:
    good = {
        "id": "p001",
        "register": "banglish",
        "differs_by": "amount",
        "stored_question": "1500 tk er order e free delivery?",
        "stored_answer": "Na, free delivery 2,000 taka theke.",
        "probe_question": "2500 tk er order e free delivery?",
    }
    path = _write(tmp_path / "p.jsonl", [good, good | {"id": "p002", "differs_by": "typo"}])
    with pytest.raises(ValueError, match="line 2: unknown differs_by"):
        load_probes(path)
    path = _write(tmp_path / "p.jsonl", [good, good | {"id": "p002", "register": "hindi"}])
    with pytest.raises(ValueError, match="line 2: unknown register"):
        load_probes(path)
    broken = dict(good, id="p002")
    del broken["stored_answer"]
    path = _write(tmp_path / "p.jsonl", [good, broken])
    with pytest.raises(ValueError, match=r"line 2: missing keys \['stored_answer'\]"):
        load_probes(path)
    assert load_probes(_write(tmp_path / "ok.jsonl", [good]))[0].differs_by == "amount"
