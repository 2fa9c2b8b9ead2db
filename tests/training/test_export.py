"""Export: sources joined, newest correction wins, PII redacted, test set held out, the prompt
served travels with each database pair, non-answers and excluded answers stay out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from model.config import PipelineConfig
from model.memory import CorrectionMemory
from model.pipeline import Pipeline
from model.prompting import build_prompt
from model.service import Generation
from model.text.langid import detect
from model.text.normalize import normalize
from model.text.redact import redact
from storage.conversations import (
    add_message,
    add_reply,
    set_preferred_language,
    upsert_chat,
    upsert_customer,
)
from storage.corrections import add_correction, approve_reply, reject_correction
from storage.db import Database
from storage.handoffs import add_handoff_pair, exclude_answers, start_handoff
from storage.models import Message
from tests.training.conftest import Conversations
from training.config import ExportConfig
from training.data import load_pairs
from training.examples import example_prompt, prompt_for
from training.export import build_export, pair_key, read_manifest, trigrams, write_export
from training.nonanswers import is_non_answer

ALL_TRAIN = ExportConfig(test_share=0.0)


def _export(database: Database, shipped: tuple[Path, Path], config: ExportConfig = ALL_TRAIN):
    with database.read() as session:
        return build_export(session, config=config, train_file=shipped[0], test_file=shipped[1])


def _answers(pairs) -> dict[str, str]:
    return {normalize(p.text): p.completion for p in pairs}


def test_sources_are_joined_and_newest_correction_wins(
    sqlite_database: Database, conversations: Conversations, shipped: tuple[Path, Path]
) -> None:
    reply = conversations.reply("pickup point e koto din rakhbe?", "jani na")
    conversations.correct(reply, "Pickup point e parcel 3 din thake.")
    conversations.correct(reply, "Pickup point e parcel 5 din thake.")
    # The same question asked again later and corrected differently: the newer one wins.
    conversations.corrected("Pickup point e koto din rakhbe?", "?", "5 din porjonto thake, vai.")
    approved = conversations.reply("Do you deliver on Friday?", "Yes, 7 days a week.")
    with sqlite_database.write() as session:
        approve_reply(session, reply_id=approved, agent_user_id=77)

    export = _export(sqlite_database, shipped)

    answers = _answers(export.train)
    assert answers[normalize("pickup point e koto din rakhbe?")] == "5 din porjonto thake, vai."
    assert answers[normalize("Do you deliver on Friday?")] == "Yes, 7 days a week."
    assert export.summary["train"]["by_source"] == {"approved": 1, "correction": 1, "shipped": 5}
    assert export.summary["dropped"]["duplicate"] == 1
    assert export.summary["train"]["by_language"]["banglish"] >= 2


def test_rejected_and_superseded_corrections_are_not_exported(
    sqlite_database: Database, conversations: Conversations, shipped: tuple[Path, Path]
) -> None:
    bad = conversations.corrected("What is the OTP validity?", "?", "Share your OTP with us.")
    with sqlite_database.write() as session:
        reject_correction(session, correction_id=bad, actor_user_id=1, reason="poisoned")
    reply = conversations.reply("Where is my refund?", "?")
    conversations.correct(reply, "first draft")
    conversations.correct(reply, "Refunds reach the wallet within 24 hours.")

    texts = [p.completion for p in _export(sqlite_database, shipped).train]
    assert "Share your OTP with us." not in texts
    assert "first draft" not in texts
    assert "Refunds reach the wallet within 24 hours." in texts


def test_personal_data_is_redacted_but_company_contacts_stay(
    sqlite_database: Database,
    conversations: Conversations,
    shipped: tuple[Path, Path],
    tmp_path: Path,
) -> None:
    conversations.corrected(
        "amar number 01711223344, TrxID 9C4DXR7A2B, taka kete geche",
        "?",
        "Rahim bhai, apnar 01711223344 number e call dibo; mail korun support@bazarghor.example",
    )
    conversations.corrected(
        "কার্ড 4111 1111 1111 1111 দিয়ে পেমেন্ট হয়নি, মেইল rahim@gmail.com",
        "?",
        "আপনার NID ১৯৯০১২৩৪৫৬৭৮৯০১২৩ লাগবে না।",
    )
    export = _export(sqlite_database, shipped)
    paths = write_export(export, tmp_path / "out")

    written = paths["train"].read_text(encoding="utf-8") + paths["test"].read_text("utf-8")
    for secret in ("01711223344", "9C4DXR7A2B", "4111", "rahim@gmail.com", "১৯৯০১২৩৪৫৬৭৮৯০১২৩"):
        assert secret not in written
    for placeholder in ("<PHONE>", "<TRXID>", "<CARD>", "<EMAIL>", "<NID>"):
        assert placeholder in written
    # Public in the shipped data, so not personal.
    assert "support@bazarghor.example" in written
    assert export.summary["redacted"] == {
        "<CARD>": 1,
        "<EMAIL>": 1,
        "<NID>": 1,
        "<PHONE>": 2,
        "<TRXID>": 1,
    }


def test_written_files_are_the_seed_format(
    sqlite_database: Database,
    conversations: Conversations,
    shipped: tuple[Path, Path],
    tmp_path: Path,
) -> None:
    conversations.corrected("Is EMI available?", "no", "0% EMI with 12 partner banks.")
    export = _export(sqlite_database, shipped)
    paths = write_export(export, tmp_path / "out")
    for name in ("train", "test"):
        data = json.loads(paths[name].read_text(encoding="utf-8"))
        assert data and all({"text", "completion"} <= set(item) for item in data)
        # Shipped pairs are the seed format as they are; database pairs add what was served.
        for item in data:
            extra = set(item) - {"text", "completion"}
            assert extra in (set(), {"reply_language", "history"}), item
        assert load_pairs(paths[name]) == data
    summary = json.loads(paths["summary"].read_text(encoding="utf-8"))
    assert summary["train"]["total"] == len(export.train)
    assert read_manifest(tmp_path / "out") == {
        pair_key("Is EMI available?", "0% EMI with 12 partner banks.")
    }


def test_split_is_by_hash_and_stable(
    sqlite_database: Database, conversations: Conversations, shipped: tuple[Path, Path]
) -> None:
    questions = [f"order number {i} er status ki?" for i in range(40)]
    for i, question in enumerate(questions):
        conversations.corrected(question, "?", f"Order {i} shipped hoye geche.")
    half = ExportConfig(test_share=0.5, leak_similarity=1.01)

    first, second = _export(sqlite_database, shipped, half), _export(sqlite_database, shipped, half)
    test_side = {normalize(p.text) for p in first.test if p.source == "correction"}
    assert test_side == {normalize(p.text) for p in second.test if p.source == "correction"}
    assert 5 < len(test_side) < 35  # a share, not all or nothing
    # A new correction later does not move anyone across.
    conversations.corrected("order number 99 er status ki?", "?", "Order 99 shipped.")
    third = _export(sqlite_database, shipped, half)
    assert test_side <= {normalize(p.text) for p in third.test}


def test_train_and_test_never_overlap(
    sqlite_database: Database, conversations: Conversations, shipped: tuple[Path, Path]
) -> None:
    # A correction of a shipped *test* question stays in the test set, with the new answer.
    conversations.corrected("Is cash on delivery available?", "?", "Yes, COD up to 20,000 taka.")
    # A near-duplicate of a test question cannot train.
    conversations.corrected("Is cash on delivery available??", "?", "Yes.")
    conversations.corrected("is cash-on-delivery available", "?", "Yes, it is.")
    # A correction of a shipped training question replaces the shipped answer in training.
    conversations.corrected("ডেলিভারি চার্জ কত?", "?", "ঢাকায় ৬০ টাকা, ঢাকার বাইরে ১২০ টাকা।")
    for i in range(30):
        conversations.corrected(f"kisti {i} kobe dibo?", "?", f"Kisti {i} maser 5 tarikhe.")

    export = _export(sqlite_database, shipped, ExportConfig(test_share=0.3))

    train_keys = {normalize(p.text) for p in export.train}
    test_keys = {normalize(p.text) for p in export.test}
    assert not train_keys & test_keys
    for pair in export.train:
        for other in export.test:
            overlap = trigrams(pair.text) & trigrams(other.text)
            assert len(overlap) / len(trigrams(pair.text) | trigrams(other.text)) < 0.6
    assert _answers(export.test)[normalize("Is cash on delivery available?")] == (
        "Yes, COD up to 20,000 taka."
    )
    assert _answers(export.train)[normalize("ডেলিভারি চার্জ কত?")].startswith("ঢাকায় ৬০")
    assert export.summary["dropped"]["leak"] >= 1
    assert len(export.train) + len(export.test) + export.summary["dropped"]["leak"] == 5 + 3 + 32


def test_handoff_answers_are_training_material(
    sqlite_database: Database, shipped: tuple[Path, Path]
) -> None:
    from storage.conversations import add_message, upsert_chat
    from storage.handoffs import add_handoff_pair, start_handoff

    with sqlite_database.write() as session:
        chat = upsert_chat(session, telegram_chat_id=555)
        handoff = start_handoff(session, chat_id=chat.id, requested_by="customer")
        question = add_message(session, chat_id=chat.id, direction="in", text="seller hobo kivabe?")
        answer = add_message(
            session, chat_id=chat.id, direction="out", text="Seller Center e trade licence diye."
        )
        add_handoff_pair(
            session,
            handoff_id=handoff.id,
            question_message_id=question.id,
            answer_message_id=answer.id,
            agent_user_id=77,
        )
    export = _export(sqlite_database, shipped)
    assert _answers(export.train)[normalize("seller hobo kivabe?")] == (
        "Seller Center e trade licence diye."
    )
    assert export.summary["train"]["by_source"]["handoff"] == 1


def test_correction_ids_are_reported(
    sqlite_database: Database, conversations: Conversations, shipped: tuple[Path, Path]
) -> None:
    ids = [conversations.corrected(f"wallet limit {i}?", "?", "50,000 taka.") for i in range(3)]
    with sqlite_database.write() as session:
        add_correction(session, reply_id=conversations.reply("x?", "y"), agent_user_id=1, text="z")
    export = _export(sqlite_database, shipped)
    assert set(ids) <= set(export.correction_ids)


# --- what the customer was served --------------------------------------------------------


class Recorder:
    """A generation backend that answers ``answer`` and keeps every prompt it was given."""

    tokenizer = None
    adapter = None

    def __init__(self, answer: str) -> None:
        self.answer = answer
        self.prompts: list[str] = []

    async def start(self) -> None:
        """Nothing to load."""

    async def close(self) -> None:
        """Nothing to release."""

    async def ready(self) -> Recorder:
        return self

    async def generate(self, prompt: str, *, timeout_s: float | None = None) -> Generation:
        self.prompts.append(prompt)
        return Generation(self.answer, 0, 0, None, 0.0, 1, True)


async def _serve(database: Database, user: int, messages: list[str], answer: str) -> tuple:
    """A customer who prefers English replies, served through the real pipeline."""
    with database.write() as session:
        customer = upsert_customer(session, telegram_user_id=user)
        set_preferred_language(session, customer_id=customer.id, language="en")
        chat = upsert_chat(session, telegram_chat_id=user, customer_id=customer.id)
        ids = (chat.id, customer.id)
    recorder = Recorder(answer)
    pipeline = Pipeline(
        database, recorder, CorrectionMemory(database), PipelineConfig(), compact_prompt=True
    )  # type: ignore[arg-type]
    replies = [
        await pipeline.answer(chat_id=ids[0], customer_id=ids[1], text=text) for text in messages
    ]
    return replies, recorder.prompts


async def test_database_pairs_carry_the_prompt_served(
    sqlite_database: Database, shipped: tuple[Path, Path], tmp_path: Path
) -> None:
    replies, prompts = await _serve(
        sqlite_database,
        4242,
        ["amar number 01711223344, parcel ta kothay?", "ar kobe ashbe parcel ta?"],
        "It reaches you tomorrow.",
    )
    assert all(r.source == "model" for r in replies)
    with sqlite_database.write() as session:
        approve_reply(session, reply_id=replies[1].reply_id, agent_user_id=77)

    export = _export(sqlite_database, shipped)
    (pair,) = [p for p in export.train if p.source == "approved"]
    # The second question was served with the first turn as history and the English
    # instruction the customer's preference chose (a fresh detection says Banglish).
    assert detect(pair.text).label == "banglish" and pair.reply_language == "en"
    assert pair.prompt == redact(prompts[1]).text != prompts[1]
    assert "<PHONE>" in pair.prompt and "parcel ta kothay" in pair.prompt
    assert [t.role for t in pair.history] == ["user", "assistant"]
    assert export.summary["train"]["served_prompts"] == 1

    paths = write_export(export, tmp_path / "out")
    written = paths["train"].read_text(encoding="utf-8")
    assert "01711223344" not in written
    (item,) = [i for i in load_pairs(paths["train"]) if "prompt" in i]
    # What training reads back is the prompt served (redacted), not one rebuilt from the text.
    assert example_prompt(item, None, compact=True) == (pair.prompt, True)
    assert pair.prompt != prompt_for(item["text"], None, compact=True)


async def test_replies_without_a_prompt_get_the_stored_reply_language(
    sqlite_database: Database, shipped: tuple[Path, Path]
) -> None:
    replies, _ = await _serve(sqlite_database, 4343, ["ami bKash e pay korbo"], "Sure.")
    with sqlite_database.write() as session:
        chat_id = session.get(Message, replies[0].message_id).chat_id
        # Next in the same chat: a memory answer, so no model prompt; its reply language (en,
        # the customer's preference) is stored with it.
        question = add_message(
            session,
            chat_id=chat_id,
            direction="in",
            text="bkash e charge koto?",
            language="banglish",
        )
        answer = add_message(
            session, chat_id=chat_id, direction="out", text="No charge.", language="en"
        )
        reply = add_reply(
            session, message_id=answer.id, source="memory", question_message_id=question.id
        )
        add_correction(session, reply_id=reply.id, agent_user_id=77, text="bKash has no fee.")

    (pair,) = [p for p in _export(sqlite_database, shipped).train if p.source == "correction"]
    assert pair.prompt == "" and pair.reply_language == "en"
    assert [t.text for t in pair.history] == ["ami bKash e pay korbo", "Sure."]
    seed = pair.as_seed()
    built, served = example_prompt(seed, None, compact=True)
    assert not served and built == build_prompt(
        "bkash e charge koto?", language="en", history=list(pair.history), compact=True
    )


def _handoff(database: Database, chat: int, question: str, answers: list[str]) -> list[int]:
    """A customer question and the agents' answers during a handoff; returns the pair ids."""
    with database.write() as session:
        chat_row = upsert_chat(session, telegram_chat_id=chat)
        handoff = start_handoff(session, chat_id=chat_row.id, requested_by="customer")
        asked = add_message(
            session, chat_id=chat_row.id, direction="in", text=question, language="banglish"
        )
        ids = []
        for text in answers:
            said = add_message(
                session, chat_id=chat_row.id, direction="out", text=text, language="banglish"
            )
            ids.append(
                add_handoff_pair(
                    session,
                    handoff_id=handoff.id,
                    question_message_id=asked.id,
                    answer_message_id=said.id,
                    agent_user_id=77,
                ).id
            )
        return [asked.id, *ids]


