"""Benchmark generation: batching, pipeline overhead and memory, on the configured base model.

Usage, from the repository root (after ``uttor init``, which builds the starter model)::

    python bench/generation.py                      # the starter model under ./var/models
    python bench/generation.py --model DIR          # any local causal LM
    python bench/generation.py --requests 32 --json # more requests, one JSON object
    python bench/generation.py --markdown           # the table for BENCHMARKS.md

What it measures, with the serving defaults (NF4, greedy, the service's max new tokens):

* **batched vs one-at-a-time**: ``C`` concurrent chats (C = 1, 4, 16) each send messages one
  after another until ``--requests`` replies are done, through the generation service with
  ``max_batch=16`` (batched) and with ``max_batch=1`` (one at a time). Replies/s and p50/p95
  latency per reply (queueing included).
* **pipeline vs bare generate**: one chat at a time, the full pipeline (routing, storage in a
  fresh SQLite database, memory lookup, prompt, service, storage) against a bare
  ``model.generate`` on the same prompt (tokenize, generate, decode), alternating question by
  question. p50 latency of each, the median ratio of the pairs, and the pipeline's own time
  per answer (its latency minus the time its request spent in the generation service).
* **peak RSS** of the process (``ru_maxrss``) at the end.

Questions rotate over the four registers; none is in memory (the database is empty), so every
pipeline reply comes from the model. Targets on the 2-core machine with the default starter
model: batched replies/s at 16 chats >= 3x one-at-a-time; pipeline p50 <= 1.10x bare
generate; peak RSS <= 2 GiB.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))  # runs from a checkout without installing

import torch  # noqa: E402

from bench.machine import add_output_flags, print_results  # noqa: E402
from model.config import LoadConfig, PipelineConfig, PromptConfig, ServiceConfig  # noqa: E402
from model.loading import LoadedModel, load_base  # noqa: E402
from model.prompting import build_prompt  # noqa: E402
from model.starter import default_model_dir, is_starter_model  # noqa: E402

QUESTIONS = [
    ("আমার অর্ডারটা এখন কোথায় আছে?", "bn"),
    ("How can I change my delivery address?", "en"),
    ("vai amar parcel ta ekhono ashe nai keno?", "banglish"),
    ("আমার payment টা fail হয়েছে কিন্তু টাকা কেটে গেছে", "mixed"),
    ("পণ্য ফেরত দিতে চাইলে কী করতে হবে?", "bn"),
    ("Can I pay cash when the parcel arrives?", "en"),
    ("recharge korsi kintu balance ashe nai", "banglish"),
    ("আমার account এ login করতে পারছি না", "mixed"),
]
CONCURRENCY = (1, 4, 16)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


def summary(latencies_ms: list[float], seconds: float) -> dict[str, float]:
    return {
        "replies_per_s": round(len(latencies_ms) / seconds, 2),
        "p50_ms": round(statistics.median(latencies_ms), 1),
        "p95_ms": round(percentile(latencies_ms, 0.95), 1),
    }


def prompts(loaded: LoadedModel, compact: bool) -> list[str]:
    config = PromptConfig()
    return [
        build_prompt(q, language=lang, tokenizer=loaded.tokenizer, config=config, compact=compact)
        for q, lang in QUESTIONS
    ]


async def service_run(
    loaded: LoadedModel, config: ServiceConfig, texts: list[str], chats: int, requests: int
) -> dict[str, float]:
    """``chats`` concurrent chats, each waiting for its reply before sending the next."""
    from model.service import GenerationService

    latencies: list[float] = []
    per_chat = max(1, requests // chats)

    async def chat(number: int) -> None:
        for turn in range(per_chat):
            text = texts[(number * per_chat + turn) % len(texts)]
            started = time.perf_counter()
            await service.generate(text)
            latencies.append((time.perf_counter() - started) * 1000)

    async with GenerationService(loaded, config) as service:
        await service.generate(texts[0])  # warm-up: first-call allocations
        started = time.perf_counter()
        await asyncio.gather(*(chat(n) for n in range(chats)))
        seconds = time.perf_counter() - started
        batches = list(service.batch_sizes)[1:]
    result = summary(latencies, seconds)
    result["mean_batch"] = round(statistics.mean(batches), 2)
    return result


def bare_generate(loaded: LoadedModel, generation_config: Any, text: str) -> float:
    """Milliseconds of tokenize + ``model.generate`` + decode for one prompt, nothing else."""
    tokenizer = loaded.tokenizer
    started = time.perf_counter()
    with torch.inference_mode():
        encoded = tokenizer(text, add_special_tokens=False, return_tensors="pt")
        output = loaded.model.generate(**encoded, generation_config=generation_config)
        tokenizer.decode(output[0, encoded["input_ids"].shape[1] :], skip_special_tokens=True)
    return (time.perf_counter() - started) * 1000


async def pipeline_vs_bare(
    loaded: LoadedModel, config: ServiceConfig, compact: bool, count: int
) -> tuple[list[float], list[float], list[float]]:
    """Latencies of ``Pipeline.answer`` (fresh SQLite database), of a bare generate, and the
    pipeline's own share of each answer (its latency minus the time spent in the service).

    The two alternate question by question, so a change in the machine's load hits both.
    """
    from migrations.runner import upgrade
    from model.memory import CorrectionMemory
    from model.pipeline import Pipeline
    from model.service import GenerationService
    from storage.conversations import upsert_chat, upsert_customer
    from storage.db import Database

    prompt_config = PromptConfig(history_tokens=0)  # the bare run sends no history either
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        upgrade(url)
        database = Database(url)
        with database.write() as session:
            customer = upsert_customer(session, telegram_user_id=1)
            chat_id = upsert_chat(session, telegram_chat_id=1, customer_id=customer.id).id
            customer_id = customer.id
        service = GenerationService(loaded, config)
        pipeline = Pipeline(
            database,
            service,
            CorrectionMemory(database),
            PipelineConfig(prompt=prompt_config),
            compact_prompt=compact,
        )
        generation_config = service.generation_config()
        piped, bare, inside = [], [], []
        generate = service.generate

        async def timed_generate(prompt: str, **kwargs: Any) -> Any:
            # Time spent in the service (queueing + batched generate), to isolate the
            # pipeline's own overhead (routing, storage, memory, prompt) from the model's.
            started = time.perf_counter()
            try:
                return await generate(prompt, **kwargs)
            finally:
                inside.append((time.perf_counter() - started) * 1000)

        service.generate = timed_generate  # type: ignore[method-assign]
        async with pipeline:
            await pipeline.answer(chat_id=chat_id, customer_id=customer_id, text="warm up")
            for index in range(count):
                question, language = QUESTIONS[index % len(QUESTIONS)]
                started = time.perf_counter()
                reply = await pipeline.answer(
                    chat_id=chat_id, customer_id=customer_id, text=question
                )
                piped.append((time.perf_counter() - started) * 1000)
                if reply.source != "model":  # a fallback took no model time: not comparable
                    raise RuntimeError(f"expected a model reply, got {reply.source}: {reply}")
                prompt = build_prompt(
                    question,
                    language=language,
                    tokenizer=loaded.tokenizer,
                    config=prompt_config,
                    compact=compact,
                )
                bare.append(bare_generate(loaded, generation_config, prompt))
        database.dispose()
    overhead = [total - model for total, model in zip(piped, inside[1:], strict=True)]
    return piped, bare, overhead


def run(args: argparse.Namespace) -> dict[str, Any]:
    model_dir = args.model or os.environ.get("UTTOR_BASE_MODEL")
    if model_dir is None:
        home = Path(os.environ.get("UTTOR_HOME", "var"))
        found = default_model_dir(home / "models")
        if found is None:
            sys.exit("no model: run `uttor init` first, or pass --model DIR")
        model_dir = str(found)
    if args.threads:
        torch.set_num_threads(args.threads)
    started = time.perf_counter()
    loaded = load_base(LoadConfig(model_dir, quantization=args.quantization))
    load_s = time.perf_counter() - started
    compact = is_starter_model(Path(model_dir))
    base = ServiceConfig()
    if args.max_new_tokens:
        base = replace(base, decoding=replace(base.decoding, max_new_tokens=args.max_new_tokens))
    texts = prompts(loaded, compact)

    results: dict[str, Any] = {
        "model": model_dir,
        # num_parameters counts a 4-bit weight once per value, not per packed byte.
        "parameters": loaded.model.num_parameters(),
        "quantization": args.quantization,
        "threads": torch.get_num_threads(),
        "max_new_tokens": base.decoding.max_new_tokens,
        "load_s": round(load_s, 2),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.python_version()}",
        "date": date.today().isoformat(),
        "load_average_start": round(os.getloadavg()[0], 2),
        "concurrency": {},
    }
    batched = replace(base, max_batch=16)
    sequential = replace(base, max_batch=1, max_wait_ms=0)
    # A throwaway pass over every prompt: the first measurement of a process otherwise pays
    # for one-off allocations (about a third slower in our runs, whichever mode came first).
    asyncio.run(service_run(loaded, sequential, texts, 1, len(texts)))
    for chats in CONCURRENCY:
        requests = max(args.requests, chats)
        results["concurrency"][chats] = {
            "batched": asyncio.run(service_run(loaded, batched, texts, chats, requests)),
            "one_at_a_time": asyncio.run(service_run(loaded, sequential, texts, chats, requests)),
        }
    count = max(16, args.requests)
    piped, bare, overhead = asyncio.run(pipeline_vs_bare(loaded, base, compact, count))
    results["pipeline_overhead_p50_ms"] = round(statistics.median(overhead), 1)
    results["bare_generate_p50_ms"] = round(statistics.median(bare), 1)
    results["pipeline_p50_ms"] = round(statistics.median(piped), 1)
    # Each pipeline answer is paired with the bare generate run right after it on the same
    # question, so the median of the pairs' ratios is robust to the machine's load drifting.
    results["pipeline_over_bare"] = round(
        statistics.median(p / b for p, b in zip(piped, bare, strict=True)), 3
    )
    sixteen = results["concurrency"][16]
    results["batched_speedup_16"] = round(
        sixteen["batched"]["replies_per_s"] / sixteen["one_at_a_time"]["replies_per_s"], 2
    )
    results["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    results["load_average_end"] = round(os.getloadavg()[0], 2)
    return results


def markdown(results: dict[str, Any]) -> str:
    lines = [
        f"Model `{results['model']}` ({results['parameters']:,} parameters, "
        f"{results['quantization']}), torch threads: {results['threads']}, greedy, at most "
        f"{results['max_new_tokens']} new tokens; {results['machine']}; {results['date']}; "
        f"1-minute load average {results['load_average_start']} at start, "
        f"{results['load_average_end']} at the end (other jobs shared the machine).",
        "",
        "| chats | mode | replies/s | p50 ms | p95 ms | mean batch |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    for chats, modes in results["concurrency"].items():
        for mode, row in modes.items():
            lines.append(
                f"| {chats} | {mode.replace('_', '-')} | {row['replies_per_s']} | {row['p50_ms']} "
                f"| {row['p95_ms']} | {row['mean_batch']} |"
            )
    lines += [
        "",
        f"- batched / one-at-a-time at 16 chats: **{results['batched_speedup_16']}x** "
        "(target >= 3x)",
        f"- pipeline p50 {results['pipeline_p50_ms']} ms vs bare `model.generate` p50 "
        f"{results['bare_generate_p50_ms']} ms; median ratio of paired runs "
        f"**{results['pipeline_over_bare']}x** (target <= 1.10x); the pipeline's own work "
        "(routing, storage, memory, prompt) "
        f"p50 {results['pipeline_overhead_p50_ms']} ms per answer",
        f"- peak RSS: **{results['peak_rss_mib']} MiB** (target <= 2048 MiB); model load "
        f"{results['load_s']} s",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="model directory (default: the starter model)")
    parser.add_argument("--quantization", choices=("nf4", "none"), default="nf4")
    parser.add_argument("--requests", type=int, default=32, help="replies per measurement")
    parser.add_argument("--max-new-tokens", type=int, help="override the serving default")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
    add_output_flags(parser)
    args = parser.parse_args(argv)
    print_results(run(args), args, markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
