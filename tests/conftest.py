"""Shared fixtures: real databases (a SQLite file, and PostgreSQL when configured)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from sqlalchemy import create_engine, text

from migrations.runner import upgrade
from storage.db import Database

POSTGRES_URL = os.environ.get("UTTOR_TEST_POSTGRES_URL")
POSTGRES_SKIP = "UTTOR_TEST_POSTGRES_URL is unset (CI sets it); PostgreSQL tests skipped"


@pytest.fixture(autouse=True)
def _isolated_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """No test reads the developer's own UTTOR_ settings or .env."""
    for name in list(os.environ):
        if name.startswith("UTTOR_") and name != "UTTOR_TEST_POSTGRES_URL":
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'uttor.db'}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A URL whose connections live in a fresh, private PostgreSQL schema."""
    if not POSTGRES_URL:
        pytest.skip(POSTGRES_SKIP)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in POSTGRES_URL else "?"
    yield f"{POSTGRES_URL}{separator}options={quote(f'-csearch_path={schema}')}"
    with admin.connect() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest) -> str:
    """An empty database of each kind."""
    name = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    return request.getfixturevalue(name)


@pytest.fixture
def database(db_url: str) -> Iterator[Database]:
    """A migrated database of each kind."""
    upgrade(db_url)
    db = Database(db_url)
    yield db
    db.dispose()


@pytest.fixture
def sqlite_database(sqlite_url: str) -> Iterator[Database]:
    """A migrated SQLite database, for tests that need only one kind."""
    upgrade(sqlite_url)
    db = Database(sqlite_url)
    yield db
    db.dispose()
