"""A real vLLM server for the tests in this folder, started once per session.

vLLM runs from its own virtual environment (it pins a transformers older than ours):
``UTTOR_TEST_VLLM_PYTHON`` names that environment's python, and CI sets it (``.ci/run``
creates the environment); without it, ``.venv-vllm/bin/python`` in the checkout is used when
present, and the tests skip with a reason when neither is. When the variable is set, a
missing python or a server that does not start fails the tests instead: CI must not pass by
skipping them.

The server serves the quick starter model (``uttor init --quick``'s recipe) in bf16 with
run-time LoRA; it starts in about 30 s.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from model.backends.vllm_server import DEFAULT_PYTHON, ServerFailed, ServerProcess, start_server
from model.starter import QUICK_NAME, is_starter_model
from training.data import CORPUS_DIR
from training.starter import build_starter
from training.starter_config import QUICK

VLLM_PYTHON_ENV = "UTTOR_TEST_VLLM_PYTHON"
# Read once at import: the autouse fixture of tests/conftest.py removes UTTOR_ variables
# from the environment of every test.
CONFIGURED = os.environ.get(VLLM_PYTHON_ENV)
#: The LoRA rank the server accepts (the nightly training's); a test goes above it.
MAX_LORA_RANK = 32
SERVED_NAME = "uttor-test-base"


def vllm_python() -> Path:
    """vLLM's python, or a skip (nothing configured) / failure (configured but missing)."""
    if CONFIGURED:
        path = Path(CONFIGURED)
        if not path.is_file():
            pytest.fail(f"{VLLM_PYTHON_ENV}={CONFIGURED}: no such file")
        return path
    if DEFAULT_PYTHON.is_file():
        return DEFAULT_PYTHON
    pytest.skip(
        f"no vLLM environment: set {VLLM_PYTHON_ENV} or create .venv-vllm "
        "(python3.11 -m venv .venv-vllm; see .ci/run for what to install)"
    )


@pytest.fixture(scope="session")
def quick_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The quick starter model, built once per session (about 16 s)."""
    path = tmp_path_factory.getbasetemp() / "shared-models" / QUICK_NAME
    if not is_starter_model(path):
        build_starter(path, corpus_dir=CORPUS_DIR, config=QUICK, progress=False)
    return path


@pytest.fixture(scope="session")
def vllm_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """A vLLM server on the quick starter model, stopped at the end of the session."""
    python = vllm_python()  # skip before building a model nothing will serve
    quick_model_dir: Path = request.getfixturevalue("quick_model_dir")
    log = tmp_path_factory.mktemp("vllm-server") / "server.log"
    try:
        server = start_server(
            str(quick_model_dir),
            python=python,
            log=log,
            served_name=SERVED_NAME,
            max_lora_rank=MAX_LORA_RANK,
        )
    except ServerFailed as exc:
        pytest.fail(f"the vLLM server did not start: {exc}")
    try:
        yield server
    finally:
        server.stop()
