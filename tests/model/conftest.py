"""Fixtures of the model tests: the tiny starter-style model shared with the other suites."""

from __future__ import annotations

from tests.shared.tiny_models import TINY, build_tiny, tiny_model_dir

__all__ = ["TINY", "build_tiny", "tiny_model_dir"]
