"""Guards before a stored answer is reused: what changes an answer must agree.

Similar wording is not the same question. Before the pipeline sends a stored answer (a
knowledge-base entry's or an agent's correction) for a new question, the two questions must
agree on everything :mod:`model.text.entities` finds:

* **negation**: the same words negated in both ("refund ashche" vs "refund ashe nai", "I got"
  vs "I haven't got", "ফেরত নেন" vs "ফেরত নেন না", and "cancel korte chai na" (do not want) vs
  "cancel korte parchi na" (cannot));
* **numbers**: the same amounts, days, order ids and phone numbers ("18 hajar" vs "28 hajar",
  "BG-10482756" vs "BG-10482765", "01711223344" vs "16789");
* **places**: the same delivery region (Dhaka, elsewhere in Bangladesh, a remote upazila,
  abroad); for an agent's correction also the same place names, since an agent may have answered
  for that place only;
* **payment instruments** and **kinds of goods**: the same ones ("credit card" vs "Nagad",
  "jeans" vs "rice"), except that a stored question naming several ("bKash, Nagad or Rocket")
  covers a question naming one of them.

A knowledge-base answer states a rule, so there a stored question naming no place, instrument,
goods or number covers one that names some (``general=True``); an agent's correction does not.

Anything else that differs is left to retrieval's similarity. A failed guard never blocks an
answer outright: the pipeline tries the next entry, or lets the model answer with the entries
in its prompt, or hands the question to an agent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from model.text.concept_lookup import concepts_of
from model.text.entities import (
    content_keys,
    goods,
    instruments,
    negation_contexts,
    negations,
    numbers,
    places,
    regions,
)
from model.text.personal import personal_reasons
from model.text.translit import skeleton, stem, words

__all__ = [
    "Reason",
    "Verdict",
    "agree",
    "looks_personal",
    "names_alike",
    "names_nothing",
    "without_polar_opening",
]

Reason = Literal["negation", "number", "place", "instrument", "goods"]


@dataclass(frozen=True)
class Verdict:
    """Whether a stored answer may be reused, and the first thing that differed if not."""

    ok: bool
    reason: Reason | None = None

    def __bool__(self) -> bool:
        return self.ok


@dataclass(frozen=True)
class _Facts:
    negations: tuple[tuple[str, frozenset[str]], ...]
    """Each negated word with the words around it
    (:func:`model.text.entities.negation_contexts`)."""
    heads: frozenset[str]
    """Every word's consonant skeleton, as negations name them."""
    content: frozenset[str]
    """The skeletons of the words that are not function words, to meet a negation's context."""
    numbers: tuple[str, ...]
    regions: frozenset[str]
    places: frozenset[str]
    instruments: frozenset[str]
    goods: frozenset[str]
    failure: bool
    """Whether it says that something failed ("fail", "ব্যর্থ", "didn't go through")."""


@lru_cache(maxsize=8192)
def _facts(text: str) -> _Facts:
    return _Facts(
        tuple(negation_contexts(text)),
        frozenset(skeleton(stem(word)) or word for word in words(text)),
        content_keys(text),
        tuple(numbers(text)),
        frozenset(regions(text)),
        frozenset(places(text)),
        frozenset(instruments(text)),
        frozenset(goods(text)),
        "failed" in concepts_of(words(text)),
    )


def _covers(stored: frozenset[str], asked: frozenset[str], *, general: bool) -> bool:
    """Same names; or a stored list of several that includes every name asked about; or, when
    ``general``, a stored question that names none (a rule for all of them)."""
    if stored == asked:
        return True
    if general and not stored:
        return True
    return len(stored) >= 2 and bool(asked) and asked <= stored


