"""The knowledge base is replaced per source, idempotently."""

from __future__ import annotations

import pytest

from storage.db import Database
from storage.errors import InvalidValue
from storage.knowledge import knowledge_pairs, replace_knowledge


def test_replace_is_idempotent_and_later_duplicates_win(database: Database) -> None:
    pairs = [("কবে আসবে?", "১-২ দিনে।", "bn"), ("fee?", "60 taka.", "en"), ("fee?", "Tk 60.", "en")]
    for _ in range(2):
        with database.write() as session:
            assert replace_knowledge(session, source="shipped", pairs=pairs) == 2
    with database.write() as session:
        replace_knowledge(session, source="agents", pairs=[("hi", "Hello!", "en")])
    with database.read() as session:
        assert knowledge_pairs(session) == [
            ("কবে আসবে?", "১-২ দিনে।", "bn"),
            ("fee?", "Tk 60.", "en"),
            ("hi", "Hello!", "en"),
        ]


def test_empty_pair_refused_and_nothing_replaced(database: Database) -> None:
    with database.write() as session:
        replace_knowledge(session, source="shipped", pairs=[("q", "a", None)])
    with pytest.raises(InvalidValue), database.write() as session:
        replace_knowledge(session, source="shipped", pairs=[("q2", "  ", None)])
    with database.read() as session:
        assert knowledge_pairs(session) == [("q", "a", None)]
