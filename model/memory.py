"""What the company knows, kept fresh from the database: knowledge base and agents' corrections.

:class:`CorrectionMemory` holds a :class:`model.retrieval.RetrievalIndex` over

* every **knowledge-base** entry (question, answer, register, topic), and
* every **active correction** an agent wrote that may be reused: not marked ``personal`` by the
  agent, and not holding one customer's data (:func:`model.guards.looks_personal`: a phone
  number, an e-mail, an order id…), whatever the mark says. A personal correction still
  trains the next adapter (redacted); it is never sent to another customer.

:meth:`CorrectionMemory.lookup` decides with :func:`model.grounding.ground` what grounds the
answer: a correction to reuse (source ``memory``), a knowledge answer (``knowledge``), or the
entries to put in the model's prompt. Before every lookup a cheap fingerprint of both tables
is compared with the one the index was built from, and the index is rebuilt on a change, so a
correction or a knowledge edit made by any process is used by the next question.
"""

from __future__ import annotations

import logging
import threading
import unicodedata
from collections.abc import Callable
from typing import Any

from model.config import MemoryConfig
from model.grounding import Grounding, ground, small_talk
from model.guards import looks_personal
from model.retrieval import Entry, RetrievalIndex
from model.text.normalize import normalize
from model.text.redact import find_pii
from storage.corrections import active_corrections, active_corrections_stamp
from storage.db import Database
from storage.knowledge import knowledge_entries, knowledge_stamp

__all__ = ["CorrectionMemory", "comparable", "load_entries", "memory_stamp"]

log = logging.getLogger(__name__)


class _Blanks(dict[int, str]):
    """``str.translate`` table: punctuation and symbols to a space, other characters kept.

    Filled as characters are first met: a translation is a C loop over dictionary hits, where
    asking ``unicodedata.category`` of each character cost a Python step per character (it
    runs several times for every message).
    """

    def __missing__(self, code: int) -> str:
        ch = chr(code)
        kept = unicodedata.category(ch)[0] in "LMN" or ch.isspace()
        self[code] = value = ch if kept else " "
        return value


_BLANKS = _Blanks()


def comparable(text: str) -> str:
    """Normalized text with punctuation and symbols dropped (letters, marks, digits kept)."""
    return " ".join(normalize(text).translate(_BLANKS).split())


def load_entries(session: Any, *, use_knowledge: bool = True) -> list[Entry]:
    """Reusable active corrections (oldest first), then the knowledge base."""
    knowledge = knowledge_entries(session)
    # What the knowledge base states is public: the company's hotline in an agent's answer
    # does not make it personal.
    public = frozenset(original for k in knowledge for _, original in find_pii(k.answer))
    entries = [
        Entry(c.question, c.answer, c.language, None, "correction", c.correction_id)
        for c in active_corrections(session)
        if c.question.strip() and not c.personal and not looks_personal(c.answer, allow=public)
    ]
    if use_knowledge:
        entries += [
            Entry(k.question, k.answer, k.language, k.topic, "knowledge", k.id) for k in knowledge
        ]
    return entries


def memory_stamp(session: Any) -> tuple[Any, ...]:
    """Changes whenever the entries :func:`load_entries` would return change."""
    return (*active_corrections_stamp(session), *knowledge_stamp(session))


class CorrectionMemory:
    """Looks questions up in the corrections and the knowledge base, fresh from the database."""

    def __init__(
        self,
        database: Database,
        config: MemoryConfig | None = None,
        *,
        loader: Callable[..., list[Entry]] = load_entries,
        stamp: Callable[[Any], tuple[Any, ...]] = memory_stamp,
        index: Callable[[list[Entry]], RetrievalIndex] = RetrievalIndex,
    ) -> None:
        self.database = database
        self.config = config or MemoryConfig()
        self._loader = loader
        self._stamp_of = stamp
        self._build = index
        self._stamp: tuple[Any, ...] | None = None
        self._index = RetrievalIndex([])
        self._lock = threading.Lock()

    @property
    def index(self) -> RetrievalIndex:
        """The index the last lookup used."""
        return self._index

    def refresh(self) -> None:
        """Rebuild the index now (call after writing a correction to skip even the check)."""
        with self._lock:
            self._stamp = None
        self._ensure_fresh()

    def lookup(
        self,
        question: str,
        *,
        register: str = "bilingual",
        session: Any = None,
        checked: bool = False,
    ) -> Grounding:
        """What grounds the answer to ``question`` for a reply in ``register`` (a reply
        language: bn, en, banglish, mixed or bilingual).

        ``session``: an open database session to check freshness in (saves opening one).
        ``checked``: the caller ran :meth:`check` just before (once for a batch of questions).
        """
        if checked:
            pass
        elif session is None:
            self._ensure_fresh()
        else:
            self._check(session)
        short = len(comparable(question)) < self.config.min_chars
        if short and not small_talk(question):
            # "ok", "?" or "hi?" alone say too little to be matched with anything stored.
            return Grounding(small_talk=False)
        with self._lock:
            index = self._index
        return ground(index, question, register, self.config, allow_corrections=not short)

    def _ensure_fresh(self) -> None:
        with self.database.read() as session:
            self._check(session)

    def check(self, session: Any) -> None:
        """Rebuild the index when the database changed (in ``session``'s transaction)."""
        self._check(session)

    def _check(self, session: Any) -> None:
        """Rebuild the index when the database's fingerprint changed since the last build."""
        stamp = self._stamp_of(session)
        if stamp == self._stamp:
            return
        entries = self._loader(session, use_knowledge=self.config.use_knowledge)
        index = self._build(entries)
        with self._lock:
            self._index, self._stamp = index, stamp
        log.debug(
            "memory: %d corrections, %d knowledge entries",
            sum(e.origin == "correction" for e in entries),
            sum(e.origin == "knowledge" for e in entries),
        )
