"""``python -m bench``: list uttor's benchmarks, run some or all of them, collect the figures.

Usage, from the repository root::

    python -m bench                      # list the benchmarks and what each measures
    python -m bench run                  # run every benchmark at its default size, in turn
    python -m bench run --quick          # every benchmark at a small size (about 2 minutes)
    python -m bench run load ingest      # only these
    python -m bench run --json > b.json  # one JSON object: {name: that benchmark's figures}
    python -m bench load --responder instant --db postgres   # one benchmark, its own options

Each benchmark runs in its own process (a clean heap for peak RSS, its own torch threads) as
``python bench/<script>.py``; a failure is reported and the others still run. Benchmarks that
need the starter model find it under ``UTTOR_HOME`` (run ``uttor init`` first).
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Benchmark:
    """One benchmark: its script, what it measures, its quick-size options."""

    name: str
    script: str
    measures: str
    quick: tuple[str, ...] = ()
    args: tuple[str, ...] = ()
    json: bool = True
    """Whether the script takes ``--json`` (and prints one JSON object)."""
    needs_model: bool = False


BENCHMARKS = (
    Benchmark(
        "lang",
        "lang.py",
        "language routing (messages/s, µs per message) and Bangla ROUGE scoring (pairs/s)",
        quick=("--repeat", "2"),
    ),
    Benchmark(
        "lang-accuracy",
        "lang_accuracy.py",
        "routing accuracy and confusion matrix on the evaluation set (not a speed figure)",
        json=False,
    ),
    Benchmark(
        "generation",
        "generation.py",
        "generation: batched vs one at a time, pipeline vs bare generate, peak RSS",
        quick=("--requests", "8"),
        needs_model=True,
    ),
    Benchmark(
        "load",
        "load.py",
        "load test: the bot under Poisson arrivals, messages/s held, p50/p95/p99, none lost",
        quick=("--customers", "20", "--messages", "5"),
        needs_model=True,
    ),
    Benchmark(
        "load-instant",
        "load.py",
        "load test with the model replaced by an instant responder (bot + storage path)",
        quick=("--customers", "20", "--messages", "5"),
        args=("--responder", "instant", "--rate", "12"),
    ),
    Benchmark(
        "ingest",
        "ingest.py",
        "logging path into SQLite and PostgreSQL (messages/s, instant responder)",
        quick=("--messages", "300"),
    ),
    Benchmark(
        "retrieval",
        "retrieval.py",
        "retrieval recall@1/@3 per register, false reuse on the probe set, p50 at 10,000 "
        "entries, pipeline vs bare generate",
        quick=("--requests", "8"),
        needs_model=True,
    ),
    Benchmark(
        "backends",
        "backends.py",
        "vLLM backend vs local through the whole pipeline at 1/16/64 chats (needs .venv-vllm)",
        quick=("--requests", "16", "--rounds", "1"),
        needs_model=True,
    ),
    Benchmark(
        "retrain",
        "retrain.py",
        "QLoRA training tokens/s on the starter model; seed-table run with --seed-table",
        quick=("--pairs", "48"),
        needs_model=True,
    ),
)
BY_NAME = {b.name: b for b in BENCHMARKS}


def listing() -> str:
    lines = ["uttor benchmarks (python -m bench run [NAME...] [--quick] [--json]):", ""]
    for b in BENCHMARKS:
        model = "  [starter model]" if b.needs_model else ""
        lines.append(f"  {b.name:<14} {b.measures}{model}")
        lines.append(f"  {'':<14} python bench/{b.script} {' '.join(b.args)}".rstrip())
    lines += ["", "Figures, machine and exact commands: BENCHMARKS.md."]
    return "\n".join(lines)


def command(b: Benchmark, *, quick: bool, as_json: bool, extra: list[str]) -> list[str]:
    argv = [sys.executable, str(BENCH_DIR / b.script), *b.args]
    if quick:
        argv += b.quick
    if as_json and b.json:
        argv.append("--json")
    return argv + extra


def run(names: list[str], *, quick: bool, as_json: bool) -> int:
    """Run the named benchmarks (all when none); returns 1 when any failed."""
    chosen = [BY_NAME[n] for n in names] if names else list(BENCHMARKS)
    collected: dict[str, object] = {}
    failed = []
    for b in chosen:
        if as_json and not b.json:
            continue
        argv = command(b, quick=quick, as_json=as_json, extra=[])
        print(f"== {b.name}: {' '.join(argv[1:])}", file=sys.stderr if as_json else sys.stdout)
        sys.stdout.flush()
        if as_json:
            done = subprocess.run(argv, stdout=subprocess.PIPE, text=True)
            lines = done.stdout.strip().splitlines()
            try:
                collected[b.name] = json.loads(lines[-1]) if lines else None
            except json.JSONDecodeError:
                collected[b.name] = {"output": done.stdout[-2000:]}
        else:
            done = subprocess.run(argv)
        if done.returncode != 0:
            failed.append(b.name)
    if as_json:
        collected["failed"] = failed
        print(json.dumps(collected, ensure_ascii=False))
    elif failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("list", "-h", "--help"):
        print(listing())
        return 0
    if argv[0] == "run":
        options = {"--quick", "--json"}
        names = [a for a in argv[1:] if a not in options]
        unknown = [n for n in names if n not in BY_NAME]
        if unknown:
            print(f"unknown benchmark(s): {', '.join(unknown)}\n\n{listing()}", file=sys.stderr)
            return 2
        return run(names, quick="--quick" in argv, as_json="--json" in argv)
    if argv[0] in BY_NAME:
        b = BY_NAME[argv[0]]
        return subprocess.run(command(b, quick=False, as_json=False, extra=argv[1:])).returncode
    print(f"unknown command {argv[0]!r}\n\n{listing()}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
