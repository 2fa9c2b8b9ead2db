"""What every command shares: errors, exit codes, JSON output, settings, the database.

Command modules import this module and never ``cli.main`` (which imports them to register
them), so the command line has no import cycle.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

if TYPE_CHECKING:
    from storage.db import Database
    from wiring.settings import Settings

#: A command that ran and failed (a refused promotion, an unreachable database).
EXIT_FAILURE = 1
#: The input was wrong (a bad flag, a missing file, a malformed setting), as for usage errors.
EXIT_USAGE = 2

JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]


def fail(message: str, code: int = EXIT_FAILURE) -> NoReturn:
    """An expected failure: one line on stderr, no traceback, exit ``code``."""
    error_line(message)
    raise typer.Exit(code)


def error_line(message: str) -> None:
    """``uttor: error: MESSAGE`` on stderr, the one shape every failure is reported in."""
    typer.echo(f"uttor: error: {message}", err=True)


def emit(payload: dict[str, Any]) -> None:
    """Print one JSON object on stdout (Bangla stays readable)."""
    typer.echo(json.dumps(payload, ensure_ascii=False, default=str))


def get_settings() -> Settings:
    """The settings, read afresh (tests change the environment between calls)."""
    from wiring.settings import Settings

    return Settings()


def safe_url(url: str) -> str:
    """The database URL without its password, fit for printing."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def open_database(settings: Settings | None = None) -> Database:
    """The project's database, checked to be reachable.

    A PostgreSQL database that does not exist is said so, with the command that creates it,
    instead of the driver's "database unreachable".
    """
    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError

    from storage.db import Database

    settings = settings or get_settings()
    database = Database(settings.db_url)
    try:
        with database.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except OperationalError as exc:
        missing = _missing_database(settings.db_url, exc)
        if missing is None:
            raise
        database.dispose()
        fail(
            f"database {missing!r} does not exist on {safe_url(settings.db_url)}; create it "
            f"with `createdb {missing}` (or CREATE DATABASE {missing};), then run `uttor init`"
        )
    return database


def _missing_database(url: str, exc: Exception) -> str | None:
    """The database name when the server said it does not exist (PostgreSQL: 3D000)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if not parsed.drivername.startswith("postgresql"):
        return None
    code = getattr(getattr(exc, "orig", None), "sqlstate", None)
    text = str(getattr(exc, "orig", exc))
    if code == "3D000" or (
        parsed.database and f'database "{parsed.database}" does not exist' in text
    ):
        return parsed.database
    return None


def require_schema(database: Database) -> None:
    """Fail with a hint when ``uttor init`` has not created the tables yet."""
    from sqlalchemy import inspect

    if not inspect(database.engine).has_table("messages"):
        fail("the database has no tables yet; run `uttor init` first")


def base_model(settings: Settings) -> str:
    """``UTTOR_BASE_MODEL`` or the starter model, or a one-line failure saying what to do."""
    from model.errors import NoBaseModel
    from wiring.configs import resolve_base_model

    try:
        return resolve_base_model(settings)
    except NoBaseModel as exc:
        fail(str(exc))
