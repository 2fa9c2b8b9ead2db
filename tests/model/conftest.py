"""Fixtures of the model tests: one tiny starter-style model, built once per session."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from model.starter import DEFAULT, DEFAULT_CORPUS_DIR, StarterConfig, build_starter

#: A model small enough to build in seconds, trained on a slice of the real corpus so that it
#: has a real byte-level BPE tokenizer with Bengali merges and produces stable greedy text.
TINY = replace(
    DEFAULT,
    name="tiny",
    vocab_size=800,
    hidden_size=64,
    intermediate_size=128,
    num_layers=2,
    num_heads=2,
    max_positions=512,
    block_size=64,
    batch_size=8,
    # Enough steps (at a high rate) that greedy replies are short words, not empty.
    steps=40,
    learning_rate=1e-2,
    warmup_steps=5,
    max_chars=25_000,
)


def build_tiny(path: Path, config: StarterConfig = TINY) -> Path:
    build_starter(path, corpus_dir=DEFAULT_CORPUS_DIR, config=config, progress=False)
    return path


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Directory of the tiny model (weights, tokenizer, starter marker)."""
    return build_tiny(tmp_path_factory.mktemp("models") / "tiny")
