"""``uttor chat``: talk to the bot in a terminal, through the same pipeline as Telegram.

Messages are routed, answered (memory, else the model) and logged to the database exactly as
the Telegram bot does, in a local chat that belongs to a "terminal" customer.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from cli.common import base_model, get_settings, open_database, require_schema

if TYPE_CHECKING:
    from model.pipeline import Pipeline
    from storage.db import Database
    from wiring.settings import Settings

__all__ = ["register"]

#: Telegram never uses chat or user id 0, so the terminal chat cannot collide with a real one.
LOCAL_ID = 0
EXIT_WORDS = frozenset({"exit", "quit", "/exit", "/quit"})

JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON object per reply.")]


def register(app: typer.Typer) -> None:
    """Add ``chat`` to the project's typer app."""
    app.command("chat")(chat)


def chat(
    once: Annotated[
        str | None, typer.Option("--once", help="Answer this one message and exit.")
    ] = None,
    as_json: JsonFlag = False,
    chat_id: Annotated[
        int | None,
        typer.Option(
            "--chat-id",
            help="Local chat to continue (its history is context). Default: the terminal's "
            "chat for an interactive session, a new chat for each --once.",
        ),
    ] = None,
) -> None:
    """Chat with the bot in the terminal (routing, memory, model and logging as on Telegram)."""
    settings = get_settings()
    database = open_database(settings)
    try:
        require_schema(database)
        model = base_model(settings)
        _quiet_libraries()
        asyncio.run(_session(settings, database, model, once, as_json, chat_id))
    finally:
        database.dispose()


async def _session(
    settings: Settings,
    database: Database,
    model: str,
    once: str | None,
    as_json: bool,
    chat: int | None,
) -> None:
    from wiring.build import build_pipeline

    pipeline = await asyncio.to_thread(build_pipeline, settings, database, model, defer=True)
    if chat is None:
        # One question, one conversation: earlier --once questions are not its history, so
        # the same question gets the same answer every time.
        chat = LOCAL_ID if once is None else await asyncio.to_thread(_new_local_id, database)
    chat_id, customer_id = await asyncio.to_thread(_local_chat, database, chat)
    async with pipeline:
        if once is not None:
            await _answer(pipeline, chat_id, customer_id, once, as_json)
            return
        if not as_json:
            typer.echo("uttor chat — type a message; 'exit' or Ctrl-D to leave.", err=True)
        while True:
            line = await asyncio.to_thread(_read_line, "" if as_json else "you> ")
            if line is None or line.strip().lower() in EXIT_WORDS:
                return
            if line.strip():
                await _answer(pipeline, chat_id, customer_id, line.strip(), as_json)


async def _answer(
    pipeline: Pipeline, chat_id: int, customer_id: int, text: str, as_json: bool
) -> None:
    from model.pipeline import describe

    reply = await pipeline.answer(chat_id=chat_id, customer_id=customer_id, text=text)
    if as_json:
        typer.echo(json.dumps(describe(reply), ensure_ascii=False))
        return
    where = reply.source if reply.adapter is None else f"{reply.source}, {reply.adapter}"
    flag = ", flagged" if reply.flagged else ""
    typer.echo(f"bot> {reply.text}")
    typer.echo(f"     [{reply.language}, {where}{flag}, {reply.latency_ms:.0f} ms]", err=True)


def _local_chat(database: Database, chat: int) -> tuple[int, int]:
    """Database ids of the terminal's chat and customer, created on first use."""
    from storage.conversations import upsert_chat, upsert_customer

    with database.write() as session:
        customer = upsert_customer(session, telegram_user_id=chat, display_name="terminal")
        row = upsert_chat(session, telegram_chat_id=chat, customer_id=customer.id)
        return row.id, customer.id


def _new_local_id(database: Database) -> int:
    """A terminal chat id no chat has used: below every other local one (Telegram's user and
    private-chat ids are positive, groups start at -100…, so small negatives stay ours)."""
    from sqlalchemy import func, select

    from storage.models import Chat

    with database.read() as session:
        lowest = session.scalar(
            select(func.min(Chat.telegram_chat_id)).where(
                Chat.telegram_chat_id <= LOCAL_ID, Chat.telegram_chat_id > -(10**9)
            )
        )
    return min(lowest if lowest is not None else LOCAL_ID, LOCAL_ID) - 1


def _read_line(prompt: str) -> str | None:
    try:
        return input(prompt)
    except EOFError:
        return None


def _quiet_libraries() -> None:
    # Weight-loading progress bars and library notices would interleave with the chat. Set
    # through the environment, read when the libraries load: importing transformers here
    # would cost most of a second that an answer from memory never needs.
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    logging.getLogger("bitsandbytes").setLevel(logging.ERROR)
    if not sys.warnoptions:
        import warnings

        warnings.filterwarnings("ignore", category=FutureWarning)
        warnings.filterwarnings("ignore", category=DeprecationWarning)