def test_non_answers_are_not_training_pairs(
    sqlite_database: Database, shipped: tuple[Path, Path]
) -> None:
    # Agents stall first, then answer; both are stored as answers to the question.
    _handoff(sqlite_database, 601, "seller account khulbo kivabe?", ["ektu opekkha korun", "x"])
    _handoff(sqlite_database, 602, "EMI te kinte parbo?", ["Checking…", "ok"])
    _handoff(sqlite_database, 603, "ফেরত কবে পাব?", ["দেখছি ভাই", "৭ দিনের মধ্যে পাবেন।"])
    _handoff(sqlite_database, 604, "wallet limit koto?", ["ok, 50,000 taka porjonto."])

    export = _export(sqlite_database, shipped)
    answers = _answers(export.train)
    assert answers[normalize("ফেরত কবে পাব?")] == "৭ দিনের মধ্যে পাবেন।"
    assert answers[normalize("wallet limit koto?")] == "ok, 50,000 taka porjonto."
    assert normalize("EMI te kinte parbo?") not in answers  # nothing but stalling
    assert export.summary["dropped"]["non_answer"] == 4
    # "x" is no stalling phrase: a one-letter answer is for agents to exclude.
    assert answers[normalize("seller account khulbo kivabe?")] == "x"


def test_excluded_handoff_answers_are_not_exported(
    sqlite_database: Database, shipped: tuple[Path, Path]
) -> None:
    question_id, _ = _handoff(sqlite_database, 701, "amar bari kothay?", ["Road 5, ami ashchi."])
    _handoff(sqlite_database, 702, "COD ache?", ["Ji, 20,000 taka porjonto."])
    with sqlite_database.write() as session:
        assert exclude_answers(session, question_message_id=question_id, actor_user_id=77) == 1
    answers = _answers(_export(sqlite_database, shipped).train)
    assert normalize("amar bari kothay?") not in answers
    assert answers[normalize("COD ache?")] == "Ji, 20,000 taka porjonto."


