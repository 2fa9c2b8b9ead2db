"""Correction memory: answer a near-duplicate of a corrected question with the agent's answer.

An agent's correction helps at once, long before the nightly retrain. When a customer's
question is a near-duplicate of a question an agent corrected, the corrected answer is sent
(source ``memory``). The shipped knowledge base (FAQ pairs) is searched the same way after the
corrections; a correction always wins over a knowledge pair.

Similarity is a weighted Jaccard index of the two questions' sets of character trigrams,
after the project's normalization (:func:`model.text.normalize.normalize`: NFC, nukta, digits,
case, spaces) with punctuation removed. Trigrams need no language knowledge, so Bengali
script, English, Banglish and mixed text are treated alike. Each trigram weighs its inverse
document frequency over all remembered questions: words every question has ("my order",
"আপনাদের") count little, words few have count a lot, so "আপনাদের রিটার্ন পলিসি কী?" still
matches "রিটার্ন পলিসি কী?" while "When will my order arrive?" no longer matches "I'm in
Mirpur, when will my order arrive?" (whose answer names Mirpur), as plain Jaccard did. An
inverted index over trigrams limits a lookup to the entries that share a trigram with it.

Only ``active`` corrections are indexed; superseded and rejected ones never answer. Every
lookup first compares a cheap fingerprint of the corrections and the knowledge base with the
one the index was built from and rebuilds on a change, so a correction written by any
process is used by the next question.
"""

from __future__ import annotations

import logging
import math
import threading
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from model.config import MemoryConfig
from model.text.normalize import normalize
from storage.corrections import active_corrections, active_corrections_stamp
from storage.db import Database
from storage.knowledge import knowledge_pairs, knowledge_stamp

log = logging.getLogger(__name__)

Origin = Literal["correction", "knowledge"]


@dataclass(frozen=True)
class MemoryEntry:
    """A question with the answer to give when a customer asks it again."""

    question: str
    answer: str
    language: str | None
    origin: Origin
    ref_id: int | None = None
    """The correction's id (``None`` for knowledge pairs)."""


@dataclass(frozen=True)
class MemoryHit:
    """The remembered entry that matched, and how closely."""

    entry: MemoryEntry
    score: float


def comparable(text: str) -> str:
    """Normalized text with punctuation and symbols dropped (letters, marks, digits kept)."""
    kept = (
        ch if unicodedata.category(ch)[0] in "LMN" or ch.isspace() else " "
        for ch in normalize(text)
    )
    return " ".join("".join(kept).split())


def trigrams(text: str) -> frozenset[str]:
    """The set of character trigrams of :func:`comparable` text, padded with spaces."""
    padded = f" {comparable(text)} "
    return frozenset(padded[i : i + 3] for i in range(len(padded) - 2))


class Idf:
    """Inverse document frequency of trigrams over a set of questions.

    A trigram no question has weighs as much as one only one question has: with few questions
    (a handful of corrections) every weight is then 1, which is plain Jaccard.
    """

    def __init__(self, questions: Sequence[str] = ()) -> None:
        self.count = len(questions)
        self.frequency: Counter[str] = Counter(g for q in questions for g in trigrams(q))

    def weight(self, gram: str) -> float:
        return math.log((self.count + 1) / (max(self.frequency.get(gram, 0), 1) + 1)) + 1.0


def similarity(a: str, b: str, idf: Idf | None = None) -> float:
    """Weighted trigram Jaccard similarity in [0, 1] (plain Jaccard without ``idf``)."""
    first, second = trigrams(a), trigrams(b)
    weight = idf.weight if idf is not None else (lambda gram: 1.0)
    union = sum(weight(g) for g in first | second)
    return sum(weight(g) for g in first & second) / union if union else 0.0


