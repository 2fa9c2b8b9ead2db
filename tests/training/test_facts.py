"""Fact accuracy: verdicts, the scratch copy, and answers through the real answering pipeline."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import func, select

from storage.corrections import reject_correction
from storage.db import Database
from storage.knowledge import replace_knowledge
from storage.models import Adapter, AuditLog, Chat, Correction, Customer, Message
from storage.registry import active_adapter, add_adapter, promote_adapter
from storage.staff import audit
from tests.training.conftest import Conversations
from training.config import FactsConfig, RetrainConfig
from training.data.factset import FactQuestion
from training.facts import (
    assemble_pipeline,
    fact_scratch,
    judge,
    load_questions,
    run_set,
    scratch_copy,
    set_active_adapter,
    summary,
)

HOTLINE = [r"(?<![\d,-])16789(?!,?\d)"]
WRONG_HOTLINE = [r"(?<![\d,-])(?!16789)1\d{4}(?!,?\d)"]


def question(qid: str, register: str, text: str, *, fact: str = "hotline") -> FactQuestion:
    return FactQuestion(qid, fact, "contact", register, text, tuple(HOTLINE),
                        tuple(WRONG_HOTLINE), "unseen")  # fmt: skip


def write_facts(path: Path, questions: list[FactQuestion]) -> Path:
    lines = [
        json.dumps(
            {
                "id": q.id,
                "fact": q.fact,
                "topic": q.topic,
                "register": q.register,
                "question": q.question,
                "must": list(q.must),
                "contradicts": list(q.contradicts),
                "split": q.split,
            },
            ensure_ascii=False,
        )
        for q in questions
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


QUESTIONS = [
    question("h1", "bn", "হটলাইন নম্বর কত?"),
    question("h2", "en", "What is your hotline number?"),
    question("h3", "banglish", "hotline number ta koto?"),
    question("h4", "mixed", "hotline number টা কত?"),
]


def test_verdicts_normalize_digits_and_count_per_register() -> None:
    replies = [
        ("আমাদের হটলাইন ১৬৭৮৯, সকাল ৯টা থেকে।", "knowledge"),  # Bengali digits state it
        ("Call 16780 any time.", "model"),  # a wrong number: contradicted
        ("Amader hotline 16789.", "memory"),
        ("একজন এজেন্ট এখানে উত্তর দেবেন।", "unsure"),  # honest, not right, not contradicting
    ]
    run = judge("base", QUESTIONS, replies, seconds=1.234)
    assert [a.right for a in run.answers] == [True, False, True, False]
    assert [a.contradicted for a in run.answers] == [False, True, False, False]
    result = summary(run)
    assert result["accuracy"] == 0.5 and result["contradiction_rate"] == 0.25
    assert result["by_register"]["bn"] == {"items": 1, "accuracy": 1.0, "contradiction_rate": 0.0}
    assert result["by_register"]["en"]["contradiction_rate"] == 1.0
    assert result["by_source"] == {"knowledge": 1, "memory": 1, "model": 1, "unsure": 1}
    assert result["seconds"] == 1.23
    with pytest.raises(ValueError):
        judge("base", QUESTIONS, replies[:2])


def test_the_shipped_set_loads_by_split(tmp_path: Path) -> None:
    everything = load_questions()
    unseen = load_questions(split="unseen")
    assert len(everything) >= 120 and 0 < len(unseen) < len(everything)
    assert {q.split for q in unseen} == {"unseen"}
    with pytest.raises(ValueError, match="unknown split"):
        load_questions(split="test")
    with pytest.raises(ValueError, match="no such file"):
        load_questions(tmp_path / "missing.jsonl")


def test_a_scratch_copy_holds_what_answering_reads_and_no_more(
    database: Database, tmp_path: Path
) -> None:
    conversations = Conversations(database)
    kept = conversations.corrected("cash on delivery ache?", "?", "Ji, 20,000 taka porjonto.")
    dropped = conversations.corrected("emi koto maser?", "?", "3 theke 12 mash.")
    conversations.reply("an unrelated chat", "with its answer")
    with database.write() as session:
        reject_correction(session, correction_id=dropped, actor_user_id=1)
        replace_knowledge(session, source="shipped", pairs=[("hotline?", "16789", "en")])
        first = add_adapter(session, version="a1", path="/x", base_model="m")
        add_adapter(session, version="a2", path="/y", base_model="m", parent_id=first.id)
        promote_adapter(session, adapter_id=first.id)
        audit(session, actor_user_id=1, action="x", target_type="y", target_id="z")
        session.get(Customer, 1).display_name = "Rahim Uddin"

    copy = scratch_copy(database, tmp_path / "scratch.sqlite")
    try:
        with copy.read() as session:
            assert session.scalars(select(Correction.id)).all() == [kept]
            assert session.scalar(select(func.count(Message.id))) == 2  # its question and reply
            assert session.scalar(select(func.count(Chat.id))) == 1
            assert session.scalars(select(Customer.display_name)).all() == [""]
            assert session.scalar(select(func.count(AuditLog.id))) == 0
            assert active_adapter(session).version == "a1"
            assert session.scalar(select(func.count(Adapter.id))) == 2
        set_active_adapter(copy, None)
        with copy.read() as session:
            assert active_adapter(session) is None
        with database.read() as session:  # the live registry is untouched
            assert active_adapter(session).version == "a1"
    finally:
        copy.dispose()
    with pytest.raises(FileExistsError):
        scratch_copy(database, tmp_path / "scratch.sqlite")


def test_the_retrain_scratch_copy_goes_away(
    sqlite_database: Database, retrain_config: RetrainConfig
) -> None:
    with fact_scratch(sqlite_database, retrain_config) as path:
        assert path is not None and Path(path).is_file()
        assert not Path(path).is_relative_to(retrain_config.reports_dir)
    assert not Path(path).parent.exists()
    off = replace(retrain_config, gate=replace(retrain_config.gate, facts="off"))
    with fact_scratch(sqlite_database, off) as none:
        assert none is None


def test_the_training_process_assembles_the_pipeline_serving_builds(
    sqlite_database: Database, tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The training process cannot import the composition root; this keeps the two equal."""
    from wiring.build import build_pipeline
    from wiring.configs import facts_config
    from wiring.settings import Settings

    monkeypatch.setenv("UTTOR_HISTORY_TOKENS", "77")
    settings = Settings()
    served = build_pipeline(settings, sqlite_database, str(tiny_model_dir), defer=True)
    config = facts_config(settings)
    assembled = assemble_pipeline(sqlite_database, served.service, config, compact=True)

    def shape(pipeline: object) -> dict[str, object]:
        return {
            name: value if name == "config" else type(value)
            for name, value in vars(pipeline).items()
            if name != "service"
        }

    assert shape(assembled) == shape(served)
    assert assembled.config.prompt.history_tokens == 77
    assert assembled.memory.config == served.memory.config


