"""Base-model loading: NF4 and full precision, the AVX512-BF16 workaround, clear errors."""

from __future__ import annotations

from pathlib import Path

import bitsandbytes as bnb
import pytest
import torch
from bitsandbytes.functional import has_avx512bf16
from peft import LoraConfig, get_peft_model

from model.loading import LoadConfig, ModelLoadError, load_base

PROMPT = "<s>[INST] আমার অর্ডার কবে আসবে? [/INST]"


def four_bit_layers(model: torch.nn.Module) -> list[bnb.nn.Linear4bit]:
    return [m for m in model.modules() if isinstance(m, bnb.nn.Linear4bit)]


def logits(loaded, text: str = PROMPT) -> torch.Tensor:
    ids = loaded.tokenizer(text, add_special_tokens=False, return_tensors="pt").input_ids
    with torch.no_grad():
        return loaded.model(ids).logits.clone()


def generate(loaded, text: str = PROMPT) -> torch.Tensor:
    batch = loaded.tokenizer(text, add_special_tokens=False, return_tensors="pt")
    with torch.no_grad():
        return loaded.model.generate(**batch, max_new_tokens=6, do_sample=False)


def test_nf4_quantizes_every_linear_layer_and_patches_them(tiny_model_dir: Path) -> None:
    loaded = load_base(LoadConfig(str(tiny_model_dir), quantization="nf4"))
    layers = four_bit_layers(loaded.model)
    # 2 blocks x (q, k, v, o, gate, up, down); the tied lm_head stays unquantized.
    assert len(layers) == 14
    assert all(layer.weight.quant_state.quant_type == "nf4" for layer in layers)
    assert all(layer.support_avx512bf16_for_cpu is False for layer in layers)
    assert loaded.tokenizer.padding_side == "left"
    assert generate(loaded).shape[1] > len(
        loaded.tokenizer(PROMPT, add_special_tokens=False)["input_ids"]
    )


def test_none_loads_full_precision(tiny_model_dir: Path) -> None:
    loaded = load_base(LoadConfig(str(tiny_model_dir), quantization="none"))
    assert four_bit_layers(loaded.model) == []
    assert loaded.model.dtype == torch.float32
    assert generate(loaded).shape[0] == 1


def test_state_dict_after_generate_leaves_base_logits_unchanged(tiny_model_dir: Path) -> None:
    loaded = load_base(LoadConfig(str(tiny_model_dir), quantization="nf4"))
    before = logits(loaded)
    generate(loaded)
    loaded.model.state_dict()
    assert torch.equal(logits(loaded), before)


def test_lora_trains_after_generate(tiny_model_dir: Path) -> None:
    loaded = load_base(LoadConfig(str(tiny_model_dir), quantization="nf4"))
    generate(loaded)
    model = get_peft_model(loaded.model, LoraConfig(r=4, lora_alpha=8, target_modules="all-linear"))
    ids = loaded.tokenizer(PROMPT, add_special_tokens=False, return_tensors="pt").input_ids
    model.train()
    model(input_ids=ids, labels=ids).loss.backward()
    # LoRA B starts at zero, so only B gets a gradient on the first step; it must be real.
    grads = {n: p.grad for n, p in model.named_parameters() if "lora_B" in n}
    assert len(grads) == 14
    assert all(g is not None and g.abs().sum() > 0 for g in grads.values())


@pytest.mark.skipif(not has_avx512bf16(), reason="the repacking bug needs AVX512-BF16")
def test_without_the_workaround_state_dict_corrupts_the_base(tiny_model_dir: Path) -> None:
    """Documents why load_base patches the layers: this CPU feature breaks the base."""
    loaded = load_base(LoadConfig(str(tiny_model_dir), quantization="nf4"))
    for layer in four_bit_layers(loaded.model):
        layer.support_avx512bf16_for_cpu = True
    before = logits(loaded)
    generate(loaded)
    loaded.model.state_dict()
    assert not torch.equal(logits(loaded), before)


def test_missing_directory_is_one_line_naming_the_setting(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError) as caught:
        load_base(LoadConfig(str(tmp_path / "no-such-model")))
    message = str(caught.value)
    assert "UTTOR_BASE_MODEL" in message and "\n" not in message


def test_unreachable_hub_is_one_line_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    with pytest.raises(ModelLoadError) as caught:
        load_base(LoadConfig("meta-llama/Llama-2-7b-chat-hf"))
    message = str(caught.value)
    assert "UTTOR_BASE_MODEL" in message and "unreachable" in message and "\n" not in message