def agree(question: str, stored: str, *, general: bool = False) -> Verdict:
    """Whether the answer to ``stored`` may answer ``question`` (see the module doc).

    ``general``: the stored answer states a rule (a knowledge-base entry), so a stored question
    that names no place, instrument or goods covers a question that names one ("ডেলিভারি চার্জ
    কত?" answers "খুলনায় ডেলিভারি চার্জ কত?" with both fees). Otherwise (an agent's
    correction, written for one customer's question) the names must be the same, place names
    included, not only their delivery region. Negations must be the same always, and two
    questions that both name numbers must name the same ones.
    """
    asked, known = _facts(question), _facts(stored)
    negated, negated_known = _in_scope(asked, known), _in_scope(known, asked)
    if not known.negations and len(_sentences(stored)) == 1:
        aside = _circumstances(question)
        negated = [n for n in negated if n not in aside or _used(n[0], known.heads)]
    if not _same_negations(negated, negated_known) and not _failure_said_twice(
        (negated, asked.failure), (negated_known, known.failure)
    ):
        return Verdict(False, "negation")
    if asked.numbers != known.numbers and not (general and not (asked.numbers and known.numbers)):
        return Verdict(False, "number")
    if not _covers(known.regions, asked.regions, general=general) or (
        not general and asked.places != known.places
    ):
        return Verdict(False, "place")
    if not _covers(known.instruments, asked.instruments, general=general):
        return Verdict(False, "instrument")
    if not _covers(known.goods, asked.goods, general=general):
        return Verdict(False, "goods")
    return Verdict(True)


def _sentences(text: str) -> list[str]:
    return [part for part in _SENTENCE_END.split(text) if words(part)]


#: Where a sentence or a clause ends: ".", "!", "?", "।", ";", a comma (not in "3,200") or a
#: new line. Bangla writers end a negated clause with a comma: "jete parbo na, koydin thakbe?"
_SENTENCE_END = re.compile(r"(?<=[.!?।;,])(?!\d)\s*|\n+")


@lru_cache(maxsize=8192)
def _circumstances(question: str) -> tuple[tuple[str, frozenset[str]], ...]:
    """The negations of a question's statements, when it asks in a sentence or clause of its
    own: "I don't see the EMI option for my cart. Is there a minimum amount?" and "pickup
    point e jete parbo na, parcel koydin thakbe?" tell a circumstance, then ask. :func:`agree`
    does not hold them against a stored question that is one plain clause, unless that clause
    uses the negated word ("I never got my refund. What now?" is no "I got my refund")."""
    sentences = _sentences(question)
    asking = [s for s in sentences if s.rstrip().endswith("?")]
    if not asking or len(asking) == len(sentences):
        return ()
    return tuple(n for s in sentences if s not in asking for n in negation_contexts(s))


def _in_scope(facts: _Facts, other: _Facts) -> list[tuple[str, frozenset[str]]]:
    """The negated words of ``facts`` whose negation is about something the other question
    speaks of too.

    A negation is about the words around it in its clause. When the other question uses none
    of them (nor the negated word), it says something beside that question's point: "jama ta
    fit hoy nai, return er time koto din" asks what "return er time koto din?" asks, and "বাসায়
    না এনে কাছের পয়েন্ট থেকে নিলে খরচ কত" what "পয়েন্ট থেকে নিলে খরচ কত". When it uses one,
    the negation turns it into another question: "cancel korte chai na" vs "cancel korte
    chai", "I never received my refund" vs "I received my refund", "OTP আসেনি তাই login হচ্ছে
    না" vs "OTP এসেছে কিন্তু login হচ্ছে না".
    """
    return [
        (head, near)
        for head, near in facts.negations
        if (len(head) >= 2 and _used(head, other.heads))
        or any(_near(w, other.content) for w in near)
    ]


def _used(key: str, heads: frozenset[str]) -> bool:
    """Whether a word of skeleton ``key`` is among ``heads``: verb forms differ in their
    endings ("ashe"/"ashche", "হলো"/"হয়নি"), so one skeleton beginning the other counts."""
    return key in heads or any(_alike(key, head) for head in heads if len(head) >= 2)


def _near(key: str, content: frozenset[str]) -> bool:
    """Whether a context word of skeleton ``key`` is among ``content``: one skeleton beginning
    the other counts from three letters on ("ordr"/"ordrr"), not below, where unrelated
    words meet ("pc", পেয়েছি, begins "pcnd", পছন্দ)."""
    return key in content or any(
        _alike(key, word) for word in content if min(len(key), len(word)) >= 3
    )


