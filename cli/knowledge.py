"""``uttor knowledge import/list/remove/export``: the company's own questions and answers.

The shell's side of ``/kb``, ``/kb_edit`` and ``/kb_search`` in Telegram (bot/knowledge.py);
both run ``operations/knowledge.py``. An import checks every row first and imports nothing
when any row is bad, listing each problem with its line. Serving picks up every change at
the next question, without a restart or a retrain.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from cli.common import (
    EXIT_FAILURE,
    EXIT_USAGE,
    JsonFlag,
    emit,
    error_line,
    fail,
    open_database,
    require_schema,
)

if TYPE_CHECKING:
    from storage.db import Database
    from storage.knowledge import KnowledgeEntry

__all__ = ["register"]

knowledge_app = typer.Typer(
    help="The company's own questions and answers: import, list, remove, export.",
    no_args_is_help=True,
)
# A list line shows this much of the question and of the answer (--json has all of it).
CLIP = 60

SourceOption = Annotated[
    str | None, typer.Option("--source", help="Only this source (company, shipped…).")
]
TopicOption = Annotated[str | None, typer.Option("--topic", help="Only this topic.")]
RegisterOption = Annotated[
    str | None, typer.Option("--register", help="Only this register: bn, en, banglish, mixed.")
]
FormatOption = Annotated[
    str | None,
    typer.Option("--format", help="csv, tsv, json, jsonl or md (default: from the file name)."),
]


def register(app: typer.Typer) -> None:
    """Add ``knowledge import``, ``list``, ``remove`` and ``export``."""
    app.add_typer(knowledge_app, name="knowledge")


def _database() -> Database:
    database = open_database()
    try:
        require_schema(database)
    except typer.Exit:
        database.dispose()
        raise
    return database


def as_json(entry: KnowledgeEntry) -> dict[str, Any]:
    """One entry as ``list --json`` prints it."""
    return {
        "id": entry.id,
        "source": entry.source,
        "question": entry.question,
        "answer": entry.answer,
        "register": entry.language,
        "topic": entry.topic,
        "created_at": entry.created_at.isoformat(),
    }


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= CLIP else text[: CLIP - 1] + "…"


@knowledge_app.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(help="CSV, TSV, JSON, JSONL or Markdown Q&A file.")],
    source: Annotated[
        str, typer.Option("--source", help="The source the entries belong to.")
    ] = "company",
    replace: Annotated[
        bool,
        typer.Option("--replace", help="Also remove the source's entries the file lacks."),
    ] = False,
    given_format: FormatOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check the file and count; change nothing.")
    ] = False,
    json_out: JsonFlag = False,
) -> None:
    """Import a knowledge file: all rows, or none when any row is bad (listed by line)."""
    from operations.errors import Refused
    from operations.knowledge import ImportRefused, import_file

    database = _database()
    try:
        result = import_file(
            database,
            file,
            source=source,
            replace=replace,
            given_format=given_format,
            dry_run=dry_run,
        )
    except ImportRefused as exc:
        _refused(file, exc, json_out)
    except Refused as exc:  # unreadable, too big, not UTF-8, unknown format
        fail(str(exc), EXIT_USAGE)
    finally:
        database.dispose()
    if json_out:
        emit({"imported": not dry_run, **vars(result)})
        return
    verb = "would import" if dry_run else "imported"
    typer.echo(
        f"{verb} {result.rows} entries from {file.name} into source {result.source!r}: "
        f"{result.added} new, {result.updated} updated, {result.unchanged} unchanged"
        + (f", {result.removed} removed" if replace else "")
    )


def _refused(file: Path, exc: Any, json_out: bool) -> NoReturn:
    problems = exc.problems
    if json_out:
        emit(
            {
                "imported": False,
                "path": str(file),
                "problems": [{"line": p.line, "reason": p.reason} for p in problems],
            }
        )
    else:
        count = len(problems)
        error_line(f"{file.name}: {count} bad row{'s' * (count != 1)}; nothing imported")
        for problem in problems:
            typer.echo(f"  {problem}", err=True)
    raise typer.Exit(EXIT_FAILURE)


@knowledge_app.command("list")
def list_command(
    source: SourceOption = None,
    topic: TopicOption = None,
    register_name: RegisterOption = None,
    search: Annotated[
        str | None,
        typer.Option("--search", help="Only entries with every one of these words."),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many.")] = 50,
    offset: Annotated[int, typer.Option("--offset", min=0, help="Skip this many first.")] = 0,
    json_out: JsonFlag = False,
) -> None:
    """The knowledge base: id, source, register, topic, question and answer."""
    from operations.errors import Refused
    from operations.knowledge import list_entries

    database = _database()
    try:
        found, total = list_entries(
            database,
            source=source,
            topic=topic,
            register=register_name,
            words=(search or "").split(),
            limit=limit,
            offset=offset,
        )
    except Refused as exc:  # an unknown register
        fail(str(exc), EXIT_USAGE)
    finally:
        database.dispose()
    if json_out:
        emit({"entries": [as_json(entry) for entry in found], "total": total})
        return
    if not found:
        typer.echo("no knowledge entries found")
        return
    typer.echo("id\tsource\tregister\ttopic\tquestion\tanswer")
    for entry in found:
        typer.echo(
            f"{entry.id}\t{entry.source}\t{entry.language or '-'}\t{entry.topic or '-'}\t"
            f"{_clip(entry.question)}\t{_clip(entry.answer)}"
        )
    if total > offset + len(found):
        typer.echo(f"{len(found)} of {total} shown; --offset {offset + len(found)} for more")


@knowledge_app.command("remove")
def remove_command(
    entry_ids: Annotated[
        list[int] | None, typer.Argument(help="Entry ids (see `uttor knowledge list`).")
    ] = None,
    source: Annotated[
        str | None, typer.Option("--source", help="Remove every entry of this source instead.")
    ] = None,
    json_out: JsonFlag = False,
) -> None:
    """Remove entries by id (all or none: an unknown id removes nothing), or a whole source."""
    from operations.knowledge import remove_entries, remove_entries_of

    if bool(entry_ids) == (source is not None):
        fail("give entry ids or --source NAME (one of the two)", EXIT_USAGE)
    database = _database()
    try:
        if source is not None:
            count = remove_entries_of(database, source, actor_user_id=None)
            removed_ids: list[int] = []
        else:
            removed = remove_entries(database, list(entry_ids or []), actor_user_id=None)
            count, removed_ids = len(removed), [entry.id for entry in removed]
    finally:
        database.dispose()
    if json_out:
        emit({"removed": count, "ids": removed_ids, "source": source})
    elif source is not None:
        typer.echo(f"removed {count} entries of source {source!r}")
    else:
        typer.echo(
            f"removed {count} entr{'y' if count == 1 else 'ies'}: "
            + " ".join(str(i) for i in removed_ids)
        )


@knowledge_app.command("export")
def export_command(
    out: Annotated[
        Path, typer.Option("--out", help="The file to write (its extension picks the format).")
    ],
    source: SourceOption = None,
    topic: TopicOption = None,
    register_name: RegisterOption = None,
    given_format: FormatOption = None,
    json_out: JsonFlag = False,
) -> None:
    """Write entries to a file that `uttor knowledge import` reads back unchanged."""
    from operations.errors import Refused
    from operations.knowledge import export_file

    database = _database()
    try:
        count, kind = export_file(
            database,
            out,
            source=source,
            topic=topic,
            register=register_name,
            given_format=given_format,
        )
    except Refused as exc:
        fail(str(exc), EXIT_USAGE)
    finally:
        database.dispose()
    if json_out:
        emit({"path": str(out), "format": kind, "entries": count})
    else:
        typer.echo(f"wrote {count} entries to {out} ({kind})")
