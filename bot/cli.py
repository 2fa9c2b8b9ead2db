"""The ``uttor`` console script: one typer app, commands per the contract in DESIGN.md."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any, NoReturn

import click
import typer
from typer.exceptions import TyperException

from bot.settings import Settings, get_settings

app = typer.Typer(
    help="uttor — a Telegram customer-service bot that learns from its human agents.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
staff_app = typer.Typer(help="Who may use agent and operator commands.", no_args_is_help=True)
app.add_typer(staff_app, name="staff")

JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]


class CliError(Exception):
    """An expected failure: printed as one line, no traceback."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def fail(message: str, code: int = 1) -> NoReturn:
    raise CliError(message, code)


def emit(payload: dict[str, Any]) -> None:
    """Print one JSON object on stdout (Bangla stays readable)."""
    typer.echo(json.dumps(payload, ensure_ascii=False, default=str))


def open_database(settings: Settings | None = None) -> Any:
    """The project's database, checked to be reachable."""
    from sqlalchemy import text

    from storage.db import Database

    settings = settings or get_settings()
    database = Database(settings.db_url)
    with database.engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    return database


@app.command()
def init(
    quick: Annotated[
        bool, typer.Option("--quick", help="Build a very small starter model (under a minute).")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Create or upgrade the database, build the starter model if absent, load the knowledge base.

    Idempotent: a second run changes nothing. The starter model is built only when
    UTTOR_BASE_MODEL is unset.
    """
    from migrations.runner import heads, upgrade

    settings = get_settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    database = open_database(settings)
    upgrade(settings.db_url)
    knowledge = load_shipped_knowledge(database)
    database.dispose()
    base_model = settings.base_model or str(_ensure_starter(settings, quick, not as_json))
    result = {
        "home": str(settings.home.resolve()),
        "database": _safe_url(settings.db_url),
        "schema": heads()[0],
        "knowledge_pairs": knowledge,
        "base_model": base_model,
    }
    if as_json:
        emit(result)
    else:
        typer.echo(f"database ready at schema {result['schema']}: {result['database']}")
        typer.echo(f"knowledge base: {knowledge} question/answer pairs from mydata.json")
        typer.echo(f"base model: {base_model}")


def _ensure_starter(settings: Settings, quick: bool, progress: bool) -> Any:
    """The starter model's folder, built first when absent (a progress bar shows the ETA)."""
    from model.starter import default_model_dir
    from training.data import CORPUS_DIR
    from training.starter import ensure_starter_model

    existing = default_model_dir(settings.models_dir)
    # A full-size starter model serves better than a quick one; never downgrade to --quick.
    if existing is not None and (quick or existing.name != "starter-quick"):
        return existing
    return ensure_starter_model(
        settings.models_dir, corpus_dir=CORPUS_DIR, quick=quick, progress=progress
    )


def load_shipped_knowledge(database: Any) -> int:
    """Load the shipped FAQ (training/data/mydata.json) into the knowledge base; idempotent."""
    from model.text.langid import detect
    from storage.knowledge import replace_knowledge
    from training.data import TRAIN_FILE, load_pairs

    try:
        pairs = load_pairs(TRAIN_FILE)
    except ValueError as exc:
        fail(f"shipped knowledge base unreadable: {exc}")
    rows = [(p["text"], p["completion"], detect(p["text"]).label) for p in pairs]
    with database.write() as session:
        return replace_knowledge(session, source="shipped", pairs=rows)


@staff_app.command("add")
def staff_add(
    user_id: Annotated[int, typer.Argument(help="Numeric Telegram user id.")],
    role: Annotated[str, typer.Option("--role", help="agent or operator.")],
    name: Annotated[str, typer.Option("--name", help="Display name.")] = "",
    as_json: JsonFlag = False,
) -> None:
    """Add a staff member, or change an existing member's role."""
    from storage.staff import add_staff

    database = open_database()
    with database.write() as session:
        staff = add_staff(session, telegram_user_id=user_id, role=role, display_name=name)
        result = {"user_id": staff.telegram_user_id, "role": staff.role, "name": staff.display_name}
    if as_json:
        emit(result)
    else:
        typer.echo(f"{user_id} is now {role}")


@staff_app.command("list")
def staff_list(as_json: JsonFlag = False) -> None:
    """List staff members and their roles."""
    from storage.staff import list_staff

    database = open_database()
    with database.read() as session:
        rows = [
            {"user_id": s.telegram_user_id, "role": s.role, "name": s.display_name}
            for s in list_staff(session)
        ]
    admins = get_settings().admin_ids
    if as_json:
        emit({"staff": rows, "admin_ids": admins})
        return
    for row in rows:
        typer.echo(f"{row['user_id']}\t{row['role']}\t{row['name']}")
    for admin in admins:
        typer.echo(f"{admin}\toperator\t(UTTOR_ADMIN_IDS)")
    if not rows and not admins:
        typer.echo("no staff yet: uttor staff add USER_ID --role agent")


@staff_app.command("remove")
def staff_remove(
    user_id: Annotated[int, typer.Argument(help="Numeric Telegram user id.")],
    as_json: JsonFlag = False,
) -> None:
    """Remove a staff member."""
    from storage.staff import remove_staff

    database = open_database()
    with database.write() as session:
        remove_staff(session, telegram_user_id=user_id)
    if as_json:
        emit({"user_id": user_id, "removed": True})
    else:
        typer.echo(f"{user_id} removed from staff")


def _safe_url(url: str) -> str:
    """The database URL without its password, fit for printing."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _register_feature_commands() -> None:
    """Commands that live beside the feature they drive."""
    from bot import cli_corrections, cli_model, cli_serve, cli_text, cli_training

    for module in (cli_text, cli_model, cli_serve, cli_training, cli_corrections):
        module.register(app)


_register_feature_commands()


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; expected errors become one line on stderr and a non-zero exit code."""
    from sqlalchemy.exc import ArgumentError as UrlError
    from sqlalchemy.exc import OperationalError

    from storage.errors import StorageError

    _protect_logs()
    try:
        result = app(args=argv, prog_name="uttor", standalone_mode=False)
    except (click.ClickException, TyperException) as exc:
        # typer vendors its own copy of click; either can raise usage errors.
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        _error(message, getattr(exc, "exit_code", 2))
    except (click.exceptions.Abort, typer.Abort):
        _error("aborted", 130)
    except CliError as exc:
        _error(str(exc), exc.code)
    except StorageError as exc:
        _error(str(exc), 1)
    except OperationalError as exc:
        _error(f"database unreachable: {exc.orig or exc}".splitlines()[0], 1)
    except UrlError as exc:
        _error(f"bad UTTOR_DATABASE_URL: {exc}", 2)
    except ValueError as exc:
        # pydantic-settings reports a malformed UTTOR_ variable as a ValueError.
        _error(f"bad setting: {' '.join(str(exc).split())}", 2)
    return int(result) if isinstance(result, int) else 0


def _protect_logs() -> None:
    """Mask secrets and personal data in whatever any command logs (retrain, worker, export)."""
    from bot.logging_setup import protect_logs, settings_secrets

    try:
        secrets = settings_secrets(get_settings())
    except ValueError:  # malformed settings: the command itself reports them
        secrets = []
    protect_logs(secrets)


def _error(message: str, code: int) -> NoReturn:
    typer.echo(f"uttor: error: {message}", err=True)
    sys.exit(code)


if __name__ == "__main__":
    sys.exit(main())
