"""The starter model: a small Llama pretrained on the shipped corpus, so uttor runs offline.

``uttor init`` builds it when no base model is configured. The recipe, top to bottom:

1. read the corpus (``*.txt``; documents separated by blank lines; a document whose lines all
   start with ``Customer:``/``Agent:`` or ``গ্রাহক:``/``এজেন্ট:`` is a dialogue);
2. train a byte-level BPE tokenizer on it (every byte has a token, so no text is ever
   unknown; the pre-tokenizer keeps Bengali vowel signs inside their word);
3. write every dialogue in the serving prompt format (:mod:`model.prompting`), with the
   compact system prompt and the reply-language instruction of its register, so the model
   learns to answer after ``[/INST]`` in the register of the question;
4. pretrain a small ``LlamaForCausalLM`` on random windows of the token stream (bf16 autocast
   on a CPU with native bf16, about twice as fast as fp32 there; fp32 on one without, where
   bf16 is emulated and many times slower: :func:`bf16_native`), deterministically from the
   seed;
5. save model, tokenizer, ``starter.json`` and a model card (size, data, loss) atomically.

Steps 1 to 3 are :mod:`training.starter_corpus`, sizes and schedules
:mod:`training.starter_config`; steps 4 and 5 are here. How serving recognises a built starter
model is :mod:`model.starter`.

It speaks the corpus' languages but knows none of the company's facts: that gap is what the
LoRA adapters close.
"""

from __future__ import annotations

import json
import math
import shutil
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from model.starter import MARKER, is_starter_model
from training.starter_config import DEFAULT, QUICK, StarterConfig
from training.starter_corpus import read_corpus, train_tokenizer, training_text


@dataclass
class BuildReport:
    """What a build produced; saved as ``starter.json`` and summarized in the model card."""

    name: str
    parameters: int
    config: dict[str, Any]
    corpus: dict[str, Any]
    train_loss: float
    val_loss: float
    seconds: float
    cpu_seconds: float
    """CPU time of the build; about the wall time of a one-thread build on an idle machine."""
    tokens_seen: int
    loss_curve: list[tuple[int, float]] = field(default_factory=list)


# --- model --------------------------------------------------------------------------------


def model_config(config: StarterConfig, tokenizer: Any) -> Any:
    from transformers import LlamaConfig

    return LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=config.hidden_size,
        intermediate_size=config.intermediate_size,
        num_hidden_layers=config.num_layers,
        num_attention_heads=config.num_heads,
        num_key_value_heads=config.num_heads,
        max_position_embeddings=config.max_positions,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )


def learning_rate(step: int, config: StarterConfig) -> float:
    """Linear warmup, then cosine decay to a tenth of the peak."""
    if step < config.warmup_steps:
        return config.learning_rate * (step + 1) / config.warmup_steps
    span = max(1, config.steps - config.warmup_steps)
    progress = min(1.0, (step - config.warmup_steps) / span)
    return config.learning_rate * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


