"""Correction memory: paraphrase thresholds in four registers, freshness, superseded/rejected."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import pytest

from model.memory import (
    CorrectionMemory,
    Idf,
    MemoryConfig,
    MemoryEntry,
    MemoryIndex,
    similarity,
)
from storage.conversations import add_message, add_reply, upsert_chat, upsert_customer
from storage.corrections import add_correction, reject_correction
from storage.db import Database
from storage.knowledge import replace_knowledge

THRESHOLD = MemoryConfig().threshold
SHIPPED_FAQ = Path(__file__).resolve().parents[2] / "training" / "data" / "mydata.json"

# register: (corrected question, paraphrases that must match, different questions that must not)
PARAPHRASES = {
    "bn": (
        "আমার অর্ডার কবে আসবে?",
        ["আমার অর্ডারটা কবে আসবে?", "আমার অর্ডার কবে আসবে", "আমার অর্ডার কবে আসবে ভাই?"],
        ["আমার অর্ডার বাতিল করতে চাই", "আমার রিফান্ড কবে পাব?", "আমার পার্সেল কবে পাব?"],
    ),
    "en": (
        "When will my order arrive?",
        [
            "when will my order arrive",
            "When will my order arrive, please?",
            "When wil my order arrive??",
        ],
        [
            "How do I cancel my order?",
            "When will my refund arrive?",
            "Where is my order?",
            "I'm in Mirpur, when will my order arrive?",  # a detail that changes the answer
        ],
    ),
    "banglish": (
        "amar order kobe ashbe?",
        [
            "amar order ta kobe ashbe?",
            "amar order kobe asbe",
            "vai amar order kobe ashbe",
            "amr order kobe ashbe?",
        ],
        ["amar order cancel korbo", "amar refund kobe pabo?", "order kivabe dibo?"],
    ),
    "mixed": (
        "আমার order টা কবে deliver হবে?",
        [
            "আমার order কবে deliver হবে?",
            "order টা কবে deliver হবে আমার?",
            "আমার order টা কবে deliver হবে",
        ],
        ["আমার order টা cancel করতে চাই", "আমার refund টা কবে হবে?", "order কিভাবে track করব?"],
    ),
}


@cache
def shipped_idf(*extra: str) -> Idf:
    """Weights as serving computes them: over the shipped FAQ questions (and corrections)."""
    pairs = json.loads(SHIPPED_FAQ.read_text(encoding="utf-8"))
    return Idf([pair["text"] for pair in pairs] + list(extra))


@pytest.mark.parametrize("register", sorted(PARAPHRASES))
def test_default_threshold_separates_paraphrases_from_other_questions(register: str) -> None:
    question, same, different = PARAPHRASES[register]
    idf = shipped_idf(question)
    for text in same:
        assert similarity(question, text, idf) >= THRESHOLD, text
    for text in different:
        assert similarity(question, text, idf) < THRESHOLD, text


def test_common_words_weigh_less_than_distinctive_ones() -> None:
    """A polite word added must still match; a place added must not (its answer names it).

    Plain Jaccard scores the two pairs within 0.05 of each other, so no threshold is safe;
    weighting trigrams by how rare they are pulls them 0.1 or more apart.
    """
    idf = shipped_idf()
    polite, bare = "আপনাদের রিটার্ন পলিসি কী?", "রিটার্ন পলিসি কী?"
    general, located = "When will my order arrive?", "I'm in Mirpur, when will my order arrive?"
    assert abs(similarity(polite, bare) - similarity(general, located)) < 0.05
    assert similarity(polite, bare, idf) - similarity(general, located, idf) >= 0.1
    assert similarity(polite, bare, idf) >= THRESHOLD > similarity(general, located, idf)


def test_normalization_makes_digits_case_and_punctuation_irrelevant() -> None:
    assert similarity("অর্ডার BG-১০০২ কবে আসবে?", "অর্ডার bg 1002 কবে আসবে") == 1.0


def test_index_finds_the_best_entry_and_prefers_newer_on_ties() -> None:
    entries = [
        MemoryEntry("When will my order arrive?", "old answer", "en", "correction", 1),
        MemoryEntry("How do I cancel my order?", "cancel answer", "en", "correction", 2),
        MemoryEntry("When will my order arrive?", "new answer", "en", "correction", 3),
    ]
    hit = MemoryIndex(entries).best("when will my order arrive")
    assert hit is not None and hit.entry.answer == "new answer" and hit.score == 1.0
    assert MemoryIndex(entries).best("!!!") is None


def make_reply(database: Database, question: str, answer: str, number: int) -> int:
    """A stored question and bot reply, as the pipeline would leave them."""
    with database.write() as session:
        customer = upsert_customer(session, telegram_user_id=1000 + number)
        chat = upsert_chat(session, telegram_chat_id=1000 + number, customer_id=customer.id)
        inbound = add_message(session, chat_id=chat.id, direction="in", text=question)
        outbound = add_message(session, chat_id=chat.id, direction="out", text=answer)
        return add_reply(
            session, message_id=outbound.id, source="model", question_message_id=inbound.id
        ).id


def correct(database: Database, reply_id: int, text: str) -> int:
    with database.write() as session:
        return add_correction(session, reply_id=reply_id, agent_user_id=7, text=text).id


@pytest.mark.parametrize("register", sorted(PARAPHRASES))
def test_a_correction_answers_paraphrases_at_once(database: Database, register: str) -> None:
    question, same, different = PARAPHRASES[register]
    memory = CorrectionMemory(database)
    assert memory.lookup(same[0]) is None
    reply_id = make_reply(database, question, "wrong answer", 1)
    correction_id = correct(database, reply_id, "the corrected answer")
    # No refresh call: the next lookup notices the new correction by itself.
    hit = memory.lookup(same[0])
    assert hit is not None and hit.entry.answer == "the corrected answer"
    assert hit.entry.origin == "correction" and hit.entry.ref_id == correction_id
    assert all(memory.lookup(text) is None for text in different)


def test_superseded_and_rejected_corrections_are_never_used(sqlite_database: Database) -> None:
    memory = CorrectionMemory(sqlite_database)
    reply_id = make_reply(sqlite_database, "amar refund kobe pabo?", "wrong", 1)
    correct(sqlite_database, reply_id, "first correction")
    latest = correct(sqlite_database, reply_id, "second correction")
    hit = memory.lookup("amar refund kobe pabo")
    assert hit is not None and hit.entry.answer == "second correction"
    with sqlite_database.write() as session:
        reject_correction(session, correction_id=latest, actor_user_id=7, reason="poisoned")
    assert memory.lookup("amar refund kobe pabo") is None


def test_corrections_win_over_knowledge(sqlite_database: Database) -> None:
    memory = CorrectionMemory(sqlite_database)
    with sqlite_database.write() as session:
        replace_knowledge(
            session,
            source="shipped",
            pairs=[("What is the delivery fee in Dhaka?", "60 taka inside Dhaka.", "en")],
        )
    hit = memory.lookup("what is the delivery fee in dhaka")
    assert hit is not None and hit.entry.origin == "knowledge"
    reply_id = make_reply(sqlite_database, "What is the delivery fee in Dhaka?", "wrong", 2)
    correct(sqlite_database, reply_id, "60 taka; free from 2,000 taka.")
    hit = memory.lookup("what is the delivery fee in dhaka")
    assert hit is not None and hit.entry.origin == "correction"
    assert hit.entry.answer == "60 taka; free from 2,000 taka."
    assert (
        CorrectionMemory(sqlite_database, MemoryConfig(use_knowledge=False))
        .lookup("What is the delivery fee in Dhaka?")
        .entry.origin
        == "correction"
    )  # type: ignore[union-attr]


def test_threshold_and_minimum_length_are_configurable(sqlite_database: Database) -> None:
    reply_id = make_reply(sqlite_database, "When will my order arrive?", "wrong", 3)
    correct(sqlite_database, reply_id, "In 1-2 days inside Dhaka.")
    strict = CorrectionMemory(sqlite_database, MemoryConfig(threshold=0.95))
    assert strict.lookup("When will my order arrive, please?") is None
    assert strict.lookup("when will my order arrive") is not None
    reply_id = make_reply(sqlite_database, "ok", "wrong", 4)
    correct(sqlite_database, reply_id, "Anything else?")
    assert CorrectionMemory(sqlite_database).lookup("ok") is None
    assert CorrectionMemory(sqlite_database, MemoryConfig(min_chars=1)).lookup("ok") is not None