async def test_answers_come_from_the_pipeline_in_fresh_chats(
    sqlite_database: Database, tiny_model_dir: Path, tmp_path: Path
) -> None:
    """Knowledge answers the hotline in every register; a question it lacks goes to the model."""
    from model.config import DecodingConfig, LoadConfig, ServiceConfig
    from model.loading import load_base
    from model.service import GenerationService

    with sqlite_database.write() as session:
        replace_knowledge(
            session,
            source="shipped",
            pairs=[
                ("হটলাইন নম্বর কত?", "আমাদের হটলাইন ১৬৭৮৯।", "bn"),
                ("What is your hotline number?", "Our hotline is 16789.", "en"),
                ("hotline number ta koto?", "Amader hotline 16789.", "banglish"),
                ("hotline number টা কত?", "আমাদের hotline 16789।", "mixed"),
            ],
        )
    copy = scratch_copy(sqlite_database, tmp_path / "scratch.sqlite")
    loaded = load_base(LoadConfig(str(tiny_model_dir), device="cpu"))
    service = GenerationService(loaded, ServiceConfig(decoding=DecodingConfig(max_new_tokens=4)))
    pipeline = assemble_pipeline(copy, service, FactsConfig(), compact=True)
    asked = [*QUESTIONS, question("x1", "en", "Do you sell refrigerators on instalments?")]
    try:
        async with pipeline:
            run, adapters = await run_set("base", pipeline, copy, asked, concurrency=3)
            again, _ = await run_set("base", pipeline, copy, asked[:1], concurrency=3)
    finally:
        copy.dispose()
    assert [a.right for a in run.answers[:4]] == [True] * 4, run.answers
    assert {a.source for a in run.answers[:4]} <= {"knowledge", "memory"}
    assert run.answers[4].source in {"model", "unsure", "fallback"}
    assert adapters <= {None}
    assert again.answers[0].right
    with Database(copy.url).read() as session:
        # Every question had a chat of its own, and none of them is in the live database.
        assert session.scalar(select(func.count(Chat.id))) == len(asked) + 1
    with sqlite_database.read() as session:
        assert session.scalar(select(func.count(Chat.id))) == 0


def test_eval_facts_on_the_cli(
    tmp_path: Path,
    sqlite_url: str,
    tiny_model_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from tests.shared.cli import run_cli

    monkeypatch.setenv("UTTOR_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("UTTOR_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("UTTOR_BASE_MODEL", str(tiny_model_dir))
    monkeypatch.setenv("UTTOR_MAX_NEW_TOKENS", "4")
    assert run_cli(["init"], capsys)[0] == 0
    facts = write_facts(tmp_path / "facts.jsonl", QUESTIONS)
    database = Database(sqlite_url)  # init loaded the shipped knowledge base: it has the hotline
    with database.read() as session:
        chats_before = session.scalar(select(func.count(Chat.id)))

    code, out, err = run_cli(["eval", "--facts", str(facts), "--adapter", "base", "--json"], capsys)
    assert code == 0, err
    result = json.loads(out)
    assert result["adapter"] == "base" and result["items"] == 4 and result["split"] == "all"
    assert set(result["by_register"]) == {"bn", "en", "banglish", "mixed"}
    assert result["by_register"]["banglish"]["accuracy"] == 1.0, result["wrong"]
    assert 0.25 <= result["accuracy"] <= 1.0
    assert sum(result["by_source"].values()) == 4
    assert {w["id"] for w in result["wrong"]} <= {"h1", "h2", "h4"}
    with database.read() as session:  # asked in a scratch copy, not in the live database
        assert session.scalar(select(func.count(Chat.id))) == chats_before

    code, out, err = run_cli(["eval", "--facts", str(facts), "--adapter", "base"], capsys)
    assert code == 0, err
    assert "register\tquestions\taccuracy\tcontradictions" in out and "banglish\t1\t100.0%" in out
    code, _, err = run_cli(["eval", "--facts", str(facts), "--split", "tune"], capsys)
    assert code == 1 and "no fact questions in split 'tune'" in err
    code, _, err = run_cli(["eval", "--facts", str(facts), "--test", str(facts)], capsys)
    assert code == 1 and "give one of them" in err
    (tmp_path / "bad.jsonl").write_text('{"id": "x"}\n', encoding="utf-8")
    code, _, err = run_cli(["eval", "--facts", str(tmp_path / "bad.jsonl")], capsys)
    assert code == 1 and "bad.jsonl" in err and "missing keys" in err
    database.dispose()
