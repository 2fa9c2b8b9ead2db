"""Alembic is the only way tables are created; the models and the migrations agree."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from migrations.runner import downgrade, heads, upgrade
from storage.db import make_engine
from storage.models import Base

EXPECTED_TABLES = {
    "customers",
    "chats",
    "messages",
    "bot_replies",
    "feedback",
    "corrections",
    "staff",
    "handoffs",
    "handoff_pairs",
    "adapters",
    "retrain_runs",
    "audit_log",
    "leases",
}


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def _diff(url: str) -> list:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()


def test_single_head() -> None:
    assert len(heads()) == 1


def test_upgrade_from_empty_creates_every_table(db_url: str) -> None:
    assert _tables(db_url) == set()
    upgrade(db_url)
    assert _tables(db_url) >= EXPECTED_TABLES


def test_downgrade_to_base_and_up_again(db_url: str) -> None:
    upgrade(db_url)
    downgrade(db_url, "base")
    assert _tables(db_url) == set()
    upgrade(db_url)
    assert _tables(db_url) >= EXPECTED_TABLES


def test_upgrade_is_idempotent(db_url: str) -> None:
    upgrade(db_url)
    upgrade(db_url)
    assert _tables(db_url) >= EXPECTED_TABLES


def test_models_match_migrated_schema(db_url: str) -> None:
    upgrade(db_url)
    assert _diff(db_url) == []
