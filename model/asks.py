"""What a question asks for, and whether a knowledge entry gives it.

:func:`model.grounding.ground` picks, of the voted topic's entries, the one that answers; an
entry worded like the question may still answer another question of the topic. :class:`Asked`
reads what the question wants (a limit, a minimum, a rate, a time, a contact), the delivery
region it names, and the conditions it asks about; :meth:`Asked.unmet` counts what an entry
leaves unmet, and the pick ranks it lower per count (``model.picking.UNANSWERED``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from model.retrieval import Entry
from model.text.concept_lookup import concept_spans, concepts_of
from model.text.entities import numbers, places, regions
from model.text.translit import words

__all__ = ["CONDITIONS", "WANTS", "Asked"]

#: What a question asks for, and the concepts of an answer that give it: "সর্বোচ্চ কত টাকা"
#: wants a limit, "koydin lagbe" a time, "kon number e call dibo" a contact. An entry of the
#: topic whose question and answer give none of them answers another question of the topic
#: ("COD-te extra charge ache?" for "COD koto taka porjonto?"), so its rank is multiplied by
#: ``model.picking.UNANSWERED`` per such want.
WANTS: dict[str, frozenset[str]] = {
    "limit": frozenset({"limit"}),
    "minimum": frozenset({"minimum"}),
    "percent": frozenset({"percent"}),
    "duration": frozenset({"duration", "day", "hour", "minute", "when"}),
    "when": frozenset({"when", "duration", "day", "hour", "minute"}),
    "contact": frozenset({"contact"}),
    "count": frozenset({"count"}),
    "fee": frozenset({"fee", "free", "money"}),
}


@dataclass(frozen=True)
class Asked:
    """What a question asks for, to tell the entries of its topic that answer it."""

    concepts: frozenset[str]
    wants: tuple[frozenset[str], ...]
    """Concepts of which an answering entry gives one each (:data:`WANTS`)."""
    regions: frozenset[str]
    """Delivery regions named: an entry that speaks of none of them answers for elsewhere."""
    towns: frozenset[str] = frozenset()
    """Towns and areas named (Dhaka itself, a region's name, is none)."""

    @classmethod
    def of(cls, question: str) -> Asked:
        tokens = words(question)
        spans = concept_spans(tokens)
        wanted = [
            name
            for start, end, name in spans
            if name in WANTS
            and not (end - start == 1 and tokens[start] in _NEEDS | _GOODS_TOO)
            and not (tokens[start] == "when" and not _WHEN_ASKED.search(question))
        ]
        wants = tuple(WANTS[name] for name in dict.fromkeys(wanted))
        concepts = frozenset(name for _, _, name in spans)
        if not wants and "money" in concepts and any(_AMOUNT <= n < _ID for n in _values(question)):
            # "ওয়ালেটে ৭০ হাজার টাকা রাখা যাবে?" asks whether the amount is within a rule.
            wants = (_RULE,)
        named_places = places(question)
        named = regions(question) if named_places or _REGION_HINTS & set(tokens) else set()
        return cls(concepts, wants, frozenset(named), frozenset(named_places) - _REGION_NAMES)

    def elsewhere(self, entry: Entry) -> bool:
        """Whether ``entry`` speaks of a town or area other than the ones this question names
        ("Chattogram is a district town, so 3–5 days" to a customer in Cumilla): its rule
        holds, but read as an answer it is about somebody else's address."""
        return bool(self.towns) and bool(_towns_given(entry) - self.towns)

    def special(self, entry: Entry) -> bool:
        """Whether ``entry``'s question asks about a case this question does not name."""
        return bool(_conditions_asked(entry) - self.concepts)

    def names_case_of(self, entries: list[Entry], share: float = 0.5) -> bool:
        """Whether this question names a case (:data:`CASES`) that more than ``share`` of
        ``entries`` ask about: "money deducted but the order failed" is the case of the
        failed-payment entries."""
        return any(
            _asked_by(case, entries) > share * len(entries) for case in self.concepts & CASES
        )

    def owned(self, entries: list[Entry], others: list[Entry]) -> int:
        """How many of this question's concepts (what it asks aside) more than half of
        ``entries`` ask about and none of ``others``: "cashback" and "wallet" are the cashback
        entries' own, next to VAT entries that share only "rate"."""
        return sum(
            _asked_by(c, entries) > len(entries) / 2 and not _asked_by(c, others)
            for c in self.concepts - _ASKING
        )

    def unmet(self, entry: Entry) -> float:
        """How many of the question's wants ``entry`` leaves unmet: a want its question and
        answer give nothing for, a region they never speak of, and a condition its question
        asks about that this question does not ("free delivery pawa jay?" for "shipping koto
        tk", :data:`CONDITIONS`)."""
        unmet: float = len(_conditions_asked(entry) - self.concepts)
        if self.wants:
            given = _concepts_given(entry)
            asked = _concepts_asked(entry)
            # A want only the answer gives, in passing, counts half: "maximum ৫০ টাকা" of
            # cashback in an answer about paying by wallet is no answer to the wallet's limit
            # as much as an entry that asks for that limit.
            unmet += sum(
                0.0 if want & asked else HALF if want & given else 1.0 for want in self.wants
            )
        if self.regions:
            unmet += len(self.regions - _regions_given(entry))
        return unmet + self.elsewhere(entry)


#: What a question naming an amount of money and wanting nothing else asks: whether the
#: amount is within a limit, above a minimum, free of a fee or what rate applies.
_RULE = frozenset({"limit", "minimum", "free", "percent"})
#: Amounts of money from here; order ids and phone numbers from ``_ID`` on.
_AMOUNT, _ID = 100.0, 10_000_000.0


def _values(question: str) -> list[float]:
    return [float(n) for n in numbers(question)]


#: "It takes" alone does not ask how long: "pathaite koto tk lagbe?" asks how much it costs.
_NEEDS = frozenset({"lage", "lagbe", "লাগে", "লাগবে", "take", "takes"})
#: An English "when" that asks: opening its sentence ("When will it come?", "ok so when
#: does…"), before a helping verb ("refund when will I get"), or ending it ("refund when?").
#: Any other is a conjunction: "can I pay cash when it arrives?" asks nothing about time.
_WHEN_ASKED = re.compile(
    r"(?:^|[.?!,;:\n]\s*|\b(?:and|so|but|then|ok|okay|exactly|just|approximately|around|about)\s+)"
    r"when\b|\bwhen\s+(?:\S+\s+)?(?:will|would|can|could|should|shall|do|does|did|is|are|was"
    r"|were|am|may|might)\b|\bwhen\s*(?:[?.!]|$)",
    re.IGNORECASE,
)
#: Words of a want that also name goods: "a phone cover" asks for no contact.
_GOODS_TOO = frozenset({"phone", "ফোন", "mobile", "মোবাইল"})
#: Words that name a region without a place name ("ঢাকার বাইরে", "remote upazila"); a bare
#: "district" does not ("কয়টা district-এ delivery দেন?" asks how many).
_REGION_HINTS = frozenset({"outside", "baire", "বাইরে", "remote", "upazila", "উপজেলা"})

#: Concepts that make a question about one case of its topic: an entry asking about free
#: delivery, a minimum or a limit answers that case, not the topic's general question.
CONDITIONS = frozenset({"free", "minimum", "limit", "percent", "stock", "holiday"})
#: Cases a question names that make it about one topic of two voted alike
#: (:meth:`Asked.names_case_of`): the conditions that are no want (a rate or a limit is asked
#: of many topics), and a payment that failed or was deducted.
CASES = (CONDITIONS - set(WANTS)) | {"failed", "deducted"}
#: Concepts that say how a question asks, not what about (:meth:`Asked.owned`).
_ASKING = frozenset({"quantity", "count", "duration", "when", "day", "hour", "minute", "how"})
#: What a want counts that only an entry's answer gives.
HALF = 0.5
#: Where one statement of an answer ends, so "60 taka inside Dhaka, 120 outside" gives both.
_STATEMENTS = re.compile(r"[,;.!?।\n]+")


#: A number with a percent sign: a rate stated.
_RATE = re.compile(r"[\d০-৯]\s*%")


@lru_cache(maxsize=16384)
def _concepts_given(entry: Entry) -> frozenset[str]:
    """The concepts an entry's question and answer speak of (entries are immutable: cached;
    each part is read only when a question needs it, so a cold lookup stays cheap)."""
    text = f"{entry.question}\n{entry.answer}"
    # "২%" gives a rate although words() keeps no "%".
    rate = {"percent"} if _RATE.search(text) else set()
    return frozenset(concepts_of(words(text))) | rate


@lru_cache(maxsize=16384)
def _concepts_asked(entry: Entry) -> frozenset[str]:
    """The concepts an entry's question speaks of."""
    return frozenset(concepts_of(words(entry.question)))


def _asked_by(concept: str, entries: list[Entry]) -> int:
    """How many of ``entries`` ask about ``concept`` in their question."""
    return sum(concept in _concepts_asked(e) for e in entries)


#: Place names that name a delivery region as a whole, not a town or an area in it.
_REGION_NAMES = frozenset({"dhaka"})


@lru_cache(maxsize=16384)
def _towns_given(entry: Entry) -> frozenset[str]:
    """The towns and areas an entry's question and answer name."""
    return frozenset(places(f"{entry.question}\n{entry.answer}")) - _REGION_NAMES


@lru_cache(maxsize=16384)
def _regions_given(entry: Entry) -> frozenset[str]:
    """The delivery regions an entry's question and answer speak of, statement by statement."""
    found: set[str] = set()
    for statement in _STATEMENTS.split(f"{entry.question}\n{entry.answer}"):
        found |= regions(statement)
    if _concepts_given(entry) & {"district", "outside"}:
        found.add("district")  # "অন্য জেলায়", "other district towns"
    return frozenset(found)


@lru_cache(maxsize=16384)
def _conditions_asked(entry: Entry) -> frozenset[str]:
    """The conditions an entry's question asks about (:data:`CONDITIONS`)."""
    return _concepts_asked(entry) & CONDITIONS
