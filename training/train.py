"""QLoRA fine-tuning of one candidate adapter on question/answer pairs, top to bottom.

1. Every pair becomes one example (:mod:`training.examples`): the prompt its customer was served
   (the stored prompt of a database pair, else the prompt serving builds from the stored reply
   language and earlier turns, else a new chat's prompt for a shipped pair) followed by the
   answer and the end-of-turn token (:func:`model.prompting.completion_text`). Prompt and
   answer are tokenized as one text, as the model reads them; labels cover the answer and the
   end-of-turn token only, never the customer's words or the system prompt. An example longer
   than ``max_length`` is dropped and counted, never cut: a cut answer would lose its
   end-of-turn token and teach the model to run on.
2. LoRA (seed configuration: r=32, alpha=16, dropout=0.1, bias none, CAUSAL_LM) goes on the
   base as loaded for serving (NF4 by default); only the LoRA weights train.
3. AdamW with linear warm-up and decay, gradient clipping, seeded shuffling; the loss is logged
   at every step and averaged per epoch.
4. The adapter alone (``adapter_config.json`` + ``adapter_model.safetensors``) is saved with
   ``training.json``: configuration, base model, data fingerprint, loss curve and timings.

The pipeline runs this in a separate process (:mod:`training.job`) so the bot keeps answering
and every byte of training memory is returned when it ends.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import platform
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from model.config import PromptConfig
from model.fingerprint import ADAPTER_METADATA
from training.config import TrainConfig
from training.examples import (
    IGNORE_INDEX,
    Example,
    Knowledge,
    collate,
    encode,
    encode_example,
    encode_pairs,
    example_prompt,
    prompt_for,
)

__all__ = [
    "IGNORE_INDEX",
    "METADATA_FILE",
    "Example",
    "TrainResult",
    "encode_example",
    "encode_pairs",
    "example_prompt",
    "lora_config",
    "prompt_for",
    "train_adapter",
]

log = logging.getLogger(__name__)

METADATA_FILE = ADAPTER_METADATA  # serving reads the base fingerprint from it


@dataclass
class TrainResult:
    """What one training run produced and how it went."""

    adapter_dir: Path
    examples: int
    skipped: int
    """Pairs dropped as longer than ``max_length`` tokens (never cut: see the module doc)."""
    epochs: int
    steps: int
    loss_steps: list[tuple[float, float]] = field(default_factory=list)
    """(position in epochs, loss) of every optimizer step."""
    loss_epochs: list[tuple[int, float]] = field(default_factory=list)
    """(epoch number from 1, mean step loss) per epoch."""
    seconds: float = 0.0
    tokens: int = 0
    """Tokens (prompt and answer, no padding) pushed through the model."""
    trainable_parameters: int = 0
    total_parameters: int = 0
    served_prompts: int = 0
    """Examples trained on the very prompt their customer was served."""

    @property
    def tokens_per_s(self) -> float:
        return self.tokens / self.seconds if self.seconds else 0.0

    @property
    def final_loss(self) -> float:
        return self.loss_epochs[-1][1] if self.loss_epochs else float("nan")


def lora_config(config: TrainConfig) -> Any:
    """The peft ``LoraConfig`` of the seed paper, with configurable target modules."""
    from peft import LoraConfig

    targets: str | list[str] = list(config.target_modules)
    if targets == ["all-linear"]:
        targets = "all-linear"
    return LoraConfig(
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=targets,
        bias="none",
        task_type="CAUSAL_LM",
    )


def _learning_rate(step: int, total: int, config: TrainConfig) -> float:
    """Linear warm-up over ``warmup_ratio`` of the steps, then linear decay to zero."""
    warmup = max(1, math.ceil(total * config.warmup_ratio))
    if step < warmup:
        return config.learning_rate * (step + 1) / warmup
    return config.learning_rate * max(0.0, (total - step) / max(1, total - warmup))


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    torch.manual_seed(seed)


def data_fingerprint(pairs: Sequence[Mapping[str, Any]]) -> str:
    """A short hash of the training pairs, recorded with the adapter."""
    digest = hashlib.sha256(json.dumps(list(pairs), ensure_ascii=False).encode())
    return digest.hexdigest()[:16]


def train_adapter(
    loaded: Any,
    pairs: Sequence[Mapping[str, Any]],
    out_dir: Path,
    config: TrainConfig,
    *,
    compact: bool,
    prompt: PromptConfig | None = None,
    metadata: dict[str, Any] | None = None,
    on_step: Callable[[int, int, float], None] | None = None,
    knowledge: Knowledge | None = None,
) -> TrainResult:
    """Train a LoRA adapter on ``loaded`` (a :class:`model.loading.LoadedModel`) and save it.

    ``compact`` and ``prompt`` must be what serving passes to ``build_prompt`` for this base
    (``compact``: starter models). ``on_step(step, total_steps, loss)`` follows every step.
    ``knowledge``: the entries each built prompt carries (:mod:`training.examples`).
    """
    threads_before = torch.get_num_threads()
    if config.threads:
        torch.set_num_threads(config.threads)
    try:
        return _train(loaded, pairs, out_dir, config, compact, prompt, metadata, on_step, knowledge)
    finally:
        torch.set_num_threads(threads_before)


def _train(
    loaded: Any,
    pairs: Sequence[Mapping[str, Any]],
    out_dir: Path,
    config: TrainConfig,
    compact: bool,
    prompt: PromptConfig | None,
    metadata: dict[str, Any] | None,
    on_step: Callable[[int, int, float], None] | None,
    knowledge: Knowledge | None = None,
) -> TrainResult:
    from peft import get_peft_model, prepare_model_for_kbit_training

    _seed_everything(config.seed)
    tokenizer = loaded.tokenizer
    encoded = encode(
        pairs,
        tokenizer,
        compact=compact,
        max_length=config.max_length,
        prompt=prompt,
        knowledge=knowledge,
    )
    examples = encoded.examples
    if not examples:
        raise ValueError(f"no training examples: all {len(pairs)} pairs are over max_length")
    if encoded.too_long:
        log.warning(
            "%d of %d pairs are longer than %d tokens and do not train",
            encoded.too_long,
            len(pairs),
            config.max_length,
        )

    model = loaded.model
    if getattr(model, "is_loaded_in_4bit", False):
        # Freezes the base and keeps norms in fp32; checkpointing would only slow a CPU run.
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=False)
    model = get_peft_model(model, lora_config(config))
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(
        trainable, lr=config.learning_rate, weight_decay=config.weight_decay
    )
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    steps_per_epoch = math.ceil(len(examples) / config.batch_size)
    total_steps = steps_per_epoch * config.epochs
    order_rng = random.Random(config.seed)
    result = TrainResult(
        adapter_dir=out_dir,
        examples=len(examples),
        skipped=encoded.too_long,
        epochs=config.epochs,
        steps=total_steps,
        trainable_parameters=sum(p.numel() for p in trainable),
        total_parameters=sum(p.numel() for p in model.parameters()),
        served_prompts=encoded.served_prompts,
    )
    device = loaded.device
    started = time.perf_counter()
    model.train()
    step = 0
    for epoch in range(config.epochs):
        order = list(range(len(examples)))
        order_rng.shuffle(order)
        epoch_losses: list[float] = []
        for start in range(0, len(order), config.batch_size):
            batch = collate([examples[i] for i in order[start : start + config.batch_size]], pad_id)
            batch = {k: v.to(device) for k, v in batch.items()}
            for group in optimizer.param_groups:
                group["lr"] = _learning_rate(step, total_steps, config)
            loss = model(**batch).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(trainable, config.max_grad_norm)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            value = float(loss.detach())
            epoch_losses.append(value)
            result.tokens += int(batch["attention_mask"].sum())
            step += 1
            result.loss_steps.append((round(step / steps_per_epoch, 4), round(value, 5)))
            if on_step is not None:
                on_step(step, total_steps, value)
        result.loss_epochs.append((epoch + 1, round(sum(epoch_losses) / len(epoch_losses), 5)))
        log.info("epoch %d/%d mean loss %.4f", epoch + 1, config.epochs, result.loss_epochs[-1][1])
    model.eval()
    result.seconds = round(time.perf_counter() - started, 2)

    out_dir.mkdir(parents=True, exist_ok=True)
    # save_pretrained on a PeftModel writes the adapter weights and config only.
    model.save_pretrained(out_dir)
    info = {
        "base_model": getattr(loaded, "name", None),
        "quantization": getattr(loaded, "quantization", None),
        "config": asdict(config),
        "prompt": asdict(prompt or PromptConfig()),
        "data": {"pairs": len(pairs), "fingerprint": data_fingerprint(pairs)},
        "result": {
            "examples": result.examples,
            "skipped": result.skipped,
            "served_prompts": result.served_prompts,
            "steps": result.steps,
            "seconds": result.seconds,
            "tokens": result.tokens,
            "tokens_per_s": round(result.tokens_per_s, 1),
            "trainable_parameters": result.trainable_parameters,
            "total_parameters": result.total_parameters,
            "final_loss": result.final_loss,
            "loss_epochs": result.loss_epochs,
            "loss_steps": result.loss_steps,
        },
        "versions": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "peft": _version("peft"),
            "transformers": _version("transformers"),
            "bitsandbytes": _version("bitsandbytes"),
        },
        **(metadata or {}),
    }
    (out_dir / METADATA_FILE).write_text(
        json.dumps(info, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    return result


def _version(package: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return None
