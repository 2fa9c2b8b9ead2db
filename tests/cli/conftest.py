"""Fixtures of the command-line tests: the tiny starter-style model shared with the others."""

from __future__ import annotations

from tests.shared.tiny_models import tiny_model_dir

__all__ = ["tiny_model_dir"]
