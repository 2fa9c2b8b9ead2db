"""Which entry of a chosen topic answers a question, in which register.

:func:`model.grounding.ground` votes the topic a question is about; :func:`pick` chooses the
entry of that topic whose answer is sent: the closest to the question in the customer's
register that passes the guards (:func:`model.guards.agree`) and leaves the least of what the
question wants unmet (:class:`model.asks.Asked`), else the nearest readable register's.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from model.asks import Asked
from model.config import MemoryConfig
from model.guards import Reason, agree, names_alike, names_nothing
from model.retrieval import Entry, RetrievalIndex
from model.text.entities import negations, numbers

__all__ = ["CANDIDATES", "READABLE", "hedged", "pick", "topic_members"]

#: Registers to answer in, by reply language: the customer's own first, then what a reader of
#: it reads best (Bengali script for mixed writers, English for Banglish writers).
READABLE: dict[str, tuple[str, ...]] = {
    "bn": ("bn", "mixed", "en", "banglish"),
    "mixed": ("mixed", "bn", "en", "banglish"),
    "banglish": ("banglish", "en", "mixed", "bn"),
    "en": ("en", "banglish", "mixed", "bn"),
    "bilingual": ("bn", "en", "mixed", "banglish"),
}

#: Weight of the answer's similarity, next to the question's, when choosing a topic's entry.
ANSWER_WEIGHT = 1.0
#: Share of the best entry's score (in the customer's register) an entry must reach to answer.
NEAR_BEST = 0.6
#: Share of the best score a general question of the topic needs, once a question naming a
#: place, instrument or goods was refused.
GENERAL_BEST = 0.3
_NAMES: frozenset[Reason] = frozenset({"place", "instrument", "goods"})
#: Similarity to the question a plain entry needs to answer once the closest were refused for
#: a negation: below it, the topic itself was a guess (a complaint about a product's colour
#: voted "which areas do you deliver to?" at 0.04).
PLAIN_CLOSENESS = 0.1
#: Similarity to the question an entry whose answer says "no information" needs to be sent.
HEDGED_CLOSENESS = 0.6
#: How answers say that the information is not at hand, in the four registers.
_HEDGES = re.compile(
    r"(?:don't|do not|doesn't) have (?:the |that |any |exact )?(?:information|info|details)"
    r"|(?:don't|do not) have exact (?:delivery )?time slots|can't confirm that"
    r"|(?:তথ্য|information|info)(?: আমার কাছে)? নেই|(?:info|tottho|information) (?:amar kache )?nai"
    r"|(?:confirm|বলতে) (?:করতে )?পারছি না|(?:confirm korte|bolte) parchi na",
    re.IGNORECASE,
)


def hedged(answer: str) -> bool:
    """Whether ``answer`` says its information is not at hand ("তথ্য আমার কাছে নেই")."""
    return bool(_HEDGES.search(answer))


#: What a pick multiplies an entry's rank by, per want it leaves unmet (:mod:`model.asks`).
UNANSWERED = 0.5

#: Entries of the chosen topic, per register, ranked again to pick the one that answers.
CANDIDATES = 16
#: Similarity of two answers (in two registers) at which they state the same thing.
SAME_ANSWER = 0.5


def topic_members(
    index: RetrievalIndex, topic: str, register: str, scores: np.ndarray, limit: int
) -> list[int]:
    """The topic's entries in ``register`` most similar to the question, best first."""
    if topic.startswith("#"):
        single = int(topic[1:])
        return [single] if index.entries[single].register == register else []
    return index.best_members(topic, register, scores, limit)


