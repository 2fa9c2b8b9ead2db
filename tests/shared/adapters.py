"""LoRA adapters for the tiny model, saved as training saves them (for registry and swap tests)."""

from __future__ import annotations

from pathlib import Path

import torch
from peft import LoraConfig, get_peft_model

from model.loading import LoadConfig, load_base


def save_random_adapter(model_dir: Path, out: Path, seed: int) -> Path:
    """A LoRA adapter of ``model_dir`` with random (non-zero) weights, saved into ``out``."""
    base = load_base(LoadConfig(str(model_dir), quantization="none")).model
    torch.manual_seed(seed)
    config = LoraConfig(
        r=4, lora_alpha=16, target_modules=["q_proj", "v_proj", "o_proj", "down_proj"],
        init_lora_weights=False,
    )  # fmt: skip
    get_peft_model(base, config).save_pretrained(out)
    return out
