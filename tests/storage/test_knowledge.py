"""The knowledge base: replaced per source, imported all or nothing, edited in place, audited,
and every change visible in the stamp serving checks before each question."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from storage.db import Database
from storage.errors import InvalidValue, NotFound
from storage.knowledge import (
    MAX_ANSWER_CHARS,
    KnowledgeRow,
    count_knowledge,
    edit_knowledge,
    get_knowledge,
    import_knowledge,
    knowledge_entries,
    knowledge_pairs,
    knowledge_sources,
    knowledge_stamp,
    remove_knowledge,
    remove_source,
    replace_knowledge,
)
from storage.models import AuditLog, Knowledge

ROWS = [
    KnowledgeRow("What is the delivery charge?", "70 taka in Dhaka.", "en", "delivery_charge"),
    KnowledgeRow("ডেলিভারি চার্জ কত?", "ঢাকায় ৭০ টাকা।", "bn", "delivery_charge"),
    KnowledgeRow("Hotline number?", "Call 16789.", "en", None),
]


def _audits(database: Database, action: str) -> list[tuple[int | None, dict]]:
    """(actor, detail) of each audit line of ``action``, oldest first."""
    with database.read() as session:
        rows = session.execute(
            select(AuditLog.actor_user_id, AuditLog.detail)
            .where(AuditLog.action == action)
            .order_by(AuditLog.id)
        ).all()
    return [(actor, detail) for actor, detail in rows]


def test_replace_is_idempotent_and_later_duplicates_win(database: Database) -> None:
    pairs = [("কবে আসবে?", "১-২ দিনে।", "bn"), ("fee?", "60 taka.", "en"), ("fee?", "Tk 60.", "en")]
    for _ in range(2):
        with database.write() as session:
            assert replace_knowledge(session, source="shipped", pairs=pairs) == 2
    with database.write() as session:
        replace_knowledge(session, source="agents", pairs=[("hi", "Hello!", "en", "greeting")])
    with database.read() as session:
        assert knowledge_pairs(session) == [
            ("কবে আসবে?", "১-২ দিনে।", "bn"),
            ("fee?", "Tk 60.", "en"),
            ("hi", "Hello!", "en"),
        ]
        assert [e.topic for e in knowledge_entries(session, source="agents")] == ["greeting"]


def test_empty_pair_refused_and_nothing_replaced(database: Database) -> None:
    with database.write() as session:
        replace_knowledge(session, source="shipped", pairs=[("q", "a", None)])
    with pytest.raises(InvalidValue), database.write() as session:
        replace_knowledge(session, source="shipped", pairs=[("q2", "  ", None)])
    with database.read() as session:
        assert knowledge_pairs(session) == [("q", "a", None)]


def test_import_adds_then_updates_in_place_and_replace_removes(database: Database) -> None:
    with database.write() as session:
        first = import_knowledge(session, source="company", rows=ROWS, actor_user_id=None)
    assert (first.added, first.updated, first.unchanged, first.removed) == (3, 0, 0, 0)
    with database.read() as session:
        ids = {e.question: e.id for e in knowledge_entries(session)}
    changed = [
        # Case and spacing do not make another question: this updates the first entry.
        KnowledgeRow("what is the  delivery charge?", "80 taka in Dhaka.", "en", "delivery_charge"),
        ROWS[1],
    ]
    with database.write() as session:
        second = import_knowledge(session, source="company", rows=changed, replace=True)
    assert (second.added, second.updated, second.unchanged, second.removed) == (0, 1, 1, 1)
    with database.read() as session:
        entries = knowledge_entries(session)
    assert [(e.id, e.question, e.answer) for e in entries] == [
        (ids["What is the delivery charge?"], "what is the delivery charge?", "80 taka in Dhaka."),
        (ids["ডেলিভারি চার্জ কত?"], "ডেলিভারি চার্জ কত?", "ঢাকায় ৭০ টাকা।"),
    ]
    assert [detail for _, detail in _audits(database, "knowledge.import")] == [
        {"added": 3, "updated": 0, "unchanged": 0, "removed": 0, "entries": 3},
        {"added": 0, "updated": 1, "unchanged": 1, "removed": 1, "entries": 2},
    ]


def test_import_is_all_or_nothing(database: Database) -> None:
    with database.write() as session:
        import_knowledge(session, source="company", rows=ROWS[:1])
    bad = [
        ROWS[1],
        KnowledgeRow("Return policy?", "x" * (MAX_ANSWER_CHARS + 1)),
    ]
    twice = [ROWS[1], KnowledgeRow("ডেলিভারি চার্জ কত? ", "অন্য উত্তর")]
    for rows in (bad, twice):
        with pytest.raises(InvalidValue), database.write() as session:
            import_knowledge(session, source="company", rows=rows)
    with database.read() as session:
        assert [e.question for e in knowledge_entries(session)] == [ROWS[0].question]
        assert count_knowledge(session) == 1
    assert len(_audits(database, "knowledge.import")) == 1


def test_entries_filter_and_put_the_shipped_sample_first(database: Database) -> None:
    with database.write() as session:
        import_knowledge(session, source="company", rows=ROWS)
        replace_knowledge(session, source="shipped", pairs=[("Hotline number?", "16789", "en")])
    with database.read() as session:
        sources = [e.source for e in knowledge_entries(session)]
        assert sources == ["shipped", "company", "company", "company"]
        assert knowledge_sources(session) == [("company", 3), ("shipped", 1)]
        assert [e.question for e in knowledge_entries(session, topic="delivery_charge")] == [
            ROWS[0].question,
            ROWS[1].question,
        ]
        assert [e.language for e in knowledge_entries(session, language="bn")] == ["bn"]
        # Every word, in the question or the answer, any case; LIKE wildcards are plain text.
        found = knowledge_entries(session, words=["DELIVERY", "dhaka"])
        assert [e.question for e in found] == [ROWS[0].question]
        assert knowledge_entries(session, words=["%"]) == []
        assert count_knowledge(session, source="company", words=["taka"]) == 1
        page = knowledge_entries(session, limit=2, offset=1)
        assert [e.source for e in page] == ["company", "company"]


def test_edit_in_place_is_audited_and_changes_the_stamp(database: Database) -> None:
    with database.write() as session:
        import_knowledge(session, source="company", rows=ROWS)
    with database.read() as session:
        entry = knowledge_entries(session)[0]
        before = knowledge_stamp(session)
    with database.write() as session:
        old, new = edit_knowledge(
            session, entry_id=entry.id, answer="  90 taka in Dhaka.\n", actor_user_id=42
        )
    assert (old.answer, new.answer, new.id) == ("70 taka in Dhaka.", "90 taka in Dhaka.", entry.id)
    with database.read() as session:
        after = knowledge_stamp(session)
        assert get_knowledge(session, entry_id=entry.id) == new
    # Same count and same ids: only the audit part of the stamp tells serving to reload.
    assert after[:2] == before[:2] and after != before
    assert _audits(database, "knowledge.edit") == [
        (42, {"before": "70 taka in Dhaka.", "after": "90 taka in Dhaka."})
    ]
    for entry_id, answer, error in [
        (entry.id, "   ", InvalidValue),
        (999, "x", NotFound),
        (2**40, "x", NotFound),
    ]:
        with pytest.raises(error), database.write() as session:
            edit_knowledge(session, entry_id=entry_id, answer=answer, actor_user_id=1)
    with database.read() as session:
        assert knowledge_stamp(session) == after


def test_remove_is_all_or_nothing_and_by_source(database: Database) -> None:
    with database.write() as session:
        import_knowledge(session, source="company", rows=ROWS)
        replace_knowledge(session, source="shipped", pairs=[("q", "a", None)])
    with database.read() as session:
        ids = [e.id for e in knowledge_entries(session, source="company")]
        stamp = knowledge_stamp(session)
    missing = pytest.raises(NotFound, match="no knowledge entry 999; nothing removed")
    with missing, database.write() as session:
        remove_knowledge(session, entry_ids=[ids[0], 999], actor_user_id=7)
    with database.read() as session:
        assert count_knowledge(session) == 4 and knowledge_stamp(session) == stamp
    with database.write() as session:
        removed = remove_knowledge(session, entry_ids=[ids[0], ids[0]], actor_user_id=7)
    assert [e.id for e in removed] == [ids[0]]
    with database.write() as session:
        assert remove_source(session, source="shipped", actor_user_id=None) == 1
    with database.read() as session:
        assert [e.id for e in knowledge_entries(session)] == ids[1:]
        assert knowledge_stamp(session) != stamp
    assert len(_audits(database, "knowledge.remove")) == 2


def test_stamp_changes_even_when_a_replaced_source_reuses_ids(database: Database) -> None:
    """SQLite hands the ids of deleted rows out again: count and highest id alone repeat."""
    with database.write() as session:
        replace_knowledge(session, source="shipped", pairs=[("q", "old answer", None)])
    with database.read() as session:
        before = knowledge_stamp(session)
    with database.write() as session:
        replace_knowledge(session, source="shipped", pairs=[("q", "new answer", None)])
    with database.read() as session:
        after = knowledge_stamp(session)
        assert session.scalar(select(func.count(Knowledge.id))) == 1
    assert after != before
