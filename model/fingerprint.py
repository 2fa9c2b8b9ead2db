"""Which base model an adapter belongs to: a hash of the base's structure and tokenizer.

A LoRA adapter only makes sense on the base it was trained on. Two bases of the same family
(the starter model and the ``--quick`` one) differ in shapes, which peft reports as a bare
``RuntimeError``; two with equal shapes but another tokenizer would load silently and answer
garbage. The training process records :func:`fingerprint` of its base in the adapter's
``training.json``; promotion, start-up and hot swap compare it with the base in service.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

__all__ = [
    "ADAPTER_METADATA",
    "KEY",
    "adapter_fingerprint",
    "fingerprint",
    "fingerprint_of_dir",
    "mismatch",
]

#: The file the training process writes next to the adapter weights (training/train.py).
ADAPTER_METADATA = "training.json"
#: Its key holding the base fingerprint.
KEY = "base_fingerprint"
#: Config fields that decide whether LoRA weights fit: layer count and every matrix shape.
STRUCTURE = (
    "model_type",
    "vocab_size",
    "hidden_size",
    "intermediate_size",
    "num_hidden_layers",
    "num_attention_heads",
    "num_key_value_heads",
    "head_dim",
    "tie_word_embeddings",
)


def fingerprint(config: Any, tokenizer: Any) -> str:
    """``sha256:…`` of the base's structural config fields and its tokenizer's vocabulary."""
    values = config.to_dict() if hasattr(config, "to_dict") else dict(config)
    structure = {key: values.get(key) for key in STRUCTURE}
    vocab = sorted(tokenizer.get_vocab().items())
    special = [str(tokenizer.bos_token), str(tokenizer.eos_token)]
    payload = json.dumps(
        {"structure": structure, "vocab": vocab, "special": special},
        sort_keys=True,
        ensure_ascii=False,
    )
    return "sha256:" + hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]


def fingerprint_of_dir(base_model: str) -> str:
    """The fingerprint of a base model by path or hub id, from its config and tokenizer only."""
    from transformers import AutoConfig, AutoTokenizer

    return fingerprint(
        AutoConfig.from_pretrained(base_model), AutoTokenizer.from_pretrained(base_model)
    )


def adapter_fingerprint(adapter_dir: str | Path) -> str | None:
    """The base fingerprint an adapter recorded (``None``: none recorded, e.g. made by hand)."""
    path = Path(adapter_dir) / ADAPTER_METADATA
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    value = data.get(KEY) if isinstance(data, dict) else None
    return value if isinstance(value, str) else None


def mismatch(version: str, adapter_dir: str | Path, base: str | None) -> str | None:
    """Why adapter ``version`` does not belong to the base with fingerprint ``base``, or None."""
    recorded = adapter_fingerprint(adapter_dir)
    if recorded is None or base is None or recorded == base:
        return None
    return (
        f"adapter {version} was trained on another base model (its base {recorded[:19]}…, "
        f"serving {base[:19]}…)"
    )
