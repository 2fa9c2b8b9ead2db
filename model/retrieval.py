"""Retrieval over what the company knows: knowledge-base entries and agents' corrections.

A customer asks in Bangla, English, Banglish or a mix; the entry that answers may be written
in any of the four. Questions are compared through features that the registers share:

* ``k:`` the consonant skeleton of each word's stem (:func:`model.text.translit.skeleton`):
  ``ডেলিভারি``, ``delivery`` and ``delivary`` are one feature;
* ``f:`` the folded spelling of each stem (:func:`model.text.translit.fold`), which keeps the
  vowels the skeleton drops and so tells ``kata`` from ``koto``;
* ``c:`` the concepts of :mod:`model.text.concepts`: ``cancel``, ``বাতিল`` and ``batil`` are
  one concept, ``how long`` and ``কত দিন`` another;
* ``n:`` numbers, with Bengali digits read as ASCII;
* ``r:`` the delivery region a place name belongs to (:func:`model.text.entities.regions`):
  Jatrabari and Uttara are both ``dhaka``, Sylhet and "outside Dhaka" both ``district``;
* ``p:`` concept pairs in order of the text, so that "refund when" differs from "when
  refund"less than from "refund how".

Each feature weighs its family's weight times its inverse document frequency; a question is
the L2-normalized sum of its features, and similarity is the cosine of two questions, in
[0, 1]. Entries are held in an inverted index: a lookup touches only the entries that share
a feature with the question, scored with one ``numpy.bincount`` over their postings, so 10,000
entries answer in about a millisecond. A question is cut to :data:`MAX_CHARS` characters
first, so a pasted essay costs no more than a long message.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np

from model.embeddings import DENSE_WEIGHT, Encoder
from model.text.concept_lookup import STOP_KEYS, concepts_of, key
from model.text.entities import place_word, regions
from model.text.translit import fold, skeleton, stem, words

__all__ = [
    "MAX_CHARS",
    "Entry",
    "Hit",
    "RetrievalIndex",
    "features",
]

Origin = Literal["knowledge", "correction"]

#: Characters of a question that retrieval reads; the rest of a longer message is ignored.
MAX_CHARS = 1000


#: Weight of each feature family (see the module doc).
WEIGHTS = {"k": 1.0, "f": 0.6, "c": 1.6, "n": 1.2, "p": 0.5, "r": 1.0}


@dataclass(frozen=True)
class Entry:
    """A question the company has answered, and the answer."""

    question: str
    answer: str
    register: str | None
    """bn, en, banglish or mixed (``None``: not known)."""
    topic: str | None = None
    """What it is about; entries of one topic answer it in each register."""
    origin: Origin = "knowledge"
    ref_id: int | None = None
    """The correction's or the knowledge entry's id."""


@dataclass(frozen=True)
class Hit:
    """An entry and how close its question is to the one asked (cosine, 0 to 1)."""

    entry: Entry
    score: float
    index: int
    """The entry's position in the index."""


#: Concepts a question names by two of its parts, however far apart: "I returned the shoes,
#: when will the money reach my bKash?" asks about the refund without the word.
COMPOUNDS: dict[str, frozenset[str]] = {"refund": frozenset({"return", "money"})}


def features(text: str) -> Counter[str]:
    """The features of ``text`` with their counts (before inverse document frequency)."""
    return Counter(dict(_features(text[:MAX_CHARS])))


@lru_cache(maxsize=32768)
def _features(text: str) -> tuple[tuple[str, int], ...]:
    # Cached: the index is rebuilt whenever a correction arrives, from mostly the same texts.
    counts: Counter[str] = Counter()
    tokens = words(text)
    for token in tokens:
        if token[0].isdigit():
            counts["n:" + token.lstrip("0")[:16]] += 1
            continue
        base = stem(token)
        if key(base) in STOP_KEYS or place_word(token):
            # A place counts by its delivery region (``r:``), not by its spelling: "Mohakhali,
            # when will it reach me?" is the question stored as "I'm in Mirpur, when…".
            continue
        counts["f:" + fold(base)] += 1
        bones = skeleton(base)
        if bones:
            counts["k:" + bones] += 1
    for region in regions(text):
        counts["r:" + region] += 1
    found = concepts_of(tokens)
    for name in found:
        counts["c:" + name] += 1
    for name, parts in COMPOUNDS.items():
        if name not in found and parts <= set(found):
            # Named by its parts, it counts once for each: "return korle rocket e taka ashte
            # koto din?" is about the refund's money more than about returning.
            counts["c:" + name] += len(parts)
    for first, second in zip(found, found[1:], strict=False):
        if first != second:
            counts[f"p:{first}>{second}"] += 1
    return tuple(counts.items())


