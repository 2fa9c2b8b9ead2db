"""QLoRA training on the tiny model: serving's prompt, loss on the answer only, loss falls."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from model.config import PromptConfig
from model.loading import LoadConfig, load_base
from model.prompting import Turn, build_prompt, completion_text
from training.config import TrainConfig
from training.train import (
    IGNORE_INDEX,
    METADATA_FILE,
    encode_pairs,
    example_prompt,
    prompt_for,
    train_adapter,
)

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
        prompt = prompt_for(pair["text"], tokenizer, compact=True)
        prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
        joint = prompt + completion_text(pair["completion"], tokenizer)
        assert example.input_ids == tokenizer(joint, add_special_tokens=False)["input_ids"]
        assert example.input_ids[: len(prompt_ids)] == prompt_ids
        assert (
            example.labels
            == [IGNORE_INDEX] * len(prompt_ids) + example.input_ids[len(prompt_ids) :]
        )
        assert example.labels[-1] == tokenizer.eos_token_id


def test_long_examples_are_dropped_never_cut(tokenizer) -> None:
    long_answer = [{"text": "hi", "completion": "অনেক কথা " * 200}]
    assert encode_pairs(long_answer, tokenizer, compact=True, max_length=64) == ([], 1)
    long_question = [{"text": "প্রশ্ন " * 200, "completion": "ok"}]
    assert encode_pairs(long_question, tokenizer, compact=True, max_length=64) == ([], 1)
    examples, skipped = encode_pairs([*long_answer, *PAIRS], tokenizer, compact=True, max_length=96)
    assert skipped == 1 and len(examples) == len(PAIRS)
    assert all(e.labels[-1] == tokenizer.eos_token_id for e in examples)


#: What the bot stored with a reply: the chat's earlier turns, a preference for English (the
#: question itself is Banglish) and the system prompt of that reply language.
HISTORY = (
    Turn("user", "amar order BG-4411 ta kothay?"),
    Turn("assistant", "Your order BG-4411 left the Dhaka hub today."),
)


def _served(tokenizer, question: str = "kobe pabo tahole?") -> str:
    return build_prompt(question, language="en", history=HISTORY, tokenizer=tokenizer, compact=True)


def test_database_pairs_train_on_the_prompt_served(tokenizer) -> None:
    served = _served(tokenizer)
    pair = {
        "text": "kobe pabo tahole?",
        "completion": "Tomorrow before 8 pm.",
        "reply_language": "en",
        "history": [{"role": t.role, "text": t.text} for t in HISTORY],
        "prompt": served,
    }
    assert example_prompt(pair, tokenizer, compact=True) == (served, True)
    # Not what a history-free rebuild with a fresh detection (Banglish) would train on.
    assert served != prompt_for(pair["text"], tokenizer, compact=True)
    (example,), _ = encode_pairs([pair], tokenizer, compact=True, max_length=256)
    served_ids = tokenizer(served, add_special_tokens=False)["input_ids"]
    assert example.input_ids[: len(served_ids)] == served_ids
    assert example.labels.count(IGNORE_INDEX) == len(served_ids)

    # No stored prompt (a memory answer, a handoff): serving's builder, stored reply language.
    built = {key: value for key, value in pair.items() if key != "prompt"}
    assert example_prompt(built, tokenizer, compact=True) == (served, False)
    # A prompt stored under another chat format is not trained on; the builder is used.
    foreign = {**pair, "prompt": "<|im_start|>user\nkobe pabo tahole?<|im_end|>"}
    assert example_prompt(foreign, tokenizer, compact=True) == (served, False)
    # Shipped pairs carry nothing served: a new chat's prompt, as before.
    shipped = {"text": pair["text"], "completion": pair["completion"]}
    assert example_prompt(shipped, tokenizer, compact=True) == (
        prompt_for(pair["text"], tokenizer, compact=True),
        False,
    )
    # The prompt configuration (history budget) is the one serving uses.
    no_history = PromptConfig(history_tokens=0)
    assert example_prompt(built, tokenizer, compact=True, config=no_history)[0] == build_prompt(
        pair["text"], language="en", tokenizer=tokenizer, compact=True, config=no_history
    )


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
    assert metadata["result"]["served_prompts"] == 0  # shipped-style pairs only
    assert metadata["result"]["loss_epochs"][-1][1] == last


def test_target_modules_are_configurable(tiny_model_dir: Path, tmp_path: Path) -> None:
    loaded = load_base(LoadConfig(str(tiny_model_dir), quantization="nf4"))
    config = TrainConfig(epochs=1, batch_size=4, target_modules=("q_proj", "v_proj"), threads=1)
    served = {
        "text": "kobe pabo tahole?",
        "completion": "Tomorrow before 8 pm.",
        "reply_language": "en",
        "prompt": _served(loaded.tokenizer),
    }
    result = train_adapter(loaded, [*PAIRS, served], tmp_path / "qv", config, compact=True)
    adapter_config = json.loads((tmp_path / "qv" / "adapter_config.json").read_text())
    assert set(adapter_config["target_modules"]) == {"q_proj", "v_proj"}
    assert result.served_prompts == 1 and result.examples == len(PAIRS) + 1


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
