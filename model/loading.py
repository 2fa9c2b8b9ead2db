"""Load a base causal LM and its tokenizer: 4-bit NF4 through bitsandbytes, or full precision.

The same code serves the CPU starter model and Llama-2-7b-chat on a GPU. On CPUs with
AVX512-BF16, bitsandbytes repacks ``Linear4bit`` weights in place after a no-grad forward, which
silently breaks LoRA training and ``state_dict()`` afterwards (``tests/model/test_loading.py``
shows it); ``load_base`` switches that repacking off on every 4-bit layer.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from model.config import LoadConfig, Quantization
from model.errors import ModelLoadError

# bitsandbytes looks for an optional downloadable CPU kernel at import time and logs a warning
# when it is missing; the built-in kernels it falls back to are the ones we want anyway.
logging.getLogger("bitsandbytes.backends.cpu.ops").setLevel(logging.ERROR)

log = logging.getLogger(__name__)


@dataclass
class LoadedModel:
    """A base model ready to generate, with the tokenizer and what it was loaded as."""

    model: Any
    tokenizer: Any
    name: str
    quantization: Quantization
    device: torch.device


def resolve_device(device: str | None) -> torch.device:
    if device:
        return torch.device(device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def quantization_config(quantization: Quantization, device: torch.device) -> Any | None:
    """The ``BitsAndBytesConfig`` for ``nf4`` (bf16 compute on CUDA, fp32 on CPU), else None."""
    if quantization == "none":
        return None
    if quantization != "nf4":
        raise ModelLoadError(f"unknown quantization {quantization!r}; use nf4 or none")
    from transformers import BitsAndBytesConfig

    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_use_double_quant=True,
        # bf16 matmuls are fast on GPUs; on CPU the fp32 path is the one without the repacking
        # problem and is as fast for small models.
        bnb_4bit_compute_dtype=compute_dtype(device),
    )


def compute_dtype(device: torch.device) -> torch.dtype:
    """bf16 on CUDA (half the memory of fp32, native speed); fp32 on CPU."""
    return torch.bfloat16 if device.type == "cuda" else torch.float32


def disable_cpu_weight_repacking(model: torch.nn.Module) -> int:
    """Switch off bitsandbytes' in-place AVX512-BF16 repacking on every 4-bit layer.

    Without this, on CPUs with AVX512-BF16 the first no-grad forward (any ``generate``)
    repacks the packed weights: a later training step gets no LoRA gradients and a
    ``state_dict()`` returns corrupted base weights. Returns how many layers were patched.
    """
    import bitsandbytes as bnb

    patched = 0
    for module in model.modules():
        if isinstance(module, bnb.nn.Linear4bit):
            module.support_avx512bf16_for_cpu = False
            patched += 1
    return patched


def load_base(config: LoadConfig) -> LoadedModel:
    """Load the base model and tokenizer for generation (eval mode, left padding)."""
    device = resolve_device(config.device)
    source = _source(config)
    quant = quantization_config(config.quantization, device)
    kwargs: dict[str, Any] = {"dtype": compute_dtype(device)}
    if quant is not None:
        kwargs["quantization_config"] = quant
        # bitsandbytes quantizes while loading onto the target device.
        kwargs["device_map"] = {"": device.index or 0} if device.type == "cuda" else "cpu"
    try:
        tokenizer, model = _from_pretrained(config, source, kwargs)
    except OSError as exc:
        raise ModelLoadError(_explain(config, exc)) from exc
    if quant is None:
        model.to(device)
    else:
        patched = disable_cpu_weight_repacking(model)
        log.debug("disabled CPU weight repacking on %d 4-bit layers", patched)
    model.eval()
    prepare_tokenizer(tokenizer)
    if model.generation_config.pad_token_id is None:
        model.generation_config.pad_token_id = tokenizer.pad_token_id
    return LoadedModel(
        model=model,
        tokenizer=tokenizer,
        name=config.base_model,
        quantization=config.quantization,
        device=device,
    )


def prepare_tokenizer(tokenizer: Any) -> None:
    """Left padding and truncation for batched generation; EOS pads when no pad token exists.

    Truncating on the left keeps the end of an over-long prompt, where the question and the
    ``[/INST]`` the answer must follow are.
    """
    tokenizer.padding_side = "left"
    tokenizer.truncation_side = "left"
    if tokenizer.pad_token is None:
        # Llama-2 ships no pad token; padded positions are masked, so which id pads is moot.
        tokenizer.pad_token = tokenizer.eos_token


def _from_pretrained(config: LoadConfig, source: str, kwargs: dict[str, Any]) -> tuple[Any, Any]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    def load(**extra: Any) -> tuple[Any, Any]:
        tokenizer = AutoTokenizer.from_pretrained(source, **extra)
        return tokenizer, AutoModelForCausalLM.from_pretrained(source, **kwargs, **extra)

    if Path(source).is_dir():
        return load()
    try:
        # A hub id already in the local cache needs no network at all.
        return load(local_files_only=True)
    except OSError:
        pass
    if not _hub_reachable():
        # Without this check the hub client retries for most of a minute before failing.
        raise ModelLoadError(
            f"cannot load base model {config.base_model!r}: not a local directory, not in the "
            f"Hugging Face cache, and the hub is unreachable; "
            f"set {config.setting_name} to a local model directory"
        )
    return load()


def _hub_reachable(timeout_s: float = 3.0) -> bool:
    """Whether the Hugging Face hub answers a TCP connection (and offline mode is off)."""
    import os
    import socket
    from urllib.parse import urlparse

    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on"):
        return False
    endpoint = urlparse(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    port = endpoint.port or (443 if endpoint.scheme == "https" else 80)
    try:
        socket.create_connection((endpoint.hostname or "huggingface.co", port), timeout_s).close()
    except OSError:
        return False
    return True


def _source(config: LoadConfig) -> str:
    path = Path(config.base_model).expanduser()
    if path.is_dir():
        return str(path)
    looks_like_path = (
        config.base_model.startswith((".", "/", "~")) or config.base_model.count("/") > 1
    )
    if looks_like_path or not config.base_model.strip():
        raise ModelLoadError(
            f"base model directory {config.base_model!r} does not exist; "
            f"set {config.setting_name} to a model directory or a hub id (or run `uttor init`)"
        )
    return config.base_model


def _explain(config: LoadConfig, exc: OSError) -> str:
    reason = " ".join(str(exc).split())[:200]
    return (
        f"cannot load base model {config.base_model!r} (not a local directory and not "
        f"downloadable here: {reason}); set {config.setting_name} to a local model directory"
    )