def _alike(one: str, other: str) -> bool:
    return one.startswith(other) or other.startswith(one)


def _failure_said_twice(
    one: tuple[list[tuple[str, frozenset[str]]], bool],
    other: tuple[list[tuple[str, frozenset[str]]], bool],
) -> bool:
    """Whether one negation more on one side is the other side's word for a failure: "order
    hoyni" (the order did not happen) is "order fail". Not when the negated side names a
    failure itself ("payment fail hoy nai" is no failure at all)."""
    (more, more_fails), (fewer, fewer_fails) = sorted((one, other), key=lambda side: -len(side[0]))
    return len(more) == len(fewer) + 1 and fewer_fails and not more_fails


def _same_negations(
    asked: list[tuple[str, frozenset[str]]], stored: list[tuple[str, frozenset[str]]]
) -> bool:
    """The same negations in both: each negated word paired with an alike one of the other,
    or with one that negates its neighbour while it negates that one's: "order not placed"
    and "no order was placed" say one thing."""
    if len(asked) != len(stored):
        return False
    left = list(stored)
    for head, near in asked:
        match = next(
            (
                (other, around)
                for other, around in left
                if _alike(head, other) or (other in near and head in around)
            ),
            None,
        )
        if match is None:
            return False
        left.remove(match)
    return True


#: First words of an answer that reply to the polarity of its question ("না, ৬৪টি জেলাতেই…").
_YES_NO = re.compile(
    r"^\s*(?:yes|no|yeah|yep|nope|ji+|jee|hae|haa?|hya|nah?|naa|জি|জ্বি|হ্যাঁ|হ্যা|না)"
    r"(?![\w\u0980-\u09ff])[\s,.!।—–-]*",
    re.IGNORECASE,
)


def without_polar_opening(question: str, stored: str, answer: str) -> str:
    """``answer`` without its opening yes or no when one of the two questions is negated and
    the other is not, or their numbers differ: "No, Bazarghor delivers to all 64 districts"
    answers "Is there any district where you don't deliver?"; to "Do you ship to every
    district?" the statement alone is the answer, and the "No" would say the opposite. The
    "Yes" of "Is COD available?" is no answer for a 35,000 taka order."""
    opening = _YES_NO.match(answer)
    if opening is None or (
        (negations(question) > 0) == (negations(stored) > 0)
        and _facts(question).numbers == _facts(stored).numbers
    ):
        return answer
    rest = answer[opening.end() :]
    return rest[:1].upper() + rest[1:] if rest else answer


def names_alike(question: str, stored: str) -> bool:
    """True when ``stored`` names something, and each kind of name it has (places by region,
    instruments, goods) is what ``question`` names ("refund to credit card?" for "returned a
    blender, paid by mastercard: when does the refund hit my card?")."""
    asked, known = _facts(question), _facts(stored)
    pairs = (
        (known.regions, asked.regions),
        (known.instruments, asked.instruments),
        (known.goods, asked.goods),
    )
    return any(k for k, _ in pairs) and all(not k or k == a for k, a in pairs)


def names_nothing(text: str) -> bool:
    """True when ``text`` names no place, payment instrument or kind of goods."""
    facts = _facts(text)
    return not (facts.regions or facts.places or facts.instruments or facts.goods)


def looks_personal(answer: str, *, allow: frozenset[str] = frozenset()) -> bool:
    """True when an answer holds one customer's data: an order id, a name, a phone, an e-mail,
    a card, ID or transaction number, a code, a street address
    (:func:`model.text.personal.personal_reasons`, amounts aside: "20,000 taka porjonto" is a
    rule). ``allow``: strings that are public, the company's own contacts as the knowledge base
    states them.

    An agent marks a correction personal when they write it; this catches the ones written
    before that, or marked general by mistake, so they are not sent to other customers.
    """
    return any(reason.kind != "an amount" for reason in personal_reasons(answer, allow=allow))