def test_approved_outputs_never_enter_the_test_set(
    sqlite_database: Database, conversations: Conversations, shipped: tuple[Path, Path]
) -> None:
    for i in range(30):
        reply = conversations.reply(f"pickup point {i} kothay?", f"Pickup point {i} Mirpur e.")
        with sqlite_database.write() as session:
            approve_reply(session, reply_id=reply, agent_user_id=77)
    # The bot's own answer to a shipped test question: the test keeps the shipped reference.
    reply = conversations.reply("Is cash on delivery available?", "Yes, always.")
    with sqlite_database.write() as session:
        approve_reply(session, reply_id=reply, agent_user_id=77)
    half = ExportConfig(test_share=0.5, leak_similarity=1.01)

    export = _export(sqlite_database, shipped, half)
    assert not [p for p in export.test if p.source == "approved"]
    assert export.summary["train"]["by_source"]["approved"] == 30
    assert _answers(export.test)[normalize("Is cash on delivery available?")] == (
        "Yes, up to 20,000 taka."
    )
    assert export.summary["dropped"]["approved_in_test"] == 1
    # Agents' own answers are still split by hash (some of them are references).
    for i in range(30):
        conversations.corrected(f"return {i} kivabe dibo?", "?", f"Return {i}: My Orders e.")
    assert [p for p in _export(sqlite_database, shipped, half).test if p.source == "correction"]


