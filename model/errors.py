"""Errors of the model layer that callers handle, importable without loading torch."""

from __future__ import annotations


class ModelLoadError(Exception):
    """The base model cannot be loaded; the message is one line fit to show an operator."""


class NoBaseModel(ModelLoadError):
    """Neither ``UTTOR_BASE_MODEL`` nor a starter model built by ``uttor init``."""
