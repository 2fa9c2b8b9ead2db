"""Export: sources joined, newest correction wins, PII redacted, test set held out."""

from __future__ import annotations

import json
from pathlib import Path

from model.text.normalize import normalize
from storage.corrections import add_correction, approve_reply, reject_correction
from storage.db import Database
from tests.training.conftest import Conversations
from training.config import ExportConfig
from training.export import build_export, pair_key, read_manifest, trigrams, write_export

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
        assert data and all(set(item) == {"text", "completion"} for item in data)
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
