"""The starter model: corpus parsing, the byte-level BPE tokenizer, deterministic builds."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoTokenizer

from model.prompting import FORMAT_TOKENS, PromptConfig, build_prompt
from model.starter import MARKER, default_model_dir, is_starter_model
from tests.shared.tiny_models import TINY, build_tiny
from training.starter import ensure_starter_model
from training.starter_corpus import parse_document, train_tokenizer, training_text

BANGLA = [
    "আমার অর্ডার কবে আসবে?",
    "অর্ডার নম্বরটি দিন, আমি দেখছি।",
    "দুঃখিত, পার্সেল পৌঁছাতে একটু দেরি হচ্ছে।",
    "রিফান্ড কবে পাব? আমার টাকা এখনো আসেনি।",
    "ধন্যবাদ, আপনার দিন ভালো কাটুক।",
] * 20


def test_pre_tokenizer_keeps_vowel_signs_inside_bengali_words(tiny_model_dir: Path) -> None:
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    text = "আমার অর্ডার কবে আসবে?"
    pieces = tokenizer.backend_tokenizer.pre_tokenizer.pre_tokenize_str(text)
    words = [text[start:end] for _, (start, end) in pieces]
    assert words == ["আমার", " অর্ডার", " কবে", " আসবে", "?"]


@pytest.mark.parametrize(
    "text",
    [
        "আমার অর্ডার কবে আসবে? ৳৫০০ দিয়েছি।",
        "আমার order টা cancel করতে চাই 🙏",
        "amar order ta kobe ashbe vai?",
        "Where is my order BG-10002345?",
        "য় ড় ঢ় ৎ ক্ষ জ্ঞ\u200c",
    ],
)
def test_any_text_round_trips_without_unknown_tokens(tiny_model_dir: Path, text: str) -> None:
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    assert tokenizer.unk_token is None  # byte-level: every byte has a token
    assert tokenizer.decode(ids) == text


def test_bpe_learns_whole_bengali_words() -> None:
    tokenizer = train_tokenizer(BANGLA, vocab_size=400)
    ids = tokenizer("আমার অর্ডার কবে আসবে?", add_special_tokens=False)["input_ids"]
    assert len(ids) == 5  # four words and the question mark


def test_chat_markers_are_single_tokens(tiny_model_dir: Path) -> None:
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    for marker in (*FORMAT_TOKENS, "<s>", "</s>"):
        assert len(tokenizer(marker, add_special_tokens=False)["input_ids"]) == 1


def test_dialogues_and_paragraphs_are_told_apart() -> None:
    dialogue = parse_document(
        "গ্রাহক: আমার অর্ডার কবে আসবে?\nএজেন্ট: অর্ডার নম্বরটি দিন।\nএজেন্ট: ধন্যবাদ।",
        register="bn",
        source="bn.txt",
    )
    assert dialogue is not None and [t.role for t in dialogue.turns] == [
        "user",
        "assistant",
        "assistant",
    ]
    paragraph = parse_document(
        "Refunds take time.\nThanks: for waiting.", register="en", source="x"
    )
    assert paragraph is not None and paragraph.turns == () and paragraph.text


def test_dialogues_are_pretrained_in_the_serving_prompt_format() -> None:
    document = parse_document(
        "Customer: amar order kobe ashbe?\nAgent: Order number ta din.\nAgent: Dhonnobad.",
        register="banglish",
        source="banglish.txt",
    )
    assert document is not None
    text = training_text(document)
    prompt = build_prompt(
        "amar order kobe ashbe?", language="banglish", config=PromptConfig(), compact=True
    )
    assert text == f"{prompt} Order number ta din. Dhonnobad. </s>"


def test_the_build_is_deterministic(tmp_path: Path) -> None:
    config = replace(TINY, steps=3, max_chars=8_000)
    first = build_tiny(tmp_path / "a", config)
    second = build_tiny(tmp_path / "b", config)
    assert (first / "tokenizer.json").read_bytes() == (second / "tokenizer.json").read_bytes()
    weights_a = load_file(first / "model.safetensors")
    weights_b = load_file(second / "model.safetensors")
    assert weights_a.keys() == weights_b.keys()
    assert all(torch.equal(weights_a[name], weights_b[name]) for name in weights_a)
    other_seed = build_tiny(tmp_path / "c", replace(config, seed=7))
    weights_c = load_file(other_seed / "model.safetensors")
    assert not all(torch.equal(weights_a[name], weights_c[name]) for name in weights_a)


def test_model_card_and_marker_record_size_data_and_loss(tiny_model_dir: Path) -> None:
    report = json.loads((tiny_model_dir / MARKER).read_text(encoding="utf-8"))
    assert report["parameters"] > 0 and report["train_loss"] > 0 and report["val_loss"] > 0
    assert set(report["corpus"]["files"]) >= {"bn.txt", "en.txt"}
    card = (tiny_model_dir / "README.md").read_text(encoding="utf-8")
    assert f"{report['parameters']:,}" in card and "held-out loss" in card


def test_an_existing_starter_model_is_not_rebuilt(tiny_model_dir: Path, tmp_path: Path) -> None:
    models = tmp_path / "models"
    assert default_model_dir(models) is None
    shutil.copytree(tiny_model_dir, models / "starter-quick")
    before = (models / "starter-quick" / "model.safetensors").stat().st_mtime_ns
    path = ensure_starter_model(models, corpus_dir=tmp_path / "no-corpus", quick=True)
    assert path == models / "starter-quick" and is_starter_model(path)
    assert (path / "model.safetensors").stat().st_mtime_ns == before
    assert default_model_dir(models) == path


def test_a_half_built_directory_is_not_a_model(tmp_path: Path) -> None:
    (tmp_path / "starter").mkdir()
    (tmp_path / "starter" / "config.json").write_text("{}")
    assert not is_starter_model(tmp_path / "starter")
    with pytest.raises(FileNotFoundError):
        ensure_starter_model(tmp_path, corpus_dir=tmp_path / "no-corpus")


def test_bf16_autocast_only_where_the_cpu_does_bf16(monkeypatch: pytest.MonkeyPatch) -> None:
    # Emulated bf16 (an AVX2-only CPU) is many times slower than fp32: the build uses fp32 there.
    from training import starter

    asks = replace(TINY, bf16_autocast=True)
    monkeypatch.setattr(starter, "bf16_native", lambda: False)
    assert not starter.bf16_autocast(asks)
    monkeypatch.setattr(starter, "bf16_native", lambda: True)
    assert starter.bf16_autocast(asks)
    assert not starter.bf16_autocast(replace(TINY, bf16_autocast=False))
