"""The shipped data: schema, sizes, register balance, no leakage, no PII, facts consistent."""

from __future__ import annotations

import json
import re
from collections import Counter
from functools import cache

from model.text.normalize import jaccard, normalize, trigrams
from training.data import CORPUS_DIR, TEST_FILE, TRAIN_FILE, load_pairs
from training.data.build import read_sources

REGISTERS = ("bn", "en", "banglish", "mixed")
BENGALI = re.compile(r"[\u0980-\u09FF]")
LATIN = re.compile(r"[A-Za-z]")
# Similarity at or above which a test question counts as a near-duplicate of a training one.
LEAK_THRESHOLD = 0.6


@cache
def train() -> list[dict[str, str]]:
    return load_pairs(TRAIN_FILE)


@cache
def heldout() -> list[dict[str, str]]:
    return load_pairs(TEST_FILE)


@cache
def sources() -> list[dict[str, str]]:
    return read_sources()


def test_files_are_the_seed_format() -> None:
    for path in (TRAIN_FILE, TEST_FILE):
        data = json.loads(path.read_text(encoding="utf-8"))
        assert isinstance(data, list)
        assert all(set(item) == {"text", "completion"} for item in data)


def test_built_files_match_sources() -> None:
    rows = sources()
    expected_train = [
        (r["text"].strip(), r["completion"].strip()) for r in rows if r["split"] == "train"
    ]
    expected_test = [
        (r["text"].strip(), r["completion"].strip()) for r in rows if r["split"] == "test"
    ]
    assert [(p["text"], p["completion"]) for p in train()] == expected_train
    assert [(p["text"], p["completion"]) for p in heldout()] == expected_test


def test_sizes_topics_and_registers() -> None:
    assert len(train()) >= 900
    assert len(heldout()) >= 240
    rows = sources()
    topics = {r["topic"] for r in rows}
    assert len(topics) >= 25
    for topic in topics:
        seen = {r["register"] for r in rows if r["topic"] == topic and r["split"] == "train"}
        assert seen == set(REGISTERS), topic
    for split in ("train", "test"):
        counts = Counter(r["register"] for r in rows if r["split"] == split)
        total = sum(counts.values())
        for register in REGISTERS:
            assert 0.2 <= counts[register] / total <= 0.3, (split, counts)


def test_script_matches_register() -> None:
    for row in sources():
        for field in ("text", "completion"):
            value = row[field]
            where = (row["register"], field, value)
            if row["register"] == "bn":
                assert BENGALI.search(value) and not LATIN.search(value), where
            elif row["register"] in ("en", "banglish"):
                assert not BENGALI.search(value), where
            else:
                assert BENGALI.search(value) and LATIN.search(value), where


def test_detector_agrees_with_registers() -> None:
    """The language detector, which routes live messages, sees the registers we meant."""
    from model.text.langid import detect

    for split, pairs in (("train", train()), ("test", heldout())):
        rows = [r for r in sources() if r["split"] == split]
        labels = [detect(r["text"]).label for r in rows]
        agree = sum(label == r["register"] for label, r in zip(labels, rows, strict=True))
        assert agree / len(rows) >= 0.95, split
        counts = Counter(labels)
        for register in REGISTERS:
            assert counts[register] / len(pairs) >= 0.18, (split, counts)


def test_fields_not_empty_or_too_long() -> None:
    for pair in [*train(), *heldout()]:
        assert 2 <= len(pair["text"].strip()) <= 300, pair
        assert 2 <= len(pair["completion"].strip()) <= 400, pair


def test_no_duplicate_training_questions() -> None:
    seen: set[str] = set()
    for pair in train():
        key = normalize(pair["text"])
        assert key not in seen, pair["text"]
        seen.add(key)


def test_no_leakage_between_train_and_test() -> None:
    train_grams = [trigrams(p["text"]) for p in train()]
    train_norm = {normalize(p["text"]) for p in train()}
    for pair in heldout():
        assert normalize(pair["text"]) not in train_norm, pair["text"]
        grams = trigrams(pair["text"])
        closest = max(jaccard(grams, other) for other in train_grams)
        assert closest < LEAK_THRESHOLD, (pair["text"], closest)