class MemoryIndex:
    """Trigram inverted index over entries; :meth:`best` finds the most similar question."""

    def __init__(self, entries: Sequence[MemoryEntry], idf: Idf | None = None) -> None:
        self.entries = list(entries)
        self.idf = idf if idf is not None else Idf([e.question for e in self.entries])
        self._mass: list[float] = []
        self._postings: dict[str, list[int]] = defaultdict(list)
        for index, entry in enumerate(self.entries):
            grams = trigrams(entry.question)
            self._mass.append(sum(self.idf.weight(g) for g in grams))
            for gram in grams:
                self._postings[gram].append(index)

    def __len__(self) -> int:
        return len(self.entries)

    def best(self, question: str) -> MemoryHit | None:
        """The most similar entry (ties: the later entry, i.e. the newer correction)."""
        grams = trigrams(question)
        if not grams:
            return None
        mass = 0.0
        shared: dict[int, float] = defaultdict(float)
        for gram in grams:
            weight = self.idf.weight(gram)
            mass += weight
            for index in self._postings.get(gram, ()):
                shared[index] += weight
        best_index, best_score = -1, -1.0
        for index, common in shared.items():
            score = common / (mass + self._mass[index] - common)
            if score > best_score or (score == best_score and index > best_index):
                best_index, best_score = index, score
        return MemoryHit(self.entries[best_index], best_score) if best_index >= 0 else None


def load_entries(session: Any, *, use_knowledge: bool = True) -> list[MemoryEntry]:
    """Active corrections (oldest first), then the knowledge base."""
    entries = [
        MemoryEntry(c.question, c.answer, c.language, "correction", c.correction_id)
        for c in active_corrections(session)
        if c.question.strip()
    ]
    if use_knowledge:
        entries += [MemoryEntry(q, a, lang, "knowledge") for q, a, lang in knowledge_pairs(session)]
    return entries


def memory_stamp(session: Any) -> tuple[Any, ...]:
    """Changes whenever the entries :func:`load_entries` would return change."""
    return (*active_corrections_stamp(session), *knowledge_stamp(session))


class CorrectionMemory:
    """Looks up questions in the corrections and knowledge base, kept fresh from the database."""

    def __init__(
        self,
        database: Database,
        config: MemoryConfig | None = None,
        *,
        loader: Callable[..., list[MemoryEntry]] = load_entries,
        stamp: Callable[[Any], tuple[Any, ...]] = memory_stamp,
    ) -> None:
        self.database = database
        self.config = config or MemoryConfig()
        self._loader = loader
        self._stamp_of = stamp
        self._stamp: tuple[Any, ...] | None = None
        self._corrections = MemoryIndex([])
        self._knowledge = MemoryIndex([])
        self._lock = threading.Lock()

    def refresh(self) -> None:
        """Rebuild the index now (call after writing a correction to skip even the check)."""
        with self._lock:
            self._stamp = None
        self._ensure_fresh()

    def lookup(self, question: str, *, session: Any = None) -> MemoryHit | None:
        """The remembered answer for ``question``, or ``None`` when nothing is close enough.

        ``session``: an open database session to check freshness in (saves opening one).
        """
        if len(comparable(question)) < self.config.min_chars:
            return None
        if session is None:
            self._ensure_fresh()
        else:
            self._check(session)
        with self._lock:
            indexes = (self._corrections, self._knowledge)
        for index in indexes:
            hit = index.best(question)
            if hit is not None and hit.score >= self.config.threshold:
                return hit
        return None

    def _ensure_fresh(self) -> None:
        with self.database.read() as session:
            self._check(session)

    def _check(self, session: Any) -> None:
        """Rebuild the indexes when the database's fingerprint changed since the last build."""
        stamp = self._stamp_of(session)
        if stamp == self._stamp:
            return
        entries = self._loader(session, use_knowledge=self.config.use_knowledge)
        # One weighting for both: what is common among all remembered questions.
        idf = Idf([e.question for e in entries])
        corrections = MemoryIndex([e for e in entries if e.origin == "correction"], idf)
        knowledge = MemoryIndex([e for e in entries if e.origin == "knowledge"], idf)
        with self._lock:
            self._corrections, self._knowledge, self._stamp = corrections, knowledge, stamp
        log.debug("memory: %d corrections, %d knowledge pairs", len(corrections), len(knowledge))
