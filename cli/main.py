"""The ``uttor`` console script: one typer app, commands per the contract in the README.

Each command group lives in its own module (``cli/setup.py``, ``cli/retrain.py``…) and adds
itself with ``register``; this module only assembles them and turns expected errors into one
line on stderr and an exit code.
"""

from __future__ import annotations

import sys
from typing import NoReturn

import click
import typer
from typer.exceptions import TyperException

from cli import adapters, chat, corrections, knowledge, retrain, serve, setup, staff, text
from cli.common import EXIT_FAILURE, EXIT_USAGE, error_line, get_settings

app = typer.Typer(
    help="uttor — a Telegram customer-service bot that learns from its human agents.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
for group in (setup, staff, text, chat, serve, retrain, adapters, corrections, knowledge):
    group.register(app)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; expected errors become one line on stderr and a non-zero exit code."""
    from sqlalchemy.exc import ArgumentError as UrlError
    from sqlalchemy.exc import OperationalError

    from model.errors import ModelLoadError
    from operations.errors import Refused
    from storage.errors import StorageError

    _protect_logs()
    try:
        result = app(args=argv, prog_name="uttor", standalone_mode=False)
    except (click.ClickException, TyperException) as exc:
        # typer vendors its own copy of click; either can raise usage errors.
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        _error(message, getattr(exc, "exit_code", EXIT_USAGE))
    except (click.exceptions.Abort, typer.Abort):
        _error("aborted", 130)
    except (StorageError, Refused, ModelLoadError) as exc:
        _error(str(exc), EXIT_FAILURE)
    except OperationalError as exc:
        _error(f"database unreachable: {exc.orig or exc}".splitlines()[0], EXIT_FAILURE)
    except UrlError as exc:
        _error(f"bad UTTOR_DATABASE_URL: {exc}", EXIT_USAGE)
    except ValueError as exc:
        # pydantic-settings reports a malformed UTTOR_ variable as a ValueError.
        _error(f"bad setting: {' '.join(str(exc).split())}", EXIT_USAGE)
    code = int(result) if isinstance(result, int) else 0
    if code:  # a command failed through cli.common.fail or typer.Exit
        sys.exit(code)
    return 0


def _protect_logs() -> None:
    """Mask secrets and personal data in whatever any command logs (retrain, worker, export)."""
    from wiring.logs import protect_logs, settings_secrets

    try:
        secrets = settings_secrets(get_settings())
    except ValueError:  # malformed settings: the command itself reports them
        secrets = []
    protect_logs(secrets)


def _error(message: str, code: int) -> NoReturn:
    error_line(message)
    sys.exit(code)


if __name__ == "__main__":
    sys.exit(main())
