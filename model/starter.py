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
   on CPU, which is about twice as fast as fp32 there), deterministically from the seed;
5. save model, tokenizer, ``starter.json`` and a model card (size, data, loss) atomically.

It speaks the corpus' languages but knows none of the company's facts: that gap is what the
LoRA adapters close.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from model.prompting import FORMAT_TOKENS, PromptConfig, Turn, format_chat, system_prompt

#: Written next to the weights; marks a directory as a starter model and records its build.
MARKER = "starter.json"
#: The repository's starter corpus (``uttor init`` passes it explicitly).
DEFAULT_CORPUS_DIR = Path(__file__).resolve().parents[1] / "training" / "data" / "corpus"

BOS, EOS, PAD = "<s>", "</s>", "<pad>"
SPECIAL_TOKENS = (BOS, EOS, PAD, *FORMAT_TOKENS)

# Words are runs of letters *and marks*: GPT-2's pattern (\p{L}+) would cut Bangla words at
# every vowel sign, and BPE can never merge across those cuts.
PRE_TOKENIZE = r" ?[\p{L}\p{M}]+| ?\p{N}+| ?[^\s\p{L}\p{M}\p{N}]+|\s+(?!\S)|\s+"

CUSTOMER_LABELS = ("customer", "গ্রাহক", "c", "kastomar", "grahok")
AGENT_LABELS = ("agent", "এজেন্ট", "a", "ejent", "support")
_SPEAKER = re.compile(r"^\s*([^:]{1,20}):\s*(.*)$")
REGISTERS = ("bn", "en", "banglish", "mixed")


@dataclass(frozen=True)
class StarterConfig:
    """Size and training schedule of a starter model."""

    name: str = "starter"
    """Folder name under the models directory."""
    vocab_size: int = 6000
    """BPE vocabulary size, special tokens included."""
    hidden_size: int = 256
    """Width of the residual stream."""
    intermediate_size: int = 704
    """Width of the SwiGLU MLP."""
    num_layers: int = 4
    """Transformer blocks."""
    num_heads: int = 4
    """Attention heads (head size = hidden_size / num_heads)."""
    max_positions: int = 1024
    """Longest sequence the model accepts (RoPE; prompts are kept well below)."""
    block_size: int = 256
    """Tokens per training window."""
    batch_size: int = 12
    """Windows per optimizer step."""
    micro_batch: int = 4
    """Windows per forward/backward pass (gradients accumulate up to ``batch_size``); small
    passes keep the logits tensor small enough for the allocator to reuse, not re-map."""
    steps: int = 200
    """Optimizer steps."""
    learning_rate: float = 3e-3
    """Peak AdamW learning rate (cosine decay to a tenth after warmup)."""
    warmup_steps: int = 30
    """Linear warmup steps."""
    weight_decay: float = 0.1
    """AdamW weight decay on matrices."""
    val_fraction: float = 0.05
    """Share of documents held out to report a validation loss."""
    seed: int = 20240521
    """Seed of tokenizer data order, weights and batches: same seed, same model."""
    max_chars: int | None = None
    """Use at most this many characters of each corpus file (tests, trials)."""
    bf16_autocast: bool = True
    """Train with bf16 matmuls on CPU (master weights stay fp32)."""
    threads: int | None = 1
    """CPU threads while training (``None``: torch's default). One thread is the robust choice
    on a small shared machine: with two threads on two busy cores, OpenMP's spin-waiting made
    each step up to 7x slower in our measurements. A fixed count also keeps builds identical."""


DEFAULT = StarterConfig()
QUICK = StarterConfig(
    name="starter-quick",
    vocab_size=3000,
    hidden_size=128,
    intermediate_size=384,
    num_layers=2,
    num_heads=2,
    block_size=128,
    batch_size=16,
    micro_batch=16,
    steps=120,
    warmup_steps=10,
)


@dataclass(frozen=True)
class Document:
    """A corpus document: a dialogue (``turns``) or a paragraph (``text``)."""

    register: str
    source: str
    turns: tuple[Turn, ...] = ()
    text: str = ""


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


