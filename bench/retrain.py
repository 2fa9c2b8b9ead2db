"""Retrain throughput: QLoRA training tokens/s on the starter model, and the seed-table run.

Usage, from the repository root (after ``uttor init``, which builds the starter model)::

    python bench/retrain.py                          # 192 pairs, 1 epoch: about a minute
    python bench/retrain.py --pairs 960 --epochs 8   # training as in the full run (its epochs)
    python bench/retrain.py --seed-table             # the whole seed-table run, timed
    python bench/retrain.py --model DIR --json

The short run trains a LoRA adapter exactly as the nightly job does
(:func:`training.train.train_adapter`: serving prompts, NF4 base, the seed paper's LoRA with
the default targets, the job's thread count of all cores but one) on a seeded sample of
``mydata.json`` across all four registers, and reports training tokens/s (prompt and answer
tokens, no padding), seconds per step and peak RSS. From the token count of the whole
``mydata.json`` it also projects the training time of the full run (an estimate, labelled so).

``--seed-table`` times the real thing: ``uttor init`` and ``uttor retrain --force --json`` in a
fresh ``UTTOR_HOME`` on the same base model, that is training on all 960 shipped pairs, then
ROUGE of the base model and of the candidate on the 240 held-out pairs (the seed paper's
Table I), the gate and the report. It takes tens of minutes on a 2-core CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))  # runs from a checkout without installing

from bench.machine import (  # noqa: E402
    load_average,
    machine,
    machine_line,
    peak_rss_mib,
    quiet_transformers,
)

SEED_TABLE_COMMAND = (
    "UTTOR_HOME=$(mktemp -d) UTTOR_BASE_MODEL=<starter dir> "
    "sh -c 'uttor init && time uttor retrain --force --json'"
)


def resolve_model(explicit: str | None) -> str:
    """``--model``, else ``UTTOR_BASE_MODEL``, else the starter model under ``UTTOR_HOME``."""
    from model.errors import NoBaseModel
    from wiring.configs import resolve_base_model
    from wiring.settings import Settings

    if explicit:
        return explicit
    try:
        return resolve_base_model(Settings())
    except NoBaseModel as exc:
        raise SystemExit(str(exc)) from exc


def sample(pairs: list[dict[str, str]], count: int, seed: int) -> list[dict[str, str]]:
    """``count`` pairs drawn without replacement (all of them when ``count`` is larger)."""
    if count >= len(pairs):
        return list(pairs)
    return random.Random(seed).sample(pairs, count)


def short_run(args: argparse.Namespace, model: str) -> dict[str, Any]:
    """Train on a sample, return throughput figures and the projection for all pairs."""
    import torch

    from model.config import LoadConfig, PromptConfig
    from model.loading import load_base
    from model.starter import is_starter_model
    from training.config import TrainConfig
    from training.data import TRAIN_FILE, load_pairs
    from training.job import default_threads
    from training.train import encode_pairs, train_adapter

    quiet_transformers()
    threads = args.threads or default_threads()
    torch.set_num_threads(threads)
    everything = load_pairs(TRAIN_FILE)
    pairs = sample(everything, args.pairs, args.seed)
    config = TrainConfig(epochs=args.epochs, threads=threads)
    compact = is_starter_model(Path(model))
    started = time.perf_counter()
    loaded = load_base(LoadConfig(model, quantization=args.quantization))
    load_s = time.perf_counter() - started
    with tempfile.TemporaryDirectory(prefix="uttor-bench-adapter-") as folder:
        result = train_adapter(loaded, pairs, Path(folder) / "adapter", config, compact=compact)
    # Tokens of one epoch over every shipped pair, as the full run would see them.
    examples, _ = encode_pairs(
        everything,
        loaded.tokenizer,
        compact=compact,
        max_length=config.max_length,
        prompt=PromptConfig(),
    )
    full_epochs = TrainConfig().epochs
    full_tokens = sum(len(e.input_ids) for e in examples) * full_epochs
    tokens_per_s = result.tokens_per_s
    return {
        "pairs": len(pairs),
        "epochs": args.epochs,
        "batch_size": config.batch_size,
        "threads": threads,
        "quantization": args.quantization,
        "load_s": round(load_s, 2),
        "steps": result.steps,
        "tokens": result.tokens,
        "train_s": result.seconds,
        "tokens_per_s": round(tokens_per_s, 1),
        "s_per_step": round(result.seconds / max(result.steps, 1), 3),
        "examples_per_s": round(result.examples * args.epochs / max(result.seconds, 1e-9), 2),
        "final_loss": result.final_loss,
        "trainable_parameters": result.trainable_parameters,
        "full_run_pairs": len(everything),
        "full_run_epochs": full_epochs,
        "full_run_tokens": full_tokens,
        "projected_full_training_s": round(full_tokens / tokens_per_s) if tokens_per_s else None,
    }


def seed_table_run(model: str) -> dict[str, Any]:
    """``uttor init`` + ``uttor retrain --force --json`` in a fresh home, timed."""
    with tempfile.TemporaryDirectory(prefix="uttor-seed-table-") as home:
        env = {**os.environ, "UTTOR_HOME": home, "UTTOR_BASE_MODEL": model}
        env.pop("UTTOR_DATABASE_URL", None)  # the fresh home's own SQLite database
        uttor = [sys.executable, "-m", "cli.main"]
        subprocess.run([*uttor, "init", "--json"], env=env, check=True, capture_output=True)
        started = time.perf_counter()
        done = subprocess.run(
            [*uttor, "retrain", "--force", "--json"],
            env=env,
            capture_output=True,
            text=True,
            cwd=REPO,
        )
        wall_s = time.perf_counter() - started
    outcome: dict[str, Any] = {}
    if done.stdout.strip():
        try:
            outcome = json.loads(done.stdout.strip().splitlines()[-1])
        except json.JSONDecodeError:
            outcome = {"stdout": done.stdout[-2000:]}
    from dataclasses import asdict

    from training.config import TrainConfig

    return {
        # The child runs this same checkout, so these are the defaults it trained with.
        "train_config": asdict(TrainConfig()),
        "wall_s": round(wall_s, 1),
        "exit_code": done.returncode,
        "status": outcome.get("status"),
        "decision": outcome.get("decision"),
        "metrics": outcome.get("metrics"),
        "stderr_tail": done.stderr[-1500:] if done.returncode else "",
    }


def report(figures: dict[str, Any]) -> str:
    lines = [f"retrain (model {figures['model']})"]
    if "short" in figures:
        s = figures["short"]
        lines += [
            f"  short run       {s['pairs']} pairs x {s['epochs']} epoch(s), batch "
            f"{s['batch_size']}, {s['threads']} thread(s), {s['quantization']}: {s['steps']} "
            f"steps, {s['tokens']} tokens in {s['train_s']} s",
            f"  throughput      {s['tokens_per_s']} training tokens/s, {s['s_per_step']} s/step, "
            f"{s['examples_per_s']} examples/s (final loss {s['final_loss']})",
            f"  full run        {s['full_run_tokens']} tokens ({s['full_run_pairs']} pairs x "
            f"{s['full_run_epochs']} epochs): about "
            f"{s['projected_full_training_s']} s of training, projected from this rate",
            f"  LoRA            {s['trainable_parameters']:,} trainable parameters; model "
            f"load {s['load_s']} s",
        ]
    if "seed_table" in figures:
        t = figures["seed_table"]
        c = t["train_config"]
        lines.append(
            f"  seed-table run  {t['wall_s']} s wall, exit {t['exit_code']}, status "
            f"{t['status']}, decision {t['decision']} ({c['epochs']} epochs, batch "
            f"{c['batch_size']}, learning rate {c['learning_rate']})"
        )
        if t.get("metrics"):
            lines.append(f"  ROUGE           {json.dumps(t['metrics'])}")
    else:
        lines.append(f"  seed-table run  not run here; time it with: {SEED_TABLE_COMMAND}")
        lines.append("                  (or: python bench/retrain.py --seed-table)")
    lines.append(f"  peak RSS        {figures['peak_rss_mib']} MiB")
    lines.append(
        f"  machine         {machine_line(figures['machine'])} "
        f"(end {figures['load_average_end'][0]})"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="base model directory (default: the starter model)")
    parser.add_argument("--quantization", choices=("nf4", "none"), default="nf4")
    parser.add_argument("--pairs", type=int, default=192, help="training pairs (192 of 960)")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--threads", type=int, help="default: all cores but one, as the job")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--seed-table", action="store_true", help="time the full run instead")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    model = resolve_model(args.model)
    figures: dict[str, Any] = {
        "benchmark": "retrain",
        "model": model,
        "machine": machine(),
        "command": "python bench/retrain.py " + " ".join(sys.argv[1:] if argv is None else argv),
    }
    if args.seed_table:
        figures["seed_table"] = seed_table_run(model)
    else:
        figures["short"] = short_run(args, model)
    figures["peak_rss_mib"] = peak_rss_mib()
    figures["load_average_end"] = load_average()
    print(json.dumps(figures, ensure_ascii=False) if args.json else report(figures))
    failed = args.seed_table and figures["seed_table"]["exit_code"] != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