PHONE = re.compile(r"(?:\+?88)?01[3-9]\d{8}")
EMAIL = re.compile(r"[A-Za-z0-9.+_-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
LONG_NUMBER = re.compile(r"\d{10,}")


def _all_text() -> list[str]:
    texts = [p[f] for p in [*train(), *heldout()] for f in ("text", "completion")]
    texts += [path.read_text(encoding="utf-8") for path in sorted(CORPUS_DIR.glob("*.txt"))]
    return texts


def test_no_personal_data() -> None:
    for text in _all_text():
        ascii_text = normalize(text)
        assert not PHONE.search(ascii_text), PHONE.search(ascii_text)
        for email in EMAIL.findall(text):
            assert email.rstrip("-.").endswith("@bazarghor.example"), email
        assert not LONG_NUMBER.search(ascii_text.replace("-", "")), LONG_NUMBER.search(ascii_text)


# Key facts of FACTS.md, each found by a pattern; every match must give the sheet's figure.
# Figures a customer names in the question (e.g. "I have 800 taka") are deliberately not
# checked: only the company's own fees, limits and durations are.
_N = r"(\d[\d,]*)"
_TAKA = r"\s*(?:taka|tk|টাকা)"
# Gaps between a phrase and its figure hold no digits, so a second figure is never taken.
_GAP = r"[^.।?!,\d]{0,25}?"
_INSIDE = (
    r"(?:inside dhaka|ঢাকার (?:ভেতরে|ভিতরে|মধ্যে)|dhaka-?র (?:ভেতরে|ভিতরে|মধ্যে)"
    r"|dhaka ?r (?:bhitore|vitore|moddhe))"
)
_OUTSIDE = r"(?:outside dhaka|ঢাকার বাইরে|dhaka-?র বাইরে|dhaka ?r baire)"


def _fee(place: str) -> re.Pattern[str]:
    """A fee written right after ("ঢাকার ভেতরে ৬০ টাকা") or right before ("60 taka inside")."""
    return re.compile(rf"{place}\s*[:–-]?\s*{_N}{_TAKA}|{_N}{_TAKA}\s+{place}")


KEY_FACTS: dict[str, tuple[re.Pattern[str], set[int]]] = {
    "hotline": (re.compile(r"\b(16\d{3})\b"), {16789}),
    "fee inside Dhaka": (_fee(_INSIDE), {60}),
    "fee outside Dhaka": (_fee(_OUTSIDE), {120}),
    "free delivery threshold": (
        re.compile(r"(?:free delivery|ফ্রি ডেলিভারি|free ডেলিভারি)" + _GAP + _N + _TAKA),
        {2000},
    ),
    "OTP lifetime": (re.compile(_N + r"\s*(?:minutes?|minit|মিনিট)"), {5}),
    "cashback and commission percentages": (re.compile(_N + r"\s*%"), {0, 2, 5, 12}),
    "hours": (re.compile(_N + r"\s*(?:hours?|ghonta|ঘণ্টা|ghanta)"), {24, 48}),
}


def test_key_facts_agree_with_fact_sheet() -> None:
    matches: Counter[str] = Counter()
    bad: list[tuple[str, str, str]] = []
    for pair in [*train(), *heldout()]:
        answer = normalize(pair["completion"])
        for name, (pattern, allowed) in KEY_FACTS.items():
            for groups in pattern.findall(answer):
                found = "".join(groups) if isinstance(groups, tuple) else groups
                matches[name] += 1
                if int(found.replace(",", "")) not in allowed:
                    bad.append((name, found, pair["completion"]))
    assert not bad, bad[:5]
    # Each fact is actually stated in the data, so the check cannot pass vacuously.
    for name in KEY_FACTS:
        assert matches[name] >= 3, (name, matches)


def test_starter_corpus_is_large_and_knows_no_company_facts() -> None:
    files = sorted(CORPUS_DIR.glob("*.txt"))
    assert {f.stem for f in files} >= set(REGISTERS)
    text = "".join(f.read_text(encoding="utf-8") for f in files)
    assert len(text) >= 300_000
    folded = normalize(text)
    for fact in ("bazarghor", "বাজারঘর", "16789"):
        assert fact not in folded, fact
