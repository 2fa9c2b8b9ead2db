"""Training prompts carry the company's entries as serving's prompts do (sentences written here)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from model.config import MemoryConfig, PipelineConfig
from model.retrieval import Entry
from storage.db import Database
from storage.knowledge import KnowledgeRow, import_knowledge
from training.config import FactsConfig
from training.knowledge_prompts import (
    KNOWLEDGE_NAME,
    entries_of,
    export_knowledge,
    lookup,
    prompt_knowledge,
    read_knowledge,
)
from training.train import encode_pairs, example_prompt

ENTRIES = [
    Entry(
        "Pickup point e parcel koto din thake?",
        "Parcel 5 din pickup point e thake.",
        "banglish",
        "pickup",
    ),
    Entry(
        "How long is a parcel kept at a pickup point?",
        "A parcel waits 5 days at the pickup point.",
        "en",
        "pickup",
    ),
    Entry("পিকআপ পয়েন্টে পার্সেল কত দিন রাখে?", "পার্সেল পিকআপ পয়েন্টে ৫ দিন থাকে।", "bn", "pickup"),
    Entry("OTP koto minute valid?", "OTP 5 minute valid thake.", "banglish", "otp"),
]


@pytest.fixture(scope="module")
def tokenizer(tiny_model_dir: Path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_model_dir)


def test_a_shipped_pairs_prompt_shows_the_other_entries_not_its_own(tokenizer) -> None:
    knowledge = lookup(ENTRIES)
    pair = {"text": ENTRIES[0].question, "completion": ENTRIES[0].answer}
    prompt, served = example_prompt(pair, tokenizer, compact=True, knowledge=knowledge)
    assert not served
    assert ENTRIES[1].answer in prompt or ENTRIES[2].answer in prompt
    assert ENTRIES[0].answer not in prompt  # learn to answer from the others, not to echo
    assert ENTRIES[3].answer not in prompt  # another topic is not related
    bare, _ = example_prompt(pair, tokenizer, compact=True)
    assert ENTRIES[1].answer not in bare and len(bare) < len(prompt)


def test_a_served_prompt_is_trained_on_as_it_was_served(tokenizer) -> None:
    served_prompt, _ = example_prompt(
        {"text": "OTP ashe na", "completion": "-"}, tokenizer, compact=True
    )
    pair = {"text": "OTP ashe na", "completion": "Abar chesta korun.", "prompt": served_prompt}
    prompt, served = example_prompt(pair, tokenizer, compact=True, knowledge=lookup(ENTRIES))
    assert served and prompt == served_prompt


def test_an_empty_knowledge_base_shows_nothing(tokenizer) -> None:
    assert lookup([]) is None
    assert prompt_knowledge(None, MemoryConfig()) is None
    pairs = [{"text": e.question, "completion": e.answer} for e in ENTRIES]
    plain, _ = encode_pairs(pairs, tokenizer, compact=True, max_length=512)
    grounded, dropped = encode_pairs(
        pairs, tokenizer, compact=True, max_length=512, knowledge=lookup(ENTRIES)
    )
    assert dropped == 0
    assert sum(len(e.input_ids) for e in grounded) > sum(len(e.input_ids) for e in plain)


def test_the_knowledge_base_is_exported_for_the_training_process(
    sqlite_database: Database, tmp_path: Path
) -> None:
    chat_model = str(tmp_path / "a-chat-model")  # not a starter model: it reads entries
    serving = FactsConfig()
    with sqlite_database.read() as session:
        assert export_knowledge(session, tmp_path, chat_model, serving) is None  # empty base
    rows = [KnowledgeRow(e.question, e.answer, e.register, e.topic) for e in ENTRIES]
    with sqlite_database.write() as session:
        import_knowledge(session, source="company", rows=rows)
    with sqlite_database.read() as session:
        off = FactsConfig(memory=MemoryConfig(use_knowledge=False))
        assert export_knowledge(session, tmp_path, chat_model, off) is None
        handoff = FactsConfig(pipeline=PipelineConfig(related="handoff"))
        assert export_knowledge(session, tmp_path, chat_model, handoff) is None
        path = export_knowledge(session, tmp_path, chat_model, serving)
        assert path == str(tmp_path / KNOWLEDGE_NAME)
        assert read_knowledge(Path(path)) == entries_of(session)
    assert [e.question for e in read_knowledge(Path(path))] == [e.question for e in ENTRIES]
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps([{"answer": "no question"}]))
    with pytest.raises(ValueError, match="not a knowledge export"):
        read_knowledge(broken)


def test_a_retrain_hands_the_knowledge_base_to_the_training_process(
    sqlite_database: Database, conversations: Any, retrain_config: Any, fake_runner: Any
) -> None:
    from training.pipeline import run_retrain

    rows = [KnowledgeRow(e.question, e.answer, e.register, e.topic) for e in ENTRIES]
    with sqlite_database.write() as session:
        import_knowledge(session, source="company", rows=rows)
    for i in range(3):
        conversations.corrected(f"kisti {i} kobe?", "?", f"Kisti {i} maser 5 tarikhe.")
    # The tiny base is a starter model: under the default settings it is never shown entries,
    # so it does not train on them either.
    outcome = run_retrain(sqlite_database, retrain_config, runner=fake_runner, force=True)
    assert outcome.status == "succeeded", outcome.reason
    assert fake_runner.specs[-1].knowledge_file is None
    # Serving told to let the model answer with the entries: training shows them too.
    facts = replace(retrain_config.facts, pipeline=PipelineConfig(related="model"))
    config = replace(retrain_config, facts=facts)
    outcome = run_retrain(sqlite_database, config, runner=fake_runner, force=True)
    assert outcome.status == "succeeded", outcome.reason
    spec = fake_runner.specs[-1]
    assert spec.knowledge_file is not None and spec.memory == config.facts.memory
    assert len(read_knowledge(Path(spec.knowledge_file))) == len(ENTRIES)


@pytest.mark.parametrize(
    ("related", "unsure", "compact", "reads"),
    [
        ("auto", "handoff", True, False),  # a starter model never sees entries
        ("auto", "handoff", False, True),  # a chat model answers with them
        ("auto", "model", True, True),  # told to answer anything: its prompts carry them
        ("model", "handoff", True, True),
        ("handoff", "handoff", False, False),
    ],
)
def test_the_model_reads_entries_exactly_when_serving_shows_them(
    related: str, unsure: str, compact: bool, reads: bool
) -> None:
    config = PipelineConfig(related=related, unsure=unsure)  # type: ignore[arg-type]
    assert config.reads_entries(compact) is reads