def pretrain(
    model: Any,
    train_ids: torch.Tensor,
    val_ids: torch.Tensor,
    config: StarterConfig,
    *,
    on_step: Any = None,
) -> tuple[float, float, list[tuple[int, float]]]:
    """Train on random windows of ``train_ids``; returns (train loss, val loss, curve).

    The train loss is the mean over the last tenth of the steps (less noisy than one step).
    """
    generator = torch.Generator().manual_seed(config.seed)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW(
        [
            {"params": decay, "weight_decay": config.weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
        ],
        lr=config.learning_rate,
        betas=(0.9, 0.95),
    )
    window = config.block_size
    limit = len(train_ids) - window
    if limit <= 0:
        raise ValueError(f"corpus too small: {len(train_ids)} tokens for {window}-token windows")
    model.train()
    curve: list[tuple[int, float]] = []
    tail: list[float] = []
    for step in range(config.steps):
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(step, config)
        starts = torch.randint(0, limit, (config.batch_size,), generator=generator)
        batch = torch.stack([train_ids[s : s + window] for s in starts.tolist()])
        value = 0.0
        for chunk in batch.split(config.micro_batch):
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16_autocast(config)):
                loss = model(input_ids=chunk, labels=chunk).loss
            share = len(chunk) / len(batch)
            (loss * share).backward()
            value += float(loss.detach()) * share
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if step >= config.steps - max(1, config.steps // 10):
            tail.append(value)
        if step % 10 == 0 or step == config.steps - 1:
            curve.append((step, round(value, 4)))
        if on_step is not None:
            on_step(step, value)
    model.eval()
    return sum(tail) / len(tail), evaluate(model, val_ids, config), curve


def bf16_native() -> bool:
    """Whether this CPU multiplies bf16 natively (AVX512-BF16 or AMX). Without it, bf16
    matmuls are emulated: on an AMD EPYC with AVX2 only, a 1024² bf16 matmul took 2.4 s
    against 0.04 s in fp32, and the starter model took over an hour instead of minutes."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # a build without oneDNN: no fast bf16 either
        return False


def bf16_autocast(config: StarterConfig) -> bool:
    """bf16 autocast where the config asks for it and the CPU does bf16 natively."""
    return config.bf16_autocast and bf16_native()


@torch.no_grad()
def evaluate(model: Any, ids: torch.Tensor, config: StarterConfig) -> float:
    """Mean loss over consecutive held-out windows."""
    window = config.block_size
    count = max(1, len(ids) // window)
    losses = []
    for index in range(min(count, 32)):
        chunk = ids[index * window : (index + 1) * window].unsqueeze(0)
        if chunk.shape[1] < 2:
            break
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16_autocast(config)):
            losses.append(float(model(input_ids=chunk, labels=chunk).loss))
    return sum(losses) / len(losses) if losses else float("nan")


# --- build --------------------------------------------------------------------------------


def build_starter(
    out_dir: Path,
    *,
    corpus_dir: Path,
    config: StarterConfig = DEFAULT,
    progress: bool = True,
) -> BuildReport:
    """Build a starter model into ``out_dir`` (replaced atomically when complete)."""
    started, cpu_started = time.perf_counter(), time.process_time()
    with _threads(config.threads):
        model, tokenizer, report = _train(corpus_dir, config, progress)
    report.seconds = round(time.perf_counter() - started, 1)
    report.cpu_seconds = round(time.process_time() - cpu_started, 1)
    _save(out_dir, model, tokenizer, report)
    return report


def _train(corpus_dir: Path, config: StarterConfig, progress: bool) -> tuple[Any, Any, BuildReport]:
    from transformers import LlamaForCausalLM

    documents = read_corpus(corpus_dir, max_chars=config.max_chars)
    texts = [t for t in (training_text(d) for d in documents) if t]
    # Seeded split of documents into train and validation (the file order is fixed).
    order = torch.randperm(len(texts), generator=torch.Generator().manual_seed(config.seed))
    texts = [texts[i] for i in order.tolist()]
    n_val = max(1, int(len(texts) * config.val_fraction))
    val_texts, train_texts = texts[:n_val], texts[n_val:]

    with _progress(progress) as bar:
        task = bar.add_task("starter: tokenizer", total=config.steps) if bar else None
        tokenizer = train_tokenizer(train_texts, config.vocab_size)
        train_ids = _encode(tokenizer, train_texts)
        val_ids = _encode(tokenizer, val_texts)
        torch.manual_seed(config.seed)
        model = LlamaForCausalLM(model_config(config, tokenizer))
        parameters = sum(p.numel() for p in model.parameters())
        if bar is not None:
            bar.update(task, description=f"starter: pretraining {parameters / 1e6:.1f}M params")

        def on_step(step: int, loss: float) -> None:
            if bar is not None:
                bar.update(task, completed=step + 1, description=f"starter: loss {loss:.2f}")

        train_loss, val_loss, curve = pretrain(model, train_ids, val_ids, config, on_step=on_step)

    registers: dict[str, int] = {}
    for document in documents:
        registers[document.register] = registers.get(document.register, 0) + 1
    report = BuildReport(
        name=config.name,
        parameters=parameters,
        config=asdict(config),
        corpus={
            "dir": str(corpus_dir),
            "files": sorted(p.name for p in corpus_dir.glob("*.txt")),
            "documents": len(documents),
            "dialogues": sum(1 for d in documents if d.turns),
            "documents_per_register": registers,
            "train_tokens": len(train_ids),
            "val_tokens": len(val_ids),
        },
        train_loss=round(train_loss, 4),
        val_loss=round(val_loss, 4),
        seconds=0.0,
        cpu_seconds=0.0,
        tokens_seen=config.steps * config.batch_size * config.block_size,
        loss_curve=curve,
    )
    return model, tokenizer, report


def ensure_starter_model(
    models_dir: Path, *, corpus_dir: Path, quick: bool = False, progress: bool = True
) -> Path:
    """The starter model's directory under ``models_dir``, built first when absent."""
    config = QUICK if quick else DEFAULT
    target = models_dir / config.name
    if is_starter_model(target):
        return target
    build_starter(target, corpus_dir=corpus_dir, config=config, progress=progress)
    return target


def _encode(tokenizer: Any, texts: Sequence[str]) -> torch.Tensor:
    ids: list[int] = []
    for encoded in tokenizer(list(texts), add_special_tokens=False)["input_ids"]:
        ids.extend(encoded)
    return torch.tensor(ids, dtype=torch.long)


def _save(out_dir: Path, model: Any, tokenizer: Any, report: BuildReport) -> None:
    # Build beside the target and rename: an interrupted build never looks like a model.
    staging = out_dir.with_name(f".{out_dir.name}.building")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(staging)
    tokenizer.save_pretrained(staging)
    (staging / MARKER).write_text(json.dumps(asdict(report), indent=2) + "\n", encoding="utf-8")
    (staging / "README.md").write_text(model_card(report), encoding="utf-8")
    if out_dir.exists():
        shutil.rmtree(out_dir)
    staging.rename(out_dir)


def model_card(report: BuildReport) -> str:
    """A short model card: what the model is, how big, on what data, how well it trained."""
    cfg, corpus = report.config, report.corpus
    registers = ", ".join(f"{k}: {v}" for k, v in sorted(corpus["documents_per_register"].items()))
    return f"""# uttor {report.name} model

A small Llama-architecture causal LM built locally by `uttor init` so that uttor runs with no
download. It writes customer-service dialogue in Bangla, English, Banglish and mixed text, in
the Llama-2 chat format, but knows none of the company's facts; LoRA adapters trained on the
company's question/answer pairs teach those. Not for use outside uttor.

## Size
- parameters: {report.parameters:,} ({report.parameters / 1e6:.2f}M)
- {cfg["num_layers"]} layers, hidden {cfg["hidden_size"]}, MLP {cfg["intermediate_size"]}, \
{cfg["num_heads"]} heads, vocabulary {cfg["vocab_size"]} (byte-level BPE), context \
{cfg["max_positions"]}

## Data
- corpus: {", ".join(corpus["files"])} ({corpus["documents"]} documents, \
{corpus["dialogues"]} dialogues; per register: {registers})
- train tokens: {corpus["train_tokens"]:,}; held-out tokens: {corpus["val_tokens"]:,}
- dialogues formatted as chat turns with the compact system prompt of `model.prompting`

## Training
- {cfg["steps"]} steps x {cfg["batch_size"]} windows x {cfg["block_size"]} tokens \
({report.tokens_seen:,} tokens seen), AdamW, peak learning rate {cfg["learning_rate"]}, \
seed {cfg["seed"]}
- final train loss {report.train_loss:.3f}; held-out loss {report.val_loss:.3f}
- build time {report.seconds:.0f} s ({report.cpu_seconds:.0f} s of CPU time)
"""


@contextmanager
def _threads(count: int | None) -> Iterator[None]:
    """Run torch's CPU work on ``count`` threads, restoring the previous count afterwards."""
    previous = torch.get_num_threads()
    if count is not None:
        torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@contextmanager
def _progress(enabled: bool) -> Iterator[Any]:
    if not enabled:
        yield None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )
    from rich.console import Console

    # stderr: commands with --json keep stdout for their one JSON object.
    with Progress(*columns, console=Console(stderr=True), transient=False) as bar:
        yield bar
