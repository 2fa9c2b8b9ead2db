"""Benchmark retrieval: recall per register, facts stated, false reuse, latency, pipeline cost.

Usage, from the repository root::

    python bench/retrieval.py                    # everything but the model part
    python bench/retrieval.py --model DIR        # also pipeline vs bare generate on DIR
    python bench/retrieval.py --json             # one JSON object

What it measures, with the serving defaults (:class:`model.config.MemoryConfig`):

* **recall@1 / @3 per register**: the knowledge base is the shipped training pairs
  (``training/data/src/*.jsonl``, ``split=train``, with their topics); the questions are the
  held-out ones, never in it: the pairs with ``split=test`` (``mytest.json``) and the fact
  questions of ``training/data/facts.jsonl`` (its ``tune``, ``unseen`` and ``fresh`` splits
  apart). A question is recalled at k when its topic is among the k topics voted first.
* **knowledge answers to fact questions**: what the pipeline would send for each question of
  ``facts.jsonl`` in its register without the model, split by split: a stored answer that
  states the fact (its ``must`` patterns), one that contradicts it, one that misses it, or
  none (the model or the unsure note answers). This is the retrieval share of fact accuracy.
* **false reuse** on ``training/data/reuse_probes.jsonl``: each probe's stored question and
  answer is added to the knowledge base, once as an agent's correction and once as a
  knowledge entry; a probe whose new question gets the stored answer although it differs
  (negation, amount, order id, phone, place, product) is a false reuse. The positive controls
  (``differs_by: none``) should get it.
* **latency at 10,000 entries**: the knowledge base grown to ``--entries`` by combining real
  entries (the first half of one question with the second half of another of the same
  register and topic); p50/p95 of one lookup (:func:`model.grounding.ground`), the time to
  build the index, and one 10,000-character question.
* **pipeline vs bare generate** (``--model``): the whole pipeline on a fresh SQLite database
  holding the shipped knowledge base, configured so that the model answers every question
  with the related entries in its prompt, against a bare ``model.generate`` of the very
  prompt that pipeline stored, alternating question by question (as ``bench/generation.py``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))  # runs from a checkout without installing

from model.config import MemoryConfig  # noqa: E402
from model.grounding import ground, vote_topics  # noqa: E402
from model.retrieval import Entry, RetrievalIndex  # noqa: E402
from model.text.languages import REGISTERS  # noqa: E402
from training.data import SOURCES_DIR  # noqa: E402
from training.data.factset import SPLITS, load_facts, load_probes  # noqa: E402


def source_rows() -> list[dict[str, str]]:
    return [
        json.loads(line)
        for path in sorted(SOURCES_DIR.glob("*.jsonl"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]


def knowledge() -> list[Entry]:
    return [
        Entry(r["text"], r["completion"], r["register"], r["topic"])
        for r in source_rows()
        if r["split"] == "train"
    ]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))]


def recall(index: RetrievalIndex, questions: list[tuple[str, str, str]]) -> dict[str, Any]:
    """recall@1 and @3 per register of (question, register, topic)."""
    hits: dict[str, Counter[str]] = defaultdict(Counter)
    for question, register, topic in questions:
        voted = [t for t, _ in vote_topics(index, question)]
        count = hits[register]
        count["n"] += 1
        count["at1"] += voted[:1] == [topic]
        count["at3"] += topic in voted[:3]
    return {
        register: {
            "n": c["n"],
            "recall@1": round(c["at1"] / c["n"], 3),
            "recall@3": round(c["at3"] / c["n"], 3),
        }
        for register, c in sorted(hits.items(), key=lambda item: REGISTERS.index(item[0]))
    }


def fact_answers(index: RetrievalIndex, config: MemoryConfig, split: str) -> dict[str, Any]:
    """Per register: how the stored answer the pipeline would send fares on each fact of
    ``split`` (apart: the splits nobody tunes on are read as totals only)."""
    tally: dict[str, Counter[str]] = defaultdict(Counter)
    for fact in load_facts():
        if fact.split != split:
            continue
        found = ground(index, fact.question, fact.register, config)
        count = tally[fact.register]
        count["n"] += 1
        if found.answer is None:
            count["none"] += 1
        elif fact.contradicted(found.answer):
            count["contradicted"] += 1
        elif fact.passes(found.answer):
            count["right"] += 1
            count["in_register"] += (
                found.entry is not None and found.entry.register == fact.register
            )
        else:
            count["missed"] += 1
    return {
        register: {
            "n": c["n"],
            "right": round(c["right"] / c["n"], 3),
            "contradicted": round(c["contradicted"] / c["n"], 3),
            "missed": round(c["missed"] / c["n"], 3),
            "no_stored_answer": round(c["none"] / c["n"], 3),
            "right_in_register": round(c["in_register"] / c["n"], 3),
        }
        for register, c in sorted(tally.items(), key=lambda item: REGISTERS.index(item[0]))
    }


def false_reuse(base: list[Entry], config: MemoryConfig) -> dict[str, Any]:
    """False reuse and reused controls on the probe set, the stored pair as either origin."""
    probes = load_probes()
    results: dict[str, Any] = {"probes": sum(not p.should_reuse for p in probes)}
    results["controls"] = len(probes) - results["probes"]
    for origin in ("correction", "knowledge"):
        false, controls = [], 0
        for probe in probes:
            stored = Entry(probe.stored_question, probe.stored_answer, probe.register, None, origin)
            found = ground(
                RetrievalIndex([*base, stored]), probe.probe_question, probe.register, config
            )
            reused = found.answer == probe.stored_answer
            if reused and not probe.should_reuse:
                false.append(probe.id)
            controls += reused and probe.should_reuse
        results[origin] = {
            "false_reuse": len(false),
            "false_ids": false,
            "controls_reused": controls,
        }
    return results


def grown(base: list[Entry], size: int, seed: int = 12) -> list[Entry]:
    """``base`` and combinations of its entries, ``size`` in all."""
    rng = random.Random(seed)
    groups: dict[tuple[str | None, str | None], list[Entry]] = defaultdict(list)
    for entry in base:
        groups[(entry.register, entry.topic)].append(entry)
    keys = sorted(groups, key=str)
    entries = list(base)
    while len(entries) < size:
        first, second = rng.sample(groups[rng.choice(keys)], 2)
        head, tail = first.question.split(), second.question.split()
        question = " ".join(head[: max(1, len(head) // 2)] + tail[len(tail) // 2 :])
        entries.append(replace(first, question=question))
    return entries


def latency(base: list[Entry], size: int, config: MemoryConfig) -> dict[str, Any]:
    entries = grown(base, size)
    started = time.perf_counter()
    index = RetrievalIndex(entries)
    build_s = time.perf_counter() - started
    questions = [(r["text"], r["register"]) for r in source_rows() if r["split"] == "test"]
    questions += [(f.question, f.register) for f in load_facts()]
    passes: list[list[float]] = []
    for _ in range(2):
        # The first pass also computes the answers' features of the entries it ranks (once
        # per entry in a process's life); the second is what a running bot sees.
        timings = []
        for question, register in questions:
            started = time.perf_counter()
            ground(index, question, register, config)
            timings.append((time.perf_counter() - started) * 1000)
        passes.append(timings)
    first, timings = passes
    long_question = ("amar order ta kobe ashbe, refund o pai nai, ki korbo? " * 200)[:10_000]
    started = time.perf_counter()
    ground(index, long_question, "banglish", config)
    long_ms = (time.perf_counter() - started) * 1000
    return {
        "entries": len(entries),
        "lookups": len(timings),
        "p50_ms": round(statistics.median(timings), 2),
        "p95_ms": round(percentile(timings, 0.95), 2),
        "first_pass_p50_ms": round(statistics.median(first), 2),
        "first_pass_p95_ms": round(percentile(first, 0.95), 2),
        "build_s": round(build_s, 2),
        "question_10000_chars_ms": round(long_ms, 1),
    }


def pipeline_vs_bare(model_dir: str, count: int) -> dict[str, Any]:
    """The pipeline with the shipped knowledge base (model answers, entries in its prompt)
    against a bare generate of the prompt it stored, alternating (see the module doc)."""
    import torch

    from bench.generation import QUESTIONS, bare_generate
    from migrations.runner import upgrade
    from model.config import LoadConfig, PipelineConfig, PromptConfig, ServiceConfig
    from model.loading import load_base
    from model.memory import CorrectionMemory
    from model.pipeline import Pipeline
    from model.service import GenerationService
    from model.starter import is_starter_model
    from operations.knowledge import load_shipped_knowledge
    from storage.conversations import upsert_chat, upsert_customer
    from storage.db import Database
    from storage.models import BotReply

    loaded = load_base(LoadConfig(model_dir))
    compact = is_starter_model(Path(model_dir))
    # No stored answer is ever confident enough: every question reaches the model, with the
    # related entries in its prompt, which is the path whose cost is measured here.
    memory = MemoryConfig(knowledge_threshold=9.0, threshold=2.0)
    config = PipelineConfig(prompt=PromptConfig(history_tokens=0), unsure="model", related="model")

    async def run() -> tuple[list[float], list[float], int]:
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite:///{Path(folder) / 'bench.db'}"
            upgrade(url)
            database = Database(url)
            load_shipped_knowledge(database)
            with database.write() as session:
                customer = upsert_customer(session, telegram_user_id=1)
                chat_id = upsert_chat(session, telegram_chat_id=1, customer_id=customer.id).id
                customer_id = customer.id
            service = GenerationService(loaded, ServiceConfig())
            generation_config = service.generation_config()
            pipeline = Pipeline(
                database,
                service,
                CorrectionMemory(database, memory),
                config,
                compact_prompt=compact,
            )
            piped, bare, grounded = [], [], 0
            async with pipeline:
                await pipeline.answer(chat_id=chat_id, customer_id=customer_id, text="warm up")
                for number in range(count):
                    question, _ = QUESTIONS[number % len(QUESTIONS)]
                    started = time.perf_counter()
                    reply = await pipeline.answer(
                        chat_id=chat_id, customer_id=customer_id, text=question
                    )
                    piped.append((time.perf_counter() - started) * 1000)
                    if reply.source != "model":
                        raise RuntimeError(f"expected a model reply, got {reply.source}")
                    with database.read() as session:
                        prompt = session.get(BotReply, reply.reply_id).prompt  # type: ignore[union-attr]
                    grounded += "Known answers:" in prompt or "has answered before" in prompt
                    bare.append(bare_generate(loaded, generation_config, prompt))
            database.dispose()
        return piped, bare, grounded

    piped, bare, grounded = asyncio.run(run())
    return {
        "model": model_dir,
        "threads": torch.get_num_threads(),
        "replies": len(piped),
        "prompts_with_entries": grounded,
        "pipeline_p50_ms": round(statistics.median(piped), 1),
        "bare_generate_p50_ms": round(statistics.median(bare), 1),
        "pipeline_over_bare": round(
            statistics.median(p / b for p, b in zip(piped, bare, strict=True)), 3
        ),
    }


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def run(args: argparse.Namespace) -> dict[str, Any]:
    config = MemoryConfig()
    base = knowledge()
    index = RetrievalIndex(base)
    rows = source_rows()
    facts = load_facts()
    results: dict[str, Any] = {
        "date": date.today().isoformat(),
        "cpu": cpu_name(),
        "cpus": os.cpu_count(),
        "load_average_start": round(os.getloadavg()[0], 2),
        "knowledge_entries": len(base),
        "recall": {
            "held_out_pairs": recall(
                index,
                [(r["text"], r["register"], r["topic"]) for r in rows if r["split"] == "test"],
            ),
            **{
                f"facts_{split}": recall(
                    index, [(f.question, f.register, f.topic) for f in facts if f.split == split]
                )
                for split in SPLITS
            },
        },
        "fact_answers": {split: fact_answers(index, config, split) for split in SPLITS},
        "false_reuse": false_reuse(base, config),
        "latency": latency(base, args.entries, config),
    }
    if args.model:
        results["pipeline"] = pipeline_vs_bare(args.model, args.requests)
    results["load_average_end"] = round(os.getloadavg()[0], 2)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=10_000, help="entries for the latency")
    parser.add_argument("--model", help="model directory: also measure pipeline vs bare generate")
    parser.add_argument("--requests", type=int, default=32, help="replies in the model part")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    results = run(args)
    print(json.dumps(results, ensure_ascii=False, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
