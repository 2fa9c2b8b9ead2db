"""What the company knows about a question: a stored answer to send, or entries to ground on.

:func:`ground` reads a :class:`model.retrieval.RetrievalIndex` for one customer question and
decides, in this order:

1. **an agent's correction** whose question is a near-duplicate (cosine at least
   ``threshold``) and passes the guards with exact place names
   (:func:`model.guards.agree`) → its text, source ``memory``;
2. **a knowledge topic** the question is confidently about: topics are voted by the best entry
   of each (cosine) plus the question's cosine with the topic's centroid, and the winner must
   reach ``knowledge_threshold``. The answer is the entry of that topic, in the customer's
   register (else the nearest readable one), whose question is most similar to the one asked
   and passes the guards → its answer, source ``knowledge``. An entry of another topic or one
   the guards refuse is never sent;
3. otherwise the entries whose questions score at least ``related_threshold`` are **related**:
   the model answers with them in its prompt. None related means nothing grounds an answer.

Small talk (greetings, thanks, goodbyes) is recognised too, so the pipeline can answer it
naturally when the knowledge base has no greeting to send.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from model.asks import Asked
from model.config import MemoryConfig
from model.guards import Reason, agree, without_polar_opening
from model.picking import PLAIN_CLOSENESS, READABLE, hedged, pick
from model.retrieval import MAX_CHARS, Entry, Hit, RetrievalIndex
from model.text.concept_lookup import concept_spans
from model.text.translit import words

__all__ = [
    "READABLE",
    "Grounding",
    "ground",
    "hedged",
    "prompt_knowledge",
    "small_talk",
    "vote_topics",
]


#: Entries read per question (all topics voted come from these).
SEARCH_K = 24


@dataclass(frozen=True)
class Grounding:
    """The outcome of :func:`ground` for one question."""

    answer: str | None = None
    """A stored answer to send as it is (``None``: none qualifies)."""
    source: Literal["memory", "knowledge"] | None = None
    entry: Entry | None = None
    """The entry whose answer is sent."""
    topic: str | None = None
    """The topic voted first (whether confident or not)."""
    confidence: float = 0.0
    """That topic's vote (best entry cosine + centroid cosine, 0 to 2)."""
    related: tuple[Entry, ...] = field(default_factory=tuple)
    """Entries for the model's prompt, best first (empty: nothing grounds an answer)."""
    refused: Reason | None = None
    """What the guards found different in the closest stored question, if they refused it."""
    small_talk: bool = False


_TALK = frozenset({"greet", "thank"})


def small_talk(text: str) -> bool:
    """True for a greeting, thanks or goodbye with at most two other words ("hi vai", "ok
    thanks", "ধন্যবাদ ভাই"), and for a message with no word at all (emoji, punctuation):
    nothing to hand to an agent, something to answer in kind."""
    if not text.strip():
        return False
    tokens = words(text)
    if not tokens:
        return True
    if len(tokens) > 8:
        return False
    spans = concept_spans(tokens)
    if not spans or not {name for _, _, name in spans} <= _TALK:
        return False
    covered = sum(end - start for start, end, _ in spans)
    return len(tokens) - covered <= 2


def ground(
    index: RetrievalIndex,
    question: str,
    register: str,
    config: MemoryConfig | None = None,
    *,
    allow_corrections: bool = True,
) -> Grounding:
    """Decide what grounds the answer to ``question`` for a reply in ``register``.

    ``allow_corrections`` off skips step 1 (a question too short to reuse a correction).
    """
    config = config or MemoryConfig()
    # A pasted essay costs no more than a long message: every step reads the same cut.
    question = question[:MAX_CHARS]
    talk = small_talk(question)
    if not len(index):
        return Grounding(small_talk=talk)
    vector = index.vector(question)
    scores = index.scores(vector, question)
    hits = index.search(vector, SEARCH_K, scores=scores)
    refused: Reason | None = None
    if allow_corrections:
        for hit in hits:
            if hit.entry.origin != "correction" or hit.score < config.threshold:
                continue
            verdict = agree(question, hit.entry.question)
            if verdict:
                return Grounding(
                    hit.entry.answer,
                    "memory",
                    hit.entry,
                    hit.entry.topic,
                    hit.score,
                    _related(hits, register, config),
                    small_talk=talk,
                )
            refused = refused or verdict.reason
    votes = _votes(index, vector, hits)
    related = _related(hits, register, config)
    if not votes:
        return Grounding(refused=refused, related=related, small_talk=talk)
    asked = Asked.of(question)
    topic, confidence = _special_case_aside(votes, hits, asked)
    if confidence >= config.knowledge_threshold:
        at, reason = pick(index, vector, scores, question, asked, topic, register, config)
        # A topic voted barely, answered by an entry hardly like the question, was a guess:
        # "পাঠানো ছবির সাথে রং মিলছে না" (a colour complaint) voted coverage.
        guess = at is not None and confidence < SURE_VOTE and float(scores[at]) < GUESS
        chosen = index.entries[at] if at is not None and not guess else None
        if chosen is not None:
            answer = without_polar_opening(question, chosen.question, chosen.answer)
            if register == "bilingual":
                answer = _bilingual(index, vector, scores, question, asked, topic, chosen, config)
            return Grounding(answer, "knowledge", chosen, topic, confidence, related, None, talk)
        refused = refused or reason
    return Grounding(None, None, None, topic, confidence, related, refused, talk)


