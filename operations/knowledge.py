"""The knowledge base the company ships with: loaded by ``uttor init`` and by benchmarks."""

from __future__ import annotations

from operations.errors import Refused
from storage.db import Database

__all__ = ["load_shipped_knowledge"]


def load_shipped_knowledge(database: Database) -> int:
    """Load the shipped FAQ (training/data/mydata.json) into the knowledge base; idempotent."""
    from model.text.langid import detect
    from storage.knowledge import replace_knowledge
    from training.data import TRAIN_FILE, load_pairs

    try:
        pairs = load_pairs(TRAIN_FILE)
    except ValueError as exc:
        raise Refused(f"shipped knowledge base unreadable: {exc}") from exc
    rows = [(p["text"], p["completion"], detect(p["text"]).label) for p in pairs]
    with database.write() as session:
        return replace_knowledge(session, source="shipped", pairs=rows)
