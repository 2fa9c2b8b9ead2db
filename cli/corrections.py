"""``uttor corrections list/reject``: find corrections through the audit log, reject bad ones.

The shell's way to do what ``/corrections`` and ``/reject`` do in Telegram (bot/rejections.py);
both run ``operations/corrections.py``:
an operator who learns that an agent taught the bot something wrong (or that an agent account
was misused) lists that agent's corrections and rejects them. A rejected correction leaves
correction memory at the next question and the next export; the rejection is audited.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from cli.common import EXIT_USAGE, JsonFlag, emit, fail, open_database

if TYPE_CHECKING:
    from storage.corrections import AuditedCorrection

__all__ = ["register"]

corrections_app = typer.Typer(
    help="Agents' corrections: find them through the audit log, reject bad ones.",
    no_args_is_help=True,
)
# A list line shows this much of the corrected answer (--json has all of it).
CLIP = 80


def register(app: typer.Typer) -> None:
    """Add ``corrections list`` and ``corrections reject``."""
    app.add_typer(corrections_app, name="corrections")


def _as_json(item: AuditedCorrection) -> dict[str, Any]:
    return {
        "id": item.correction_id,
        "reply_id": item.reply_id,
        "agent_user_id": item.agent_user_id,
        "created_at": item.created_at.isoformat(),
        "status": item.status,
        "question": item.question,
        "text": item.text,
        "trained_in_run": item.trained_in_run,
    }


@corrections_app.command("list")
def list_corrections(
    agent: Annotated[
        int | None, typer.Option("--agent", help="Only this agent's (numeric Telegram user id).")
    ] = None,
    status: Annotated[
        str | None, typer.Option("--status", help="Only active, superseded or rejected ones.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many.")] = 20,
    as_json: JsonFlag = False,
) -> None:
    """The newest corrections as the audit log recorded them: id, state, author, reply, text."""
    from operations.corrections import list_corrections
    from operations.errors import Refused

    database = open_database()
    try:
        found = list_corrections(database, agent_user_id=agent, status=status, limit=limit)
    except Refused as exc:  # an unknown status
        fail(str(exc), EXIT_USAGE)
    finally:
        database.dispose()
    if as_json:
        emit({"corrections": [_as_json(item) for item in found]})
        return
    for item in found:
        text = " ".join(item.text.split())
        text = text if len(text) <= CLIP else text[: CLIP - 1] + "…"
        when = item.created_at.strftime("%Y-%m-%d %H:%M")
        typer.echo(
            f"{item.correction_id}\t{item.status}\t{item.agent_user_id}\t"
            f"reply {item.reply_id}\t{when}\t{text}"
        )
    if not found:
        typer.echo("no corrections found")


@corrections_app.command("reject")
def reject(
    correction_ids: Annotated[
        list[int], typer.Argument(help="Correction ids (see `uttor corrections list`).")
    ],
    reason: Annotated[str, typer.Option("--reason", help="Why, for the audit log.")] = "",
    as_json: JsonFlag = False,
) -> None:
    """Withdraw corrections from correction memory and from the next training export."""
    from operations.corrections import reject as reject_all
    from operations.corrections import rejection_text

    database = open_database()
    try:
        result = reject_all(database, list(correction_ids), actor_user_id=None, reason=reason)
    finally:
        database.dispose()
    rejected = [
        {
            "id": done.correction_id,
            "reply_id": done.reply_id,
            "agent_user_id": done.agent_user_id,
            "was_active": done.was_active,
            "trained_in_run": done.trained_in_run,
        }
        for done in result.done
    ]
    if as_json:
        emit({"rejected": rejected, "errors": result.errors})
    else:
        for done in result.done:
            typer.echo(rejection_text(done, shell=True))
    if result.errors:
        fail("; ".join(result.errors))