def pick(
    index: RetrievalIndex,
    vector: dict[str, float],
    scores: np.ndarray,
    question: str,
    asked: Asked,
    topic: str,
    register: str,
    config: MemoryConfig,
    *,
    registers: Sequence[str] | None = None,
) -> tuple[int | None, Reason | None]:
    """The position in ``index`` of the topic's entry to answer from, and why none if none.

    Registers are searched in ``order`` (the customer's own first). In each, the entries
    closest to the question are ranked again among themselves
    (:meth:`RetrievalIndex.local_similarities`, the answer counting too); the first one close
    enough to the best, close enough to the question and passing the guards is chosen. In a
    later register only its very best entry is trusted, and the customer's own entry stating
    the same thing (its answer alike) answers in its place when there is one. ``asked`` is
    what the question asks (:meth:`Asked.of`, read once per lookup by :func:`ground`).
    """
    order = registers or READABLE.get(register, READABLE["bilingual"])
    candidates = {r: topic_members(index, topic, r, scores, CANDIDATES) for r in READABLE[register]}
    context = [i for found in candidates.values() for i in found]
    size = 1 if topic.startswith("#") else index.topic_size(topic)
    refused: Reason | None = None
    refusals: set[Reason] = set()
    for wanted in order:
        members = candidates.get(wanted) or topic_members(index, topic, wanted, scores, CANDIDATES)
        if not members:
            continue
        local = index.local_similarities(vector, members, context, size)
        ranked = sorted(
            (
                (
                    (float(scores[i]) + q + ANSWER_WEIGHT * a)
                    * UNANSWERED ** asked.unmet(index.entries[i]),
                    float(scores[i]),
                    i,
                )
                for (q, a), i in zip(local, members, strict=True)
            ),
            key=lambda item: (-item[0], -item[2]),
        )
        best = ranked[0][0]
        for score, closeness, i in ranked:
            # Far below the best match, an entry answers another question of the topic:
            # when the best ones are refused, nothing of this register answers this one,
            # except the topic's general question (:func:`_plain_fallback`).
            general = score >= GENERAL_BEST * best and _plain_fallback(
                refusals, question, asked, index.entries[i], closeness
            )
            if (score < NEAR_BEST * best or closeness < config.entry_threshold) and not general:
                continue
            if closeness < HEDGED_CLOSENESS and hedged(index.entries[i].answer):
                continue  # "I have no information on that" only answers its own question
            verdict = agree(question, index.entries[i].question, general=True)
            if not verdict:
                if verdict.reason is not None:
                    refused = refused or verdict.reason
                    refusals.add(verdict.reason)
                continue
            if wanted == order[0]:
                return i, None
            if (i != ranked[0][2] and not general) or asked.special(index.entries[i]):
                # In another register only an entry that answers the whole question is
                # trusted: "Is delivery free above some amount?" is no answer to "koto tk?".
                break
            return _in_own_register(index, asked, question, topic, order[0], i), None
    return None, refused


def _plain_fallback(
    refusals: set[Reason], question: str, asked: Asked, entry: Entry, closeness: float
) -> bool:
    """Whether ``entry``, ranked well below the entries refused (for each of ``refusals``),
    answers the question as the topic's general one.

    - A place, an instrument or goods refused: an entry naming none, or just what the
      customer named ("Can I pay with bKash?" refused "Can I pay with Nagad?" and is answered
      by "Which payment methods do you take?").
    - An amount refused: an entry naming no number that leaves nothing of the question unmet
      states the rule ("a 35,000 taka fridge on COD?" is answered by the COD limit).
    - A negation refused ("still no refund. why?"): a plain entry leaving nothing unmet,
      close enough that the topic was no guess.
    """
    if refusals & _NAMES and (
        names_nothing(entry.question) or names_alike(question, entry.question)
    ):
        return True
    if "number" in refusals and not numbers(entry.question) and not asked.unmet(entry):
        return True
    return (
        "negation" in refusals
        and closeness >= PLAIN_CLOSENESS
        and not asked.unmet(entry)
        and not negations(entry.question)
    )


def _in_own_register(
    index: RetrievalIndex, asked: Asked, question: str, topic: str, register: str, found: int
) -> int:
    """The entry of ``register`` whose answer states what entry ``found`` (of another
    register) answers, if one does, its question passes the guards and it leaves no more of
    the question unmet (:meth:`Asked.unmet`: the free-delivery rule states a fee too, but
    answers another question), by position; else ``found``."""
    own = index.members(topic, register) if not topic.startswith("#") else []
    alike = sorted(((index.answers_similarity(found, j), j) for j in own), reverse=True)
    unmet = asked.unmet(index.entries[found])
    for similarity, j in alike:
        if similarity < SAME_ANSWER:
            break
        if asked.unmet(index.entries[j]) <= unmet and agree(
            question, index.entries[j].question, general=True
        ):
            return j
    return found
