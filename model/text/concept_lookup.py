"""Which customer-service concepts a text names (:data:`model.text.concepts.CONCEPTS`).

A word meets a concept's spelling through its light key (:func:`key`: the light fold of its
stem), through its fold when no spelling is written that way, and through its consonant
skeleton when it was typed without vowels ("refnd"). Phrases are matched longest first.
Retrieval (:mod:`model.retrieval`), the wants of a question (:mod:`model.asks`) and small talk
(:mod:`model.grounding`) read concepts through here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from functools import lru_cache

from model.text.concepts import CONCEPTS, STOP_WORDS
from model.text.translit import fold, skeleton, spell, stem, words

__all__ = ["STOP_KEYS", "concept_spans", "concepts_of", "key"]


def key(word: str) -> str:
    """How concepts and stop words are looked up: the light fold of the stem."""
    return spell(stem(word))


STOP_KEYS = frozenset(key(w) for w in STOP_WORDS.split())
"""The keys of the stop words (:data:`model.text.concepts.STOP_WORDS`)."""


def _concept_key(word: str) -> str:
    """How a word is looked up in the concept table: :func:`key`, unless stemming cut a word
    of four letters or more down to two ("thake" → "ta", "offer" → "of", "chuti" → "cu"),
    where it would meet the commonest short words ("order ta", "of"); then its light fold
    whole."""
    if word in _WHOLE:
        return "=" + word  # meets only the same word written the same way
    word = _singular(word)
    found = key(word)
    return spell(word) if len(found) <= 2 and len(word) >= 4 else found


def _singular(word: str) -> str:
    """An English plural's singular ("refunds", "deliveries", "fees"), which the concept
    table spells; stemming reads Bangla endings, not this one. "address", "status", "this"
    and short words stay."""
    if len(word) < 4 or not word.isascii() or not word.endswith("s") or word.endswith(_NOT_PLURAL):
        return word
    return word[:-3] + "y" if word.endswith("ies") else word[:-1]


_NOT_PLURAL = ("ss", "us", "is", "ys")

#: Words looked up only as written, because their light key is another word's: "code" stems
#: to "cod" (cash on delivery), "bye" spells like "be", "ty" (thank you) like "t", "eid" like
#: "id" (an order id), "id" like "ঈদ", "counter" (a pickup counter) like "country", and
#: "কয়টা"/"koyta" (how many) stem to "কয়"/"koy" (how much). Common English words whose
#: key or skeleton is a concept's spelling are here too: "much" (too much) is no "muche"
#: (delete), "some" no "somoy" (time), "case" no COD, "because" no bKash, "gone" no "ghonta".
_WHOLE = frozenset(
    {"code", "bye", "ty", "eid", "id", "counter", "country", "কয়টা", "কয়টি", "koyta", "koyti"}
    | {"much", "some", "case", "because", "gone", "lost", "mine", "must", "count", "list"}
    | {"charger", "outlet", "police", "settings", "shall", "unused", "rather", "bar"}
    # Bangla words of the same kind: "কথা"/"kotha" (talk) is no "kothay" (where), "করে" (does)
    # no delivery, "রাত"/"raat" (night) no rate, "কাল"/"kal" (yesterday) no call, "নাগাদ"
    # (by) no Nagad, "প্রমাণ" (proof) no "পরিমাণ", "গত" (last) no "got".
    | {"কথা", "kotha", "করে", "করছে", "রাত", "রাতে", "raat", "কাল", "kal", "kalke", "নাগাদ"}
    | {"প্রমাণ", "proman", "গত", "gotho", "গেটের", "প্রশ্ন", "প্রশ্নের", "proshno", "proshner"}
    | {"অবস্থা", "অবস্থায়", "obostha", "নামাতে", "ভুলে", "vule", "bhule", "টিমের", "ঘড়ি"}
    | {"কাপের", "kapor", "মন", "mon", "পায়ে", "চার", "thaki", "khobor", "খবর"}
    | {"কোড", "কোডের", "কোডটা", "কোডটি", "কোডগুলো", "অফিসে"}
)


@lru_cache(maxsize=1)
def _phrases() -> tuple[dict[tuple[str, ...], str], dict[str, str], dict[str, str]]:
    """Concept spellings: word sequences by their light keys (:func:`spell` of the stem) ->
    concept, one-word spellings by their folds -> concept, and by their consonant skeletons
    where one concept alone has that skeleton."""
    table: dict[tuple[str, ...], str] = {}
    folded: dict[str, str] = {}
    bones: dict[str, set[str]] = defaultdict(set)
    for name, spellings in CONCEPTS.items():
        for spelling in spellings:
            tokens = words(spelling)
            if tokens:
                table.setdefault(tuple(_concept_key(w) for w in tokens), name)
            if len(tokens) == 1 and len(spelt := fold(stem(tokens[0]))) >= _FOLD_MIN:
                folded.setdefault(spelt, name)
            if len(tokens) == 1 and len(spelt := skeleton(stem(tokens[0]))) >= _BONES_MIN:
                bones[spelt].add(name)
    sole = {key: next(iter(names)) for key, names in bones.items() if len(names) == 1}
    return table, folded, sole


_LONGEST = 3
#: Folds shorter than this are too lossy to look concepts up by ("a" would meet "way").
_FOLD_MIN = 4
#: Skeletons this long are specific enough to read a word typed without its vowels by
#: ("refnd", "cncl"); shorter ones would meet other words.
_BONES_MIN = 4


def concept_spans(tokens: Sequence[str]) -> list[tuple[int, int, str]]:
    """(start, end, concept) of the concepts named in a sequence of :func:`words`, longest
    phrase first, left to right; a word no spelling has is looked up by its fold, then by its
    skeleton."""
    table, folded, sole = _phrases()
    keys = [_concept_key(t) for t in tokens]
    found: list[tuple[int, int, str]] = []
    i = 0
    while i < len(keys):
        if (back := _sent_back(tokens, i)) is not None:
            found.append((i, back, "return"))
            i = back
            continue
        for size in range(min(_LONGEST, len(keys) - i), 0, -1):
            name = table.get(tuple(keys[i : i + size]))
            if name is None and size == 1 and tokens[i] not in _WHOLE:
                name = folded.get(fold(stem(tokens[i])))
                if name is None and len(bones := skeleton(stem(tokens[i]))) >= _BONES_MIN:
                    name = sole.get(bones)
            if name is not None:
                found.append((i, i + size, name))
                i += size
                break
        else:
            i += 1
    # "how many days/minutes/taka" asks an amount of a unit, as "koto din/minute/taka" does;
    # "how many pickup points" asks a count, as "koyta pickup point" does.
    return [
        (start, end, "quantity")
        if name == "count"
        and k + 1 < len(found)
        and found[k + 1][2] in _UNITS
        and found[k + 1][0] - end <= 1
        else (start, end, name)
        for k, (start, end, name) in enumerate(found)
    ]


#: English verbs that with "back" a word or two later mean returning ("send the shoes back").
_BACK_VERBS = frozenset(
    ["send", "sent", "ship", "shipped", "give", "gave", "take", "took", "bring"]
)


def _sent_back(tokens: Sequence[str], i: int) -> int | None:
    """The end of "send … back" starting at ``i`` (one or two words between), or None."""
    if tokens[i] not in _BACK_VERBS:
        return None
    for end in (i + 3, i + 4):
        if end <= len(tokens) and tokens[end - 1] == "back":
            return end
    return None


#: Concepts that are units of an amount ("how many hours" is an amount, not a count).
_UNITS = frozenset({"day", "hour", "minute", "money", "emi"})


def concepts_of(tokens: Sequence[str]) -> list[str]:
    """The concepts of :func:`concept_spans`, in order."""
    return [name for _, _, name in concept_spans(tokens)]
