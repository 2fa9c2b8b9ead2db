"""Throw-away databases for benchmarks: a SQLite file, or a fresh PostgreSQL schema.

Both are migrated with Alembic (the only way uttor creates tables) and removed afterwards:
a PostgreSQL benchmark never touches existing tables, it works in ``bench_<random>`` and drops
that schema at the end, even when the benchmark fails.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import create_engine, text

from migrations.runner import upgrade
from storage.db import Database

#: Server used when neither ``--postgres-url`` nor ``UTTOR_BENCH_POSTGRES_URL`` is given.
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def postgres_server_url(explicit: str | None = None) -> str:
    """The PostgreSQL server to create the benchmark schema in."""
    return (
        explicit
        or os.environ.get("UTTOR_BENCH_POSTGRES_URL")
        or os.environ.get("UTTOR_TEST_POSTGRES_URL")
        or DEFAULT_POSTGRES_URL
    )


@contextmanager
def scratch_database(kind: str, *, postgres_url: str | None = None) -> Iterator[Database]:
    """A migrated, empty database of ``kind`` (``sqlite`` or ``postgres``), removed at exit."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="uttor-bench-") as folder:
            url = f"sqlite:///{Path(folder) / 'bench.db'}"
            upgrade(url)
            database = Database(url)
            try:
                yield database
            finally:
                database.dispose()
        return
    if kind != "postgres":
        raise ValueError(f"unknown database kind {kind!r}; use sqlite or postgres")
    server = postgres_server_url(postgres_url)
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in server else "?"
    url = f"{server}{separator}options={quote(f'-csearch_path={schema}')}"
    try:
        upgrade(url)
        database = Database(url)
        try:
            yield database
        finally:
            database.dispose()
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
