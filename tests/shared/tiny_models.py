"""The tiny starter-style model the model and training tests share, built once per session.

Import the fixture into a folder's ``conftest.py`` (``from tests.shared.tiny_models import
tiny_model_dir``). Each conftest that imports it gets its own fixture instance, so the build
goes to one fixed folder under the session's base temp directory and is reused when present.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from model.starter import is_starter_model
from training.data import CORPUS_DIR as DEFAULT_CORPUS_DIR
from training.starter import build_starter
from training.starter_config import DEFAULT, StarterConfig

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
    micro_batch=8,
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
    path = tmp_path_factory.getbasetemp() / "shared-models" / "tiny"
    if not is_starter_model(path):
        build_tiny(path)
    return path
