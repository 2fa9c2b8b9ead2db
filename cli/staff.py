"""``uttor staff add/list/remove``: who may use agent and operator commands."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.common import JsonFlag, emit, get_settings, open_database

__all__ = ["register"]

staff_app = typer.Typer(help="Who may use agent and operator commands.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(staff_app, name="staff")


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
    if not rows and not admins:
        typer.echo("no staff yet: uttor staff add USER_ID --role agent")
        return
    typer.echo("user_id\trole\tname")
    for row in rows:
        typer.echo(f"{row['user_id']}\t{row['role']}\t{row['name']}")
    for admin in admins:
        typer.echo(f"{admin}\toperator\t(UTTOR_ADMIN_IDS)")


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