# --- corpus -------------------------------------------------------------------------------


def read_corpus(corpus_dir: Path, *, max_chars: int | None = None) -> list[Document]:
    """Every document of every ``*.txt`` file, files in name order."""
    files = sorted(corpus_dir.glob("*.txt"))
    if not files:
        raise FileNotFoundError(f"no *.txt starter corpus in {corpus_dir}")
    documents: list[Document] = []
    for path in files:
        text = path.read_text(encoding="utf-8")
        if max_chars is not None:
            text = text[:max_chars].rsplit("\n\n", 1)[0]
        register = path.stem if path.stem in REGISTERS else "und"
        for block in re.split(r"\n\s*\n", text):
            document = parse_document(block, register=register, source=path.name)
            if document is not None:
                documents.append(document)
    return documents


def parse_document(block: str, *, register: str, source: str) -> Document | None:
    """A dialogue when every line has a customer/agent label, else a paragraph."""
    lines = [line.strip() for line in block.strip().splitlines() if line.strip()]
    if not lines:
        return None
    turns: list[Turn] = []
    for line in lines:
        match = _SPEAKER.match(line)
        label = match.group(1).strip().casefold() if match else ""
        if label in CUSTOMER_LABELS:
            turns.append(Turn("user", match.group(2).strip()))  # type: ignore[union-attr]
        elif label in AGENT_LABELS:
            turns.append(Turn("assistant", match.group(2).strip()))  # type: ignore[union-attr]
        else:
            return Document(register=register, source=source, text=" ".join(lines))
    return Document(register=register, source=source, turns=tuple(turns))


def dialogue_turns(turns: Sequence[Turn]) -> list[Turn]:
    """Merge consecutive turns of one speaker; a dialogue must open with the customer."""
    merged: list[Turn] = []
    for turn in turns:
        if merged and merged[-1].role == turn.role:
            merged[-1] = Turn(turn.role, f"{merged[-1].text} {turn.text}")
        else:
            merged.append(turn)
    while merged and merged[0].role != "user":
        merged.pop(0)
    return merged


def training_text(document: Document, *, prompt: PromptConfig | None = None) -> str:
    """A document as the model is trained on it: dialogues in the serving prompt format."""
    if not document.turns:
        return f"{BOS}{document.text}{EOS}"
    turns = dialogue_turns(document.turns)
    if not turns:
        return ""
    system = system_prompt(document.register, prompt or PromptConfig(), compact=True)
    # The tokenizer is not built yet; the starter format uses the same <s>/</s> markers.
    return format_chat(system, turns)


# --- tokenizer ----------------------------------------------------------------------------


def train_tokenizer(texts: Sequence[str], vocab_size: int) -> Any:
    """A byte-level BPE tokenizer (a transformers fast tokenizer) trained on ``texts``."""
    from tokenizers import (
        AddedToken,
        Regex,
        Tokenizer,
        decoders,
        models,
        pre_tokenizers,
        trainers,
    )
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(PRE_TOKENIZE), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tokenizer.decoder = decoders.ByteLevel()
    # Markers swallow the space before them: "question [/INST]" and "answer </s>" would
    # otherwise spend a lone-space token each, the most frequent token of the corpus.
    specials = [AddedToken(token, special=True, lstrip=True) for token in SPECIAL_TOKENS]
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        min_frequency=2,
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token=BOS,
        eos_token=EOS,
        pad_token=PAD,
        additional_special_tokens=list(FORMAT_TOKENS),
        padding_side="left",
        model_max_length=DEFAULT.max_positions,
    )


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
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=config.bf16_autocast):
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
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=config.bf16_autocast):
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


def is_starter_model(path: Path) -> bool:
    """Whether ``path`` holds a complete starter model (weights, tokenizer and marker)."""
    return (path / MARKER).is_file() and (path / "config.json").is_file()


def default_model_dir(models_dir: Path) -> Path | None:
    """The starter model serving uses when no base model is set: full size, else quick."""
    for config in (DEFAULT, QUICK):
        if is_starter_model(models_dir / config.name):
            return models_dir / config.name
    return None


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
