"""``uttor adapters list/promote/rollback``: the adapter registry (``operations/adapters.py``)."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.common import JsonFlag, emit, fail, get_settings, open_database

__all__ = ["register"]

adapters_app = typer.Typer(
    help="The adapter registry: list, promote, roll back.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    app.add_typer(adapters_app, name="adapters")


@adapters_app.command("list")
def adapters_list(as_json: JsonFlag = False) -> None:
    """Every adapter, newest first, with its status and ROUGE."""
    from operations.adapters import list_adapters

    database = open_database(get_settings())
    try:
        rows = list_adapters(database)
    finally:
        database.dispose()
    active = next((a.version for a in rows if a.status == "active"), None)
    if as_json:
        emit({"adapters": [a.as_json() for a in rows], "active": active})
        return
    if not rows:
        typer.echo("no adapters yet; the base model answers (uttor retrain trains one)")
        return
    for row in rows:
        score = f"rougeL {row.rouge_l:.4f}" if row.rouge_l is not None else "-"
        typer.echo(f"{row.id}\t{row.version}\t{row.status}\t{score}\t{row.reason or ''}".rstrip())


@adapters_app.command("promote")
def adapters_promote(
    adapter_id: Annotated[str, typer.Argument(help="Adapter id or version.")],
    as_json: JsonFlag = False,
) -> None:
    """Make an adapter active by hand (refused for rejected or unreadable adapters)."""
    from model.errors import NoBaseModel
    from operations.adapters import promote
    from operations.errors import Missing, Refused
    from wiring.configs import resolve_base_model

    settings = get_settings()
    try:
        base: str | None = resolve_base_model(settings)
    except NoBaseModel:
        base = None  # nothing serves yet: no base to compare with
    database = open_database(settings)
    try:
        promoted = promote(database, adapter_id, via="CLI", base_model=base)
    except Missing:
        fail(f"no adapter {adapter_id!r}; see `uttor adapters list`")
    except Refused as exc:
        fail(f"refused: {exc}")
    finally:
        database.dispose()
    if as_json:
        emit({"promoted": promoted.as_json()})
    else:
        typer.echo(f"adapter {promoted.version} is active; serving switches within seconds")


@adapters_app.command("rollback")
def adapters_rollback(as_json: JsonFlag = False) -> None:
    """Retire the active adapter and bring back the one before it (or the base model)."""
    from operations.adapters import rollback

    database = open_database(get_settings())
    try:
        done = rollback(database)
    finally:
        database.dispose()
    now_version = done.active.version if done.active else None
    if as_json:
        emit({"rolled_back": done.retired, "active": now_version})
    else:
        typer.echo(f"rolled back {done.retired}; now serving {now_version or 'the base model'}")
