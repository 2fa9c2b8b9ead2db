"""An optional sentence encoder blended into retrieval (``UTTOR_EMBEDDING_MODEL``).

Retrieval works without one: transliteration, concepts and TF-IDF (:mod:`model.retrieval`).
A deployment with a multilingual sentence-transformers model on disk can point
``UTTOR_EMBEDDING_MODEL`` at its folder; the cosine of the two questions' embeddings is then
averaged with the lexical one (:data:`DENSE_WEIGHT`), which helps paraphrases that share no
word. Nothing is downloaded: the folder must hold the model, and ``sentence-transformers``
must be installed; otherwise :func:`load_encoder` refuses with a message that says so.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from model.errors import ModelLoadError

__all__ = ["DENSE_WEIGHT", "Encoder", "EncoderUnavailable", "SentenceEncoder", "load_encoder"]

#: Share of the embedding cosine in a blended similarity (the rest is the lexical cosine).
DENSE_WEIGHT = 0.5


class EncoderUnavailable(ModelLoadError):
    """The configured encoder cannot be used (package missing, folder missing or broken);
    the command line reports it as it reports a base model that cannot load."""


class Encoder(Protocol):
    """Turns texts into unit vectors whose dot product is their similarity."""

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


class SentenceEncoder:
    """A local sentence-transformers model; embeddings of texts seen before are reused."""

    def __init__(self, model: Any) -> None:
        self._model = model
        self._cache: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if missing:
            vectors = self._model.encode(
                list(missing), normalize_embeddings=True, convert_to_numpy=True
            )
            with self._lock:
                self._cache.update(zip(missing, np.asarray(vectors, dtype=np.float32), strict=True))
        with self._lock:
            rows = [self._cache[t] for t in texts]
        return np.vstack(rows) if rows else np.zeros((0, 0), dtype=np.float32)


def load_encoder(folder: str) -> SentenceEncoder:
    """The sentence-transformers model in ``folder`` (CPU, local files only)."""
    path = Path(folder)
    if not path.is_dir():
        raise EncoderUnavailable(f"UTTOR_EMBEDDING_MODEL: no such folder {folder!r}")
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise EncoderUnavailable(
            "UTTOR_EMBEDDING_MODEL is set but sentence-transformers is not installed "
            "(pip install sentence-transformers), or unset it: retrieval works without it"
        ) from exc
    try:
        model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
    except Exception as exc:  # any load failure is a configuration problem to report
        raise EncoderUnavailable(f"UTTOR_EMBEDDING_MODEL {folder!r}: {exc}") from exc
    return SentenceEncoder(model)
