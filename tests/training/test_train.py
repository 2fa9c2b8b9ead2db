"""QLoRA training on the tiny model: serving's prompt, loss on the answer only, loss falls."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from model.loading import LoadConfig, load_base
from model.prompting import build_prompt, completion_text
from training.config import TrainConfig
from training.train import IGNORE_INDEX, METADATA_FILE, encode_pairs, prompt_for, train_adapter

PAIRS = [
    {"text": "ডেলিভারি চার্জ কত?", "completion": "ঢাকার ভিতরে ৬০ টাকা, বাইরে ১২০ টাকা।"},
    {"text": "How long does delivery take?", "completion": "1-2 days inside Dhaka."},
    {"text": "refund kobe pabo?", "completion": "Wallet e 24 ghontar moddhe refund pabe."},
    {"text": "আমার order cancel করব কীভাবে?", "completion": "My Orders থেকে Cancel চাপুন।"},
]


@pytest.fixture(scope="module")
def tokenizer(tiny_model_dir: Path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_model_dir)


def test_prompt_is_the_serving_prompt(tokenizer) -> None:
    # Serving answers a new banglish chat with the banglish instruction; training must match.
    assert prompt_for("refund kobe pabo?", tokenizer, compact=True) == build_prompt(
        "refund kobe pabo?", language="banglish", tokenizer=tokenizer, compact=True
    )
    assert prompt_for("আমার order cancel করব?", tokenizer, compact=True) == build_prompt(
        "আমার order cancel করব?", language="mixed", tokenizer=tokenizer, compact=True
    )


def test_loss_is_taken_on_the_answer_only(tokenizer) -> None:
    examples, skipped = encode_pairs(PAIRS, tokenizer, compact=True, max_length=256)
    assert skipped == 0 and len(examples) == len(PAIRS)
    for pair, example in zip(PAIRS, examples, strict=True):
        prompt_ids = tokenizer(
            prompt_for(pair["text"], tokenizer, compact=True), add_special_tokens=False
        )["input_ids"]
        answer_ids = tokenizer(
            completion_text(pair["completion"], tokenizer), add_special_tokens=False
        )["input_ids"]
        assert example.input_ids == prompt_ids + answer_ids
        assert example.labels == [IGNORE_INDEX] * len(prompt_ids) + answer_ids
        assert example.labels[-1] == tokenizer.eos_token_id


def test_long_examples_are_cut_or_skipped(tokenizer) -> None:
    long_answer = [{"text": "hi", "completion": "অনেক কথা " * 200}]
    examples, skipped = encode_pairs(long_answer, tokenizer, compact=True, max_length=64)
    assert skipped == 0 and len(examples[0].input_ids) == 64
    long_question = [{"text": "প্রশ্ন " * 200, "completion": "ok"}]
    assert encode_pairs(long_question, tokenizer, compact=True, max_length=64) == ([], 1)


def test_training_lowers_the_loss_and_saves_only_the_adapter(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    loaded = load_base(LoadConfig(str(tiny_model_dir), quantization="nf4"))
    config = TrainConfig(epochs=16, batch_size=2, learning_rate=1e-2, max_length=96, threads=1)
    out = tmp_path / "adapter"
    result = train_adapter(loaded, PAIRS, out, config, compact=True, metadata={"run_id": 7})

    first, last = result.loss_epochs[0][1], result.loss_epochs[-1][1]
    assert last < first - 0.3, result.loss_epochs
    assert result.steps == 32 and len(result.loss_steps) == 32
    assert result.loss_steps[-1][0] == pytest.approx(16.0)
    assert result.trainable_parameters < result.total_parameters
    assert sorted(p.name for p in out.iterdir()) == [
        "README.md",
        "adapter_config.json",
        "adapter_model.safetensors",
        METADATA_FILE,
    ]
    adapter_config = json.loads((out / "adapter_config.json").read_text())
    assert (adapter_config["r"], adapter_config["lora_alpha"]) == (32, 16)
    assert adapter_config["lora_dropout"] == 0.1 and adapter_config["bias"] == "none"
    assert adapter_config["task_type"] == "CAUSAL_LM"
    # all-linear: attention and MLP projections, never the output head.
    adapted = {name.rsplit(".", 1)[-1] for name in adapter_config["target_modules"]}
    assert adapted == {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}
    metadata = json.loads((out / METADATA_FILE).read_text())
    assert metadata["run_id"] == 7 and metadata["config"]["epochs"] == 16
    assert metadata["result"]["loss_epochs"][-1][1] == last


def test_target_modules_are_configurable(tiny_model_dir: Path, tmp_path: Path) -> None:
    loaded = load_base(LoadConfig(str(tiny_model_dir), quantization="nf4"))
    config = TrainConfig(epochs=1, batch_size=4, target_modules=("q_proj", "v_proj"), threads=1)
    train_adapter(loaded, PAIRS, tmp_path / "qv", config, compact=True)
    adapter_config = json.loads((tmp_path / "qv" / "adapter_config.json").read_text())
    assert set(adapter_config["target_modules"]) == {"q_proj", "v_proj"}


def test_training_after_generation_gets_lora_gradients(tiny_model_dir: Path, tmp_path: Path):
    """The AVX512-BF16 trap (model/loading.py): a generate first must not kill training."""
    loaded = load_base(LoadConfig(str(tiny_model_dir), quantization="nf4"))
    prompt = prompt_for("refund kobe pabo?", loaded.tokenizer, compact=True)
    encoded = loaded.tokenizer(prompt, add_special_tokens=False, return_tensors="pt")
    with torch.no_grad():
        loaded.model.generate(**encoded, max_new_tokens=4, do_sample=False)
    seen: list[float] = []

    def spy(step: int, total: int, loss: float) -> None:
        seen.append(loss)

    config = TrainConfig(epochs=4, batch_size=2, learning_rate=1e-2, threads=1)
    result = train_adapter(loaded, PAIRS, tmp_path / "a", config, compact=True, on_step=spy)
    assert len(seen) == result.steps
    assert result.loss_epochs[-1][1] < result.loss_epochs[0][1]
    # LoRA B starts at zero; only gradients that reached it can make it non-zero.
    from safetensors.torch import load_file

    weights = load_file(tmp_path / "a" / "adapter_model.safetensors")
    lora_b = [t for name, t in weights.items() if "lora_B" in name]
    assert lora_b and all(t.abs().sum() > 0 for t in lora_b)
