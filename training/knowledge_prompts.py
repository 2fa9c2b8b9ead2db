"""The knowledge entries training prompts carry, as serving's prompts carry them.

Serving asks the model with the company's related entries in its prompt
(:func:`model.grounding.prompt_knowledge`); a model trained on bare questions would never
have learnt to read them. So the retrain exports the knowledge base next to the pairs
(:func:`write_knowledge`, ``knowledge.json`` in the run's data folder), and the training
process builds every prompt it makes with the entries serving would show for that question
(:func:`lookup`), the pair's own entry left out so that the model learns to answer from the
others (the same fact in other registers and wordings), not to echo its own answer.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy.orm import Session

from model.config import MemoryConfig
from model.grounding import prompt_knowledge as shown_entries
from model.retrieval import Entry, RetrievalIndex
from model.starter import is_starter_model
from storage.knowledge import knowledge_entries
from training.config import FactsConfig
from training.examples import Knowledge

__all__ = [
    "KNOWLEDGE_NAME",
    "entries_of",
    "export_knowledge",
    "lookup",
    "prompt_knowledge",
    "read_knowledge",
    "write_knowledge",
]

KNOWLEDGE_NAME = "knowledge.json"


def entries_of(session: Session) -> list[Entry]:
    """The knowledge base's entries, as serving's index reads them."""
    return [Entry(k.question, k.answer, k.language, k.topic) for k in knowledge_entries(session)]


def write_knowledge(session: Session, path: Path) -> int:
    """Write the knowledge base's entries to ``path`` (JSON); how many."""
    rows = [
        {"question": e.question, "answer": e.answer, "register": e.register, "topic": e.topic}
        for e in entries_of(session)
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    return len(rows)


def read_knowledge(path: Path) -> list[Entry]:
    """The entries :func:`write_knowledge` wrote; raises ``ValueError`` on a malformed file."""
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
        return [Entry(r["question"], r["answer"], r.get("register"), r.get("topic")) for r in rows]
    except (OSError, KeyError, TypeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not a knowledge export ({exc})") from exc


def lookup(entries: Sequence[Entry], memory: MemoryConfig | None = None) -> Knowledge | None:
    """What serving would show the model for a question (its own entry left out); ``None``
    for an empty knowledge base (prompts then carry nothing, as serving's do)."""
    if not entries:
        return None
    index = RetrievalIndex(entries)
    config = memory or MemoryConfig()

    def find(question: str, register: str) -> list[tuple[str, str]]:
        return shown_entries(index, question, register, config, leave_out=question)

    return find


def prompt_knowledge(path: str | None, memory: MemoryConfig) -> Knowledge | None:
    """:func:`lookup` over the entries of a ``knowledge.json`` (``None``: no file)."""
    return lookup(read_knowledge(Path(path)), memory) if path else None


def export_knowledge(
    session: Session, folder: Path, base_model: str, serving: FactsConfig
) -> str | None:
    """Write ``knowledge.json`` into ``folder`` for a run's training prompts; its path, or
    ``None`` when serving shows the model no entries (``serving``'s pipeline and memory
    settings, :meth:`model.config.PipelineConfig.reads_entries`) or the base is empty."""
    reads = serving.pipeline.reads_entries(is_starter_model(Path(base_model)))
    if not reads or not serving.memory.use_knowledge:
        return None
    path = folder / KNOWLEDGE_NAME
    return str(path) if write_knowledge(session, path) else None
