"""The optional sentence encoder: blended into retrieval's similarity, refused when unusable."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from model.embeddings import (
    DENSE_WEIGHT,
    EncoderUnavailable,
    SentenceEncoder,
    load_encoder,
)
from model.errors import ModelLoadError
from model.retrieval import Entry, RetrievalIndex

# Texts that mean the same though they share no word: a tiny encoder knows it, TF-IDF cannot.
MEANINGS = {
    "Scrap the thing I picked": [1.0, 0.0, 0.0],
    "order batil korbo": [1.0, 0.0, 0.0],
    "Where is my parcel?": [0.0, 1.0, 0.0],
    "refund kobe pabo": [0.0, 0.0, 1.0],
}


class TableEncoder:
    """Unit vectors from a table: the encoder interface without a model."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(list(texts))
        return np.array([MEANINGS[t] for t in texts], dtype=np.float32)


def entries() -> list[Entry]:
    return [
        Entry("order batil korbo", "Cancel under My Orders.", "banglish", "cancel"),
        Entry("Where is my parcel?", "Track it under My Orders.", "en", "tracking"),
        Entry("refund kobe pabo", "5 working days.", "banglish", "refund"),
    ]


def test_the_embedding_cosine_is_blended_with_the_lexical_one() -> None:
    question = "Scrap the thing I picked"
    lexical = RetrievalIndex(entries())
    blended = RetrievalIndex(entries(), encoder=TableEncoder())
    plain = lexical.scores(lexical.vector(question), question)
    mixed = blended.scores(blended.vector(question), question)
    assert plain[0] == pytest.approx(0.0, abs=0.05)  # no word in common
    assert mixed[0] == pytest.approx((1 - DENSE_WEIGHT) * plain[0] + DENSE_WEIGHT * 1.0)
    assert blended.search(question, k=1)[0].entry.topic == "cancel"
    # Without the text (a feature vector only) the lexical score stands.
    assert blended.scores(blended.vector(question))[0] == pytest.approx(plain[0])


def test_the_sentence_encoder_encodes_each_text_once() -> None:
    class Model:
        def __init__(self) -> None:
            self.seen: list[str] = []

        def encode(self, texts: list[str], **options: Any) -> np.ndarray:
            assert options == {"normalize_embeddings": True, "convert_to_numpy": True}
            self.seen += texts
            return np.array([MEANINGS[t] for t in texts])

    model = Model()
    encoder = SentenceEncoder(model)
    first = encoder.encode(["order batil korbo", "refund kobe pabo"])
    again = encoder.encode(["refund kobe pabo", "order batil korbo", "refund kobe pabo"])
    assert model.seen == ["order batil korbo", "refund kobe pabo"]
    assert np.array_equal(again[1], first[0]) and again.shape == (3, 3)


def test_an_unusable_encoder_is_refused_with_a_reason(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(EncoderUnavailable, match="no such folder"):
        load_encoder(str(tmp_path / "missing"))
    real_import = builtins.__import__

    def without_the_package(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "sentence_transformers":
            raise ImportError("not installed")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", without_the_package)
    with pytest.raises(EncoderUnavailable, match="sentence-transformers is not installed"):
        load_encoder(str(tmp_path))
    assert issubclass(EncoderUnavailable, ModelLoadError)  # the CLI reports it in one line
