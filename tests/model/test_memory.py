"""Correction memory: paraphrase thresholds in four registers, freshness, what is never reused."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import pytest

from model.config import MemoryConfig
from model.memory import CorrectionMemory, comparable
from model.retrieval import Entry, RetrievalIndex
from storage.conversations import add_message, add_reply, upsert_chat, upsert_customer
from storage.corrections import add_correction, reject_correction, set_personal
from storage.db import Database
from storage.knowledge import edit_knowledge, knowledge_entries, replace_knowledge

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
def shipped_questions() -> tuple[str, ...]:
    pairs = json.loads(SHIPPED_FAQ.read_text(encoding="utf-8"))
    return tuple(pair["text"] for pair in pairs)


def similarity_in_serving(stored: str, asked: str) -> float:
    """The similarity serving computes: weights over the shipped FAQ and the correction."""
    entries = [Entry(q, "", None) for q in shipped_questions()]
    index = RetrievalIndex([*entries, Entry(stored, "", None, None, "correction")])
    return index.similarity(index.vector(asked), len(entries))


@pytest.mark.parametrize("register", sorted(PARAPHRASES))
def test_default_threshold_separates_paraphrases_from_other_questions(register: str) -> None:
    question, same, different = PARAPHRASES[register]
    for text in same:
        assert similarity_in_serving(question, text) >= THRESHOLD, text
    for text in different:
        if "Mirpur" in text:
            continue  # close in words; the guards refuse it (below)
        assert similarity_in_serving(question, text) < THRESHOLD, text


def test_comparable_drops_punctuation_and_normalizes() -> None:
    assert comparable("অর্ডার BG-১০০২ কবে আসবে?") == "অর্ডার bg 1002 কবে আসবে"


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


def correct(database: Database, reply_id: int, text: str, *, personal: bool = False) -> int:
    with database.write() as session:
        return add_correction(
            session, reply_id=reply_id, agent_user_id=7, text=text, personal=personal
        ).id


@pytest.mark.parametrize("register", sorted(PARAPHRASES))
def test_a_correction_answers_paraphrases_at_once(database: Database, register: str) -> None:
    question, same, different = PARAPHRASES[register]
    memory = CorrectionMemory(database)
    assert memory.lookup(same[0]).answer is None
    reply_id = make_reply(database, question, "wrong answer", 1)
    correction_id = correct(database, reply_id, "the corrected answer")
    # No refresh call: the next lookup notices the new correction by itself.
    found = memory.lookup(same[0])
    assert found.source == "memory" and found.answer == "the corrected answer"
    assert found.entry is not None and found.entry.ref_id == correction_id
    assert all(memory.lookup(text).answer is None for text in different)


def test_superseded_and_rejected_corrections_are_never_used(sqlite_database: Database) -> None:
    memory = CorrectionMemory(sqlite_database)
    reply_id = make_reply(sqlite_database, "amar refund kobe pabo?", "wrong", 1)
    correct(sqlite_database, reply_id, "first correction")
    latest = correct(sqlite_database, reply_id, "second correction")
    assert memory.lookup("amar refund kobe pabo").answer == "second correction"
    with sqlite_database.write() as session:
        reject_correction(session, correction_id=latest, actor_user_id=7, reason="poisoned")
    assert memory.lookup("amar refund kobe pabo").answer is None


def test_personal_corrections_are_never_reused(sqlite_database: Database) -> None:
    memory = CorrectionMemory(sqlite_database)
    marked = make_reply(sqlite_database, "amar order kobe ashbe?", "wrong", 1)
    correct(sqlite_database, marked, "Kal ashbe, rider apnake call dibe.", personal=True)
    assert memory.lookup("amar order kobe ashbe?").answer is None
    # Marked general by mistake but holding a customer's data: still not reused.
    leaky = make_reply(sqlite_database, "refund kobe pabo?", "wrong", 2)
    correct(sqlite_database, leaky, "Rahim bhai, BG-10002345 er refund 01711223344 e gese.")
    assert memory.lookup("refund kobe pabo?").answer is None
    # Flipped to general by an agent: reused from the next question on.
    general = make_reply(sqlite_database, "cashback kobe ashbe?", "wrong", 3)
    flipped = correct(sqlite_database, general, "Delivery er por cashback ashe.", personal=True)
    assert memory.lookup("cashback kobe ashbe?").answer is None
    with sqlite_database.write() as session:
        set_personal(session, correction_id=flipped, personal=False, actor_user_id=7)
    assert memory.lookup("cashback kobe ashbe?").answer == "Delivery er por cashback ashe."


def test_corrections_win_over_knowledge(sqlite_database: Database) -> None:
    memory = CorrectionMemory(sqlite_database)
    with sqlite_database.write() as session:
        replace_knowledge(
            session,
            source="shipped",
            pairs=[("What is the delivery fee in Dhaka?", "60 taka inside Dhaka.", "en", "fee")],
        )
    found = memory.lookup("what is the delivery fee in dhaka", register="en")
    assert found.source == "knowledge" and found.answer == "60 taka inside Dhaka."
    reply_id = make_reply(sqlite_database, "What is the delivery fee in Dhaka?", "wrong", 2)
    correct(sqlite_database, reply_id, "60 taka; free from 2,000 taka.")
    found = memory.lookup("what is the delivery fee in dhaka", register="en")
    assert found.source == "memory" and found.answer == "60 taka; free from 2,000 taka."
    corrections_only = CorrectionMemory(sqlite_database, MemoryConfig(use_knowledge=False))
    assert corrections_only.lookup("What is the delivery fee in Dhaka?").source == "memory"


def test_a_knowledge_edit_is_answered_at_once(sqlite_database: Database) -> None:
    memory = CorrectionMemory(sqlite_database)
    with sqlite_database.write() as session:
        replace_knowledge(
            session, source="company", pairs=[("ডেলিভারি চার্জ কত?", "৬০ টাকা।", "bn", "fee")]
        )
    assert memory.lookup("ডেলিভারি চার্জ কত?", register="bn").answer == "৬০ টাকা।"
    with sqlite_database.write() as session:
        (entry,) = knowledge_entries(session)
        edit_knowledge(session, entry_id=entry.id, answer="৭০ টাকা।", actor_user_id=7)
    assert memory.lookup("ডেলিভারি চার্জ কত?", register="bn").answer == "৭০ টাকা।"


def test_threshold_and_minimum_length_are_configurable(sqlite_database: Database) -> None:
    reply_id = make_reply(sqlite_database, "When will my order arrive?", "wrong", 3)
    correct(sqlite_database, reply_id, "In 1-2 days inside Dhaka.")
    strict = CorrectionMemory(sqlite_database, MemoryConfig(threshold=0.95))
    assert strict.lookup("When will my order arrive, sir?").answer is None
    assert strict.lookup("when will my order arrive").answer is not None
    reply_id = make_reply(sqlite_database, "ok", "wrong", 4)
    correct(sqlite_database, reply_id, "Anything else?")
    assert CorrectionMemory(sqlite_database).lookup("ok").answer is None
    lenient = CorrectionMemory(sqlite_database, MemoryConfig(min_chars=1))
    assert lenient.lookup("ok").answer == "Anything else?"


def test_an_empty_database_knows_nothing(sqlite_database: Database) -> None:
    memory = CorrectionMemory(sqlite_database)
    found = memory.lookup("Where is my order?", register="en")
    assert found.answer is None and found.related == () and len(memory.index) == 0
