"""The training process: its spec crosses the process boundary whole, a broken incumbent does
not throw the training away, and the fact-check set is asked through the answering pipeline."""

from __future__ import annotations

import json
from pathlib import Path

from model.config import MemoryConfig, PipelineConfig, PromptConfig
from storage.db import Database
from storage.knowledge import replace_knowledge
from tests.training.test_facts import QUESTIONS, write_facts
from training.config import (
    Canary,
    EvalConfig,
    FactsConfig,
    RetrainConfig,
    TrainConfig,
)
from training.facts import scratch_copy
from training.job import JobSpec, run_job
from training.results import AdapterSpec, JobResult


def test_the_spec_crosses_the_process_boundary_whole(tmp_path: Path) -> None:
    spec = JobSpec(
        base_model="m",
        quantization="nf4",
        train_file="t.json",
        test_file="u.json",
        adapter_dir="a",
        version="r1",
        incumbent=AdapterSpec(3, "r0", "/adapters/r0"),
        prompt=PromptConfig(company="Dokan", history_tokens=10),
        train=TrainConfig(epochs=2, target_modules=("q_proj", "v_proj")),
        canaries=(Canary("bn", "কত?"),),
        metadata={"run_id": 1},
        facts=FactsConfig(
            file=tmp_path / "facts.jsonl",
            split="unseen",
            memory=MemoryConfig(threshold=0.7),
            pipeline=PipelineConfig(prompt=PromptConfig(company="Dokan"), history_messages=3),
        ),
        facts_database=str(tmp_path / "scratch.sqlite"),
    )
    again = JobSpec.from_json(spec.to_json())
    assert again == spec
    assert isinstance(again.facts.file, Path) and again.train.target_modules == ("q_proj", "v_proj")
    bare = JobSpec("m", "nf4", "t", "u", "a", "r1")
    assert JobSpec.from_json(bare.to_json()) == bare


def test_a_broken_incumbent_is_reported_and_facts_are_asked_of_base_and_candidate(
    sqlite_database: Database,
    retrain_config: RetrainConfig,
    tmp_path: Path,
) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "adapter_config.json").write_text("{not json", encoding="utf-8")
    with sqlite_database.write() as session:
        replace_knowledge(
            session,
            source="shipped",
            pairs=[
                ("হটলাইন নম্বর কত?", "আমাদের হটলাইন ১৬৭৮৯।", "bn"),
                ("What is your hotline number?", "Our hotline is 16789.", "en"),
            ],
        )
    scratch = scratch_copy(sqlite_database, tmp_path / "scratch.sqlite")
    scratch.dispose()
    spec = JobSpec(
        base_model=retrain_config.base_model,
        quantization="nf4",
        train_file=str(retrain_config.train_file),
        test_file=str(retrain_config.test_file),
        adapter_dir=str(tmp_path / "candidate"),
        version="r0001-test",
        incumbent=AdapterSpec(7, "r0000-broken", str(broken)),
        device="cpu",
        train=TrainConfig(epochs=1, batch_size=4, max_length=96, threads=1),
        eval=EvalConfig(batch_size=4, decoding=retrain_config.eval.decoding),
        canaries=retrain_config.gate.canaries,
        facts=FactsConfig(file=write_facts(tmp_path / "facts.jsonl", QUESTIONS[:2])),
        facts_database=str(tmp_path / "scratch.sqlite"),
    )
    said: list[str] = []
    result = run_job(spec, on_progress=said.append)

    assert result.incumbent_error and "r0000-broken" in result.incumbent_error
    assert any("comparing with the base model" in line for line in said)
    assert set(result.eval) == {"base", "candidate"} and result.smoke.loaded
    assert result.facts_error is None
    assert {role: run.name for role, run in result.facts.items()} == {
        "incumbent": "base",
        "candidate": "r0001-test",
    }
    for run in result.facts.values():
        assert [a.right for a in run.answers] == [True, True]  # the knowledge base's answers
        assert {a.source for a in run.answers} <= {"knowledge", "memory"}
    data = json.loads(json.dumps(result.to_json()))
    again = JobResult.from_json(data)
    assert again.facts == result.facts and again.incumbent_error == result.incumbent_error
    assert json.loads(json.dumps(again.to_json())) == data


def test_facts_that_cannot_be_asked_are_an_error_not_a_crash(
    retrain_config: RetrainConfig, tmp_path: Path
) -> None:
    spec = JobSpec(
        base_model=retrain_config.base_model,
        quantization="nf4",
        train_file=str(retrain_config.train_file),
        test_file=str(retrain_config.test_file),
        adapter_dir=str(tmp_path / "candidate"),
        version="r0002-test",
        device="cpu",
        train=TrainConfig(epochs=1, batch_size=4, max_length=96, threads=1),
        eval=EvalConfig(batch_size=4, decoding=retrain_config.eval.decoding),
        canaries=retrain_config.gate.canaries,
        facts=FactsConfig(file=write_facts(tmp_path / "facts.jsonl", QUESTIONS[:1])),
        facts_database=str(tmp_path / "gone" / "scratch.sqlite"),  # no such database
    )
    result = run_job(spec)
    assert result.facts == {} and result.facts_error
    assert "candidate" in result.eval
