"""ROUGE for Bangla, English and mixed text.

rouge-score's default tokenizer keeps only ``[a-z0-9]``: every Bengali letter vanishes, so two
different Bangla sentences both become zero tokens (F1 0.0), and a Bangla sentence that shares
one number with the reference scores 1.0. :class:`BanglaTokenizer` replaces it:

* the text goes through :func:`model.text.normalize.normalize` (NFC, stable nukta form,
  ZWJ/ZWNJ and other invisibles dropped, Bengali digits as ASCII, casefold);
* a token is a maximal run of Unicode letters (``L*``), marks (``M*``) and decimal digits
  (``Nd``). Marks matter: Bengali vowel signs and hasanta are category ``Mc``/``Mn``, and
  Python's ``\\w`` does not match them, so ``re.findall(r"\\w+", "আমার")`` splits the word;
* no stemming (there is no Bangla stemmer in rouge-score, and English with stemming off equals
  rouge-score's own numbers).

ROUGE-Lsum needs sentences separated by newlines. rouge-score only splits on ``\\n``, which
model replies rarely contain, so :func:`split_sentences` adds a newline after the Bangla
danda ``।`` and double danda ``॥`` (always) and after ``.``, ``?`` and ``!`` when whitespace
follows (so decimals such as ``2.5`` and ids stay whole). Punctuation is never a token, so the
newlines change ROUGE-Lsum only; ROUGE-1/2/L are the same with or without them.

Corpus scores are the mean of per-pair F1, as the seed paper's tooling reports them.
"""

from __future__ import annotations

import functools
import re
import sys
import unicodedata
from collections.abc import Sequence
from typing import TYPE_CHECKING

from model.text.normalize import normalize

if TYPE_CHECKING:
    from rouge_score.rouge_scorer import RougeScorer

__all__ = [
    "ROUGE_KEYS",
    "BanglaTokenizer",
    "score_corpus",
    "score_pairs",
    "split_sentences",
]

#: The four ROUGE variants reported everywhere in uttor (all F1).
ROUGE_KEYS: tuple[str, ...] = ("rouge1", "rouge2", "rougeL", "rougeLsum")

_SENTENCE_END = re.compile(r"(?<=[।॥])[^\S\n]*|(?<=[.?!])[^\S\n]+")


@functools.cache
def _token_pattern() -> re.Pattern[str]:
    """Regex matching runs of letters, marks and decimal digits, built from unicodedata.

    Built once per process (about 0.2 s) from the running Python's Unicode tables, so it
    agrees with ``unicodedata.category`` instead of a hard-coded, ageing list.
    """
    ranges: list[tuple[int, int]] = []
    start: int | None = None
    for cp in range(sys.maxunicode + 2):
        ok = cp <= sys.maxunicode and _is_token_char(chr(cp))
        if ok and start is None:
            start = cp
        elif not ok and start is not None:
            ranges.append((start, cp - 1))
            start = None
    body = "".join(f"\\U{lo:08x}" if lo == hi else f"\\U{lo:08x}-\\U{hi:08x}" for lo, hi in ranges)
    return re.compile(f"[{body}]+")


def _is_token_char(ch: str) -> bool:
    cat = unicodedata.category(ch)
    return cat[0] in "LM" or cat == "Nd"


class BanglaTokenizer:
    """Tokenizer for ``RougeScorer(tokenizer=BanglaTokenizer())``: normalize, then letter runs."""

    def tokenize(self, text: str) -> list[str]:
        """Return the tokens of ``text`` (see the module docstring for the rules)."""
        return _token_pattern().findall(normalize(text))


def split_sentences(text: str) -> str:
    """Put each sentence on its own line (for ROUGE-Lsum); see the module docstring."""
    return _SENTENCE_END.sub("\n", text)


@functools.cache
def _scorer() -> RougeScorer:
    # Imported here: rouge-score pulls in nltk, too slow for commands that never score.
    from rouge_score.rouge_scorer import RougeScorer

    return RougeScorer(list(ROUGE_KEYS), use_stemmer=False, tokenizer=BanglaTokenizer())


def score_pairs(predictions: Sequence[str], references: Sequence[str]) -> list[dict[str, float]]:
    """F1 of each (prediction, reference) pair for every key in :data:`ROUGE_KEYS`.

    Raises ``ValueError`` when the two sequences differ in length.
    """
    if len(predictions) != len(references):
        raise ValueError(
            f"{len(predictions)} predictions but {len(references)} references; "
            "they must be aligned one to one"
        )
    scorer = _scorer()
    results: list[dict[str, float]] = []
    for prediction, reference in zip(predictions, references, strict=True):
        scores = scorer.score(split_sentences(reference), split_sentences(prediction))
        results.append({key: scores[key].fmeasure for key in ROUGE_KEYS})
    return results


def score_corpus(predictions: Sequence[str], references: Sequence[str]) -> dict[str, float]:
    """Mean per-pair F1 for every key in :data:`ROUGE_KEYS`.

    Raises ``ValueError`` for different lengths or when there are no pairs at all (a mean over
    nothing would silently read as a score of 0).
    """
    pairs = score_pairs(predictions, references)
    if not pairs:
        raise ValueError("no prediction/reference pairs to score")
    return {key: sum(p[key] for p in pairs) / len(pairs) for key in ROUGE_KEYS}