def prompt_knowledge(
    index: RetrievalIndex,
    question: str,
    register: str,
    config: MemoryConfig | None = None,
    *,
    leave_out: str | None = None,
) -> list[tuple[str, str]]:
    """The (question, answer) entries serving would put in the model's prompt for
    ``question``: training builds its prompts with them too
    (:func:`model.prompting.build_prompt`'s ``knowledge``), so an adapter learns to answer
    from them. ``leave_out``: a question whose own entry must not be shown (a training pair
    looked up in an index that holds it, when the model should learn more than copying).
    """
    found = ground(index, question, register, config)
    return [(e.question, e.answer) for e in found.related if e.question != leave_out]


def vote_topics(index: RetrievalIndex, question: str) -> list[tuple[str, float]]:
    """Topics (or untopical entries, as ``#index``) for ``question``, best vote first."""
    vector = index.vector(question)
    scores = index.scores(vector, question)
    return _votes(index, vector, index.search(vector, SEARCH_K, scores=scores))


#: How close the second topic's vote must be to the first's to answer in its place when the
#: first is about a special case the question does not name (:func:`_special_case_aside`).
CLOSE_VOTE = 0.8
#: Below this vote a topic is answered only by an entry at least :data:`GUESS` similar to the
#: question (the similarity below which :data:`model.picking.PLAIN_CLOSENESS` calls a topic a
#: guess too).
SURE_VOTE = 0.55
GUESS = PLAIN_CLOSENESS


def _special_case_aside(
    votes: list[tuple[str, float]], hits: Sequence[Hit], asked: Asked
) -> tuple[str, float]:
    """The topic to answer from: the first voted, unless every entry of it that was read asks
    about a case the question does not name (:data:`model.asks.CONDITIONS`: out of stock,
    free delivery…) while a topic voted almost as high has one that does not: "amar order
    kobe ashbe?" is about delivery time, not about when an out-of-stock item comes back.
    Conversely, the second answers when the question names the case most of its entries ask
    about and none of the first's does (:meth:`Asked.names_case_of`): "payment fail, taka
    katse, koto din lagbe ferot aste?" is a failed payment's reversal, not a return's refund.
    The second answers too when more of the question's concepts are its own
    (:meth:`Asked.owned`: "cashback" and "wallet" against VAT entries sharing "rate"), and
    when one of its entries read gives all the question wants (:meth:`Asked.unmet`) and
    none of the first's gives one of them."""
    if len(votes) < 2 or votes[1][1] < CLOSE_VOTE * votes[0][1]:
        return votes[0]
    special: dict[str, bool] = {}
    read: dict[str, list[Entry]] = {votes[0][0]: [], votes[1][0]: []}
    for hit in hits:
        if hit.entry.origin == "knowledge" and hit.entry.topic in read:
            own = asked.special(hit.entry)
            special[hit.entry.topic] = special.get(hit.entry.topic, True) and own
            read[hit.entry.topic].append(hit.entry)
    if special.get(votes[0][0]) and special.get(votes[1][0]) is False:
        return votes[1]
    first, second = read[votes[0][0]], read[votes[1][0]]
    if asked.names_case_of(second) and not asked.names_case_of(first, share=0.0):
        return votes[1]
    # An untopical entry (an agent's question added alone) is no topic to own concepts.
    topical = not votes[0][0].startswith("#") and not votes[1][0].startswith("#")
    if topical and asked.owned(second, first) > asked.owned(first, second):
        return votes[1]
    # "ফেরতের টাকা ওয়ালেটে … কতক্ষণের মধ্যে জমা হয়?": no wallet top-up entry read gives a
    # time, a refund entry does.
    if (
        asked.wants
        and any(not asked.unmet(e) for e in second)
        and all(asked.unmet(e) >= 1 for e in first)
    ):
        return votes[1]
    return votes[0]


def _votes(
    index: RetrievalIndex, vector: dict[str, float], hits: Sequence[Hit]
) -> list[tuple[str, float]]:
    """Topics (or single untopical entries, as ``#index``) by vote, best first."""
    best: dict[str, float] = {}
    for hit in hits:
        if hit.entry.origin != "knowledge":
            continue
        key = hit.entry.topic if hit.entry.topic is not None else f"#{hit.index}"
        best[key] = max(best.get(key, 0.0), hit.score)
    votes = {
        key: score + (index.topic_score(vector, key) if not key.startswith("#") else score)
        for key, score in best.items()
    }
    return sorted(votes.items(), key=lambda item: -item[1])


def _bilingual(
    index: RetrievalIndex,
    vector: dict[str, float],
    scores: np.ndarray,
    question: str,
    asked: Asked,
    topic: str,
    chosen: Entry,
    config: MemoryConfig,
) -> str:
    """Bangla then English, for a customer whose language is not known yet."""
    parts = [chosen]
    if chosen.register == "bn":
        english, _ = pick(
            index, vector, scores, question, asked, topic, "en", config, registers=("en",)
        )
        if english is not None:
            parts.append(index.entries[english])
    return "\n".join(without_polar_opening(question, e.question, e.answer) for e in parts)


def _related(hits: Sequence[Hit], register: str, config: MemoryConfig) -> tuple[Entry, ...]:
    """The best entries above the related threshold, one per distinct answer; of entries
    equally close, the reply's register first (the model answers in the register it reads)."""
    close = [h for h in hits if h.score >= config.related_threshold]
    close.sort(key=lambda h: (-round(h.score, 3), h.entry.register != register))
    chosen: list[Entry] = []
    seen: set[str] = set()
    for hit in close:
        if len(chosen) >= config.prompt_entries:
            break
        if hit.entry.answer not in seen:
            seen.add(hit.entry.answer)
            chosen.append(hit.entry)
    return tuple(chosen)