class RetrievalIndex:
    """Cosine similarity of TF-IDF features, over an inverted index of the entries."""

    def __init__(self, entries: Iterable[Entry], *, encoder: Encoder | None = None) -> None:
        self.entries: list[Entry] = list(entries)
        self._encoder = encoder
        self._dense = (
            encoder.encode([e.question[:MAX_CHARS] for e in self.entries])
            if encoder is not None and self.entries
            else None
        )
        raw = [features(e.question) for e in self.entries]
        frequency: Counter[str] = Counter(f for counts in raw for f in counts)
        size = len(self.entries)
        self._idf = {f: math.log((size + 1) / (n + 0.5)) for f, n in frequency.items()}
        # A feature no entry has weighs as much as one only one entry has: with a handful of
        # entries (a few corrections) every weight is then alike, which is plain cosine.
        self._unseen_idf = math.log((size + 1) / 1.5)
        postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for index, counts in enumerate(raw):
            vector = self._vector(counts)
            for feature, weight in vector.items():
                postings[feature].append((index, weight))
        self._postings = {
            f: (np.fromiter((i for i, _ in p), np.int64), np.fromiter((w for _, w in p), float))
            for f, p in postings.items()
        }
        self._vectors = [self._vector(counts) for counts in raw]
        self._answers: list[dict[str, float] | None] = [None] * size
        # Topic centroids: the mean direction of a topic's questions, so that a question
        # sharing words with several of them (not one in particular) still finds the topic.
        sums: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        for entry, vector in zip(self.entries, self._vectors, strict=True):
            if entry.topic is not None:
                for feature, weight in vector.items():
                    sums[entry.topic][feature] += weight
        self._centroids = {topic: _unit(dict(total)) for topic, total in sums.items()}
        members: dict[tuple[str, str | None], list[int]] = defaultdict(list)
        for index, entry in enumerate(self.entries):
            if entry.topic is not None and entry.origin == "knowledge":
                members[(entry.topic, entry.register)].append(index)
        self._members = {key: np.array(found, np.int64) for key, found in members.items()}

    def __len__(self) -> int:
        return len(self.entries)

    def _vector(self, counts: Counter[str]) -> dict[str, float]:
        return _unit(
            {
                f: WEIGHTS[f[0]] * self._idf.get(f, self._unseen_idf) * (1.0 + math.log(n))
                for f, n in counts.items()
            }
        )

    def vector(self, question: str) -> dict[str, float]:
        """The unit TF-IDF vector of ``question`` under this index's weights."""
        return self._vector(features(question))

    def similarity(self, vector: dict[str, float], index: int) -> float:
        """Cosine of a question's :meth:`vector` and entry ``index``'s question."""
        return _dot(vector, self._vectors[index])

    def answer_similarity(self, vector: dict[str, float], index: int) -> float:
        """Cosine of a question's :meth:`vector` and entry ``index``'s answer (computed on first
        use: only the entries of a chosen topic are ever compared with their answers)."""
        return _dot(vector, self._answer(index))

    def topic_score(self, vector: dict[str, float], topic: str) -> float:
        """Cosine of a question's :meth:`vector` and the centroid of ``topic``'s questions."""
        centroid = self._centroids.get(topic)
        return _dot(vector, centroid) if centroid else 0.0

    def local_similarities(
        self,
        vector: dict[str, float],
        indexes: Sequence[int],
        context: Sequence[int] | None = None,
        size: int | None = None,
    ) -> list[tuple[float, float]]:
        """(question, answer) similarities of ``vector`` with each of ``indexes``, with each
        feature re-weighted by how rare it is among the ``context`` entries (default: those).

        Inside one topic every question says "delivery" or "refund"; what tells its entries
        apart ("free", "outside", "how many days") is what few of them say, so that is what
        picks the entry that states the fact asked about. ``size``: how many entries the
        context stands for (the whole topic; those sharing no feature with the question
        change no count).
        """
        context = indexes if context is None else context
        frequency: Counter[str] = Counter()
        for i in context:
            frequency.update(set(self._vectors[i]) | set(self._answer(i)))
        size = len(context) if size is None else size
        local = {f: math.log((size + 1) / (frequency[f] + 0.5)) for f in vector}
        asked = _unit({f: w * local[f] for f, w in vector.items()})
        return [
            (
                _local_dot(asked, self._vectors[i], local),
                _local_dot(asked, self._answer(i), local),
            )
            for i in indexes
        ]

    def _answer(self, index: int) -> dict[str, float]:
        answer = self._answers[index]
        if answer is None:
            answer = self._answers[index] = self._vector(features(self.entries[index].answer))
        return answer

    def answers_similarity(self, first: int, second: int) -> float:
        """Cosine of two entries' answers: whether they state the same thing (across
        registers the numbers, names and concepts of a fact are what they share)."""
        return _dot(self._answer(first), self._answer(second))

    def members(self, topic: str, register: str | None) -> list[int]:
        """Indexes of the knowledge entries of ``topic`` in ``register``, in entry order."""
        found = self._members.get((topic, register))
        return [] if found is None else found.tolist()

    def topic_size(self, topic: str) -> int:
        """How many knowledge entries ``topic`` has, in all registers."""
        return sum(len(v) for (t, _), v in self._members.items() if t == topic)

    def best_members(
        self, topic: str, register: str | None, scores: np.ndarray, limit: int
    ) -> list[int]:
        """The ``limit`` entries of ``topic`` in ``register`` with the highest ``scores``
        (of :meth:`scores`) above zero, best first."""
        found = self._members.get((topic, register))
        if found is None:
            return []
        ranked = found[np.argsort(-scores[found], kind="stable")][:limit]
        return [int(i) for i in ranked if scores[i] > 0]

    def scores(self, vector: dict[str, float], text: str | None = None) -> np.ndarray:
        """Similarity of a question (its :meth:`vector`, and its ``text`` when the index has
        an encoder) with every entry, by entry index: the lexical cosine, blended with the
        embeddings' cosine (:data:`model.embeddings.DENSE_WEIGHT`) when there are some."""
        indexes, weights = [], []
        for feature, weight in vector.items():
            posting = self._postings.get(feature)
            if posting is not None:
                indexes.append(posting[0])
                weights.append(posting[1] * weight)
        lexical = (
            np.bincount(
                np.concatenate(indexes), np.concatenate(weights), minlength=len(self.entries)
            )
            if indexes
            else np.zeros(len(self.entries))
        )
        if self._dense is None or self._encoder is None or text is None:
            return lexical
        asked = self._encoder.encode([text[:MAX_CHARS]])[0]
        dense = np.clip(self._dense @ asked, 0.0, 1.0)
        return (1 - DENSE_WEIGHT) * lexical + DENSE_WEIGHT * dense

    def search(
        self,
        question: str | dict[str, float],
        k: int = 10,
        *,
        scores: np.ndarray | None = None,
    ) -> list[Hit]:
        """The ``k`` entries most similar to ``question`` (text or :meth:`vector`), best
        first (ties: newer first); ``scores``: the question's :meth:`scores`, if at hand."""
        if not self.entries:
            return []
        if scores is None:
            text = question if isinstance(question, str) else None
            vector = self.vector(question) if isinstance(question, str) else question
            scores = self.scores(vector, text)
        count = min(k, int(np.count_nonzero(scores)))
        if count == 0:
            return []
        # Reversed so that among equal scores the later (newer) entry comes first.
        flipped = scores[::-1]
        top = np.argpartition(-flipped, count - 1)[:count]
        top = top[np.argsort(-flipped[top], kind="stable")]
        last = len(self.entries) - 1
        return [Hit(self.entries[last - int(i)], float(flipped[i]), last - int(i)) for i in top]


def _unit(vector: dict[str, float]) -> dict[str, float]:
    norm = math.sqrt(sum(w * w for w in vector.values()))
    return {f: w / norm for f, w in vector.items()} if norm else {}


def _local_dot(asked: dict[str, float], other: dict[str, float], local: dict[str, float]) -> float:
    """Cosine of ``asked`` (already re-weighted) and ``other`` re-weighted by ``local``."""
    weighted = {f: w * local.get(f, 1.0) for f, w in other.items() if f in local}
    norm = math.sqrt(sum(w * w for w in other.values()))
    return sum(asked[f] * w for f, w in weighted.items()) / norm if norm else 0.0


def _dot(first: dict[str, float], second: dict[str, float]) -> float:
    if len(first) > len(second):
        first, second = second, first
    return sum(w * second.get(f, 0.0) for f, w in first.items())
