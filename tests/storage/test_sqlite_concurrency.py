"""Two processes writing into one SQLite file at once lose nothing and raise nothing."""

from __future__ import annotations

import multiprocessing as mp

from sqlalchemy import func, select

from migrations.runner import upgrade
from storage import conversations as conv
from storage.db import Database
from storage.models import Message

PER_PROCESS = 500


def _writer(url: str, worker: int, errors: mp.Queue) -> None:
    database = Database(url)
    try:
        for i in range(PER_PROCESS):
            # Each message is its own read-then-write transaction, the worst case for SQLite.
            with database.write() as session:
                customer = conv.upsert_customer(session, telegram_user_id=worker * 10_000 + i % 7)
                chat = conv.upsert_chat(
                    session, telegram_chat_id=worker * 10_000 + i % 7, customer_id=customer.id
                )
                conv.add_message(
                    session,
                    chat_id=chat.id,
                    direction="in",
                    text=f"w{worker} m{i}",
                    telegram_message_id=i,
                )
    except Exception as exc:  # reported to the parent, which fails the test
        errors.put(f"{type(exc).__name__}: {exc}")
    finally:
        database.dispose()


def test_two_processes_500_messages_each(sqlite_url: str) -> None:
    upgrade(sqlite_url)
    context = mp.get_context("spawn")
    errors: mp.Queue = context.Queue()
    workers = [context.Process(target=_writer, args=(sqlite_url, n, errors)) for n in (1, 2)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(timeout=240)
    assert [p.exitcode for p in workers] == [0, 0]
    assert errors.empty(), errors.get()
    database = Database(sqlite_url)
    with database.read() as session:
        assert session.scalar(select(func.count()).select_from(Message)) == 2 * PER_PROCESS
    database.dispose()