def test_approved_fixed_notes_are_not_exported(
    sqlite_database: Database, shipped: tuple[Path, Path]
) -> None:
    with sqlite_database.write() as session:
        chat = upsert_chat(session, telegram_chat_id=801)
        for source, answer in (
            ("fallback", "Sorry, an agent will answer you soon."),
            ("system", "We answer in Bangla and English; type /agent."),
            ("unsure", "I am not sure; an agent will check."),
            ("knowledge", "Delivery inside Dhaka costs 60 taka."),
        ):
            asked = add_message(session, chat_id=chat.id, direction="in", text=f"{source} q?")
            said = add_message(session, chat_id=chat.id, direction="out", text=answer)
            reply = add_reply(
                session, message_id=said.id, source=source, question_message_id=asked.id
            )
            # Set directly: an older database may hold such approvals.
            reply.review = "approved"
    answers = _answers(_export(sqlite_database, shipped).train)
    assert answers.get(normalize("knowledge q?")) == "Delivery inside Dhaka costs 60 taka."
    assert not {normalize(f"{s} q?") for s in ("fallback", "system", "unsure")} & set(answers)


@pytest.mark.parametrize(
    ("answer", "stalls"),
    [
        # Stalling or acknowledging, in every register, alone or chained, courtesy around it.
        ("Wait a minute please", True),
        ("ok", True),
        ("Okay, checking now.", True),
        ("Sir, let me check.", True),
        ("একটু অপেক্ষা করুন", True),
        ("দেখছি ভাই।", True),
        ("ঠিক আছে, চেক করছি", True),
        ("ektu opekkha korun vai", True),
        ("accha, dekhtesi", True),
        ("ji, check korchi", True),
        ("একটু wait করুন প্লিজ", True),
        ("ok ভাই, check করছি", True),
        ("...", True),
        ("🙏", True),
        # Short, but answers.
        ("ji", False),
        ("One", False),
        ("হ্যাঁ, পাবেন।", False),
        ("ok, 3 din lagbe", False),
        ("Please check your spam folder.", False),
        ("Wait 2-3 days for the refund.", False),
        ("দেখছি, আপনার অর্ডার আজ পাঠানো হয়েছে।", False),
        ("ektu opekkha korun, rider 10 minute e pouchabe", False),
        ("ok\nchecking", False),  # two lines: not a one-line answer
    ],
)
def test_non_answer_rule(answer: str, stalls: bool) -> None:
    assert is_non_answer(answer) is stalls
