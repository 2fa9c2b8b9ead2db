"""Size and training schedule of a starter model (built by :mod:`training.starter`)."""

from __future__ import annotations

from dataclasses import dataclass

from model.starter import DEFAULT_NAME, QUICK_NAME


@dataclass(frozen=True)
class StarterConfig:
    """Size and training schedule of a starter model."""

    name: str = DEFAULT_NAME
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
    """Train with bf16 matmuls on CPU (master weights stay fp32), where the CPU does bf16
    natively (``training.starter.bf16_native``); fp32 elsewhere."""
    threads: int | None = 1
    """CPU threads while training (``None``: torch's default). One thread is the robust choice
    on a small shared machine: with two threads on two busy cores, OpenMP's spin-waiting made
    each step up to 7x slower in our measurements. A fixed count also keeps builds identical."""


DEFAULT = StarterConfig()
QUICK = StarterConfig(
    name=QUICK_NAME,
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
#: A larger starter for GPU hosts and benchmarks (``uttor init --size large``): about 60M
#: parameters, pretrained on every CPU core for a few minutes. Too short a schedule to learn
#: much of the corpus; it is there so that GPU generation, QLoRA training and vLLM can be
#: measured offline on a model whose matrices are big enough to keep a GPU busy.
LARGE = StarterConfig(
    name="starter-large",
    vocab_size=8000,
    hidden_size=768,
    intermediate_size=2048,
    num_layers=8,
    num_heads=12,
    max_positions=2048,
    block_size=256,
    batch_size=12,
    micro_batch=4,
    steps=60,
    learning_rate=1e-3,
    warmup_steps=10,
    threads=None,
)
#: The sizes ``uttor init --size`` builds, by name.
SIZES: dict[str, StarterConfig] = {"quick": QUICK, "default": DEFAULT, "large": LARGE}
