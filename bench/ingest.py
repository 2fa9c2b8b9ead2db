"""Ingest rate of the bot's database path: messages/s into SQLite and PostgreSQL, no model, no
Telegram.

Usage, from the repository root::

    python bench/ingest.py                       # SQLite and PostgreSQL, 1, 16 and 64 chats
    python bench/ingest.py --db sqlite --messages 500 --concurrency 1 4 16
    python bench/ingest.py --knowledge --json    # with the shipped FAQ in correction memory

Each message takes exactly the database work of a customer's text in the bot, through the
same code: stored in the inbox as polling stores a ``getUpdates`` batch, claimed and marked
done by the real inbox worker (:class:`bot.inbox.InboxWorker`, which reads each chat's rate
window and customer with the claim), and in between what :func:`bot.customers.on_text` does:
the verdict and the customer (:func:`bot.customers.judge_sender`; a write to register a new
customer), then the real pipeline (:class:`model.pipeline.Pipeline`: the question stored with
the recent turns and memory read, the reply and its record stored, each with the other
chats' at that moment: ``storage/batching.py``), and the Telegram id of the sent answer,
written with the update's "done". Only Telegram is left out, and the model is replaced by an
instant responder inside this benchmark (``bench/instant.py``).

``--concurrency C`` spreads the messages over C chats; the worker handles up to 64 updates at
once and keeps each chat's in order, so at most C run at once. Reported: messages/s over the
whole run (first store to last "done"), the latency of one message's work in the handler
(its reads and the pipeline, while up to C others run), this process's CPU time per message
(PostgreSQL's own is not in it), the PostgreSQL server's CPU time per message (every
``postgres`` process of this machine, read from ``/proc``: a server elsewhere, or other
clients of this one, make it meaningless), and the write transactions per message: those of the
logging path (transactions that insert messages or customers: questions, replies,
registrations; at most two per message, fewer when concurrent chats share them) and the
inbox's (storing, claiming and marking done, shared by every message in a batch). PostgreSQL
runs in a fresh schema, dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))  # runs from a checkout without installing

from bench.machine import load_average, machine, machine_line, peak_rss_mib, percentile  # noqa: E402
from bench.questions import pick, questions_by_register  # noqa: E402
from model.text.languages import REGISTERS  # noqa: E402

#: Telegram ids of the benchmark's customers: 820000000 + chat number.
CUSTOMER_BASE_ID = 820_000_000


#: Updates stored per batch, as one ``getUpdates`` call returns at most.
BATCH = 100


def make_updates(texts: list[str], concurrency: int) -> list[dict[str, Any]]:
    """Telegram updates (JSON) of ``texts``, spread over ``concurrency`` chats in turn."""
    updates = []
    for index, text in enumerate(texts):
        user_id = CUSTOMER_BASE_ID + index % concurrency
        user = {"id": user_id, "is_bot": False, "first_name": f"Customer {user_id}"}
        message = {
            "message_id": index + 1,
            "date": int(time.time()),
            "chat": {"id": user_id, "type": "private", "first_name": user["first_name"]},
            "from": user,
            "text": text,
        }
        updates.append({"update_id": index + 1, "message": message})
    return updates


class Handlers:
    """Stands in for the Telegram application: what ``on_text`` does, minus Telegram."""

    bot = None  # updates are read without a bot: nothing here talks to Telegram

    def __init__(self, database: Any, pipeline: Any, per_minute: int) -> None:
        from bot.deps import Deps

        self.deps = Deps(config=_config(per_minute), database=database, answerer=pipeline)
        self.took: dict[int, float] = {}
        """Milliseconds of each message's work in the handler (reads, pipeline)."""

    async def process_update(self, update: Any) -> None:
        from bot.customers import judge_sender
        from bot.jobs import current_job
        from bot.ratelimit import Verdict
        from bot.records import register

        started = time.perf_counter()
        job, message, d = current_job(), update.message, self.deps
        assert job is not None and message is not None and message.from_user is not None
        user = message.from_user
        verdict, who = await judge_sender(d, job, update)
        job.verdict = verdict.value
        assert verdict is Verdict.ALLOW
        if who is None:
            identity = {
                "telegram_user_id": user.id,
                "display_name": user.full_name,
                "username": user.username,
                "telegram_chat_id": message.chat_id,
            }
            who = await d.write(lambda s: register(s, **identity))
        answer = await d.answerer.answer(
            chat_id=who.chat_id,
            customer_id=who.customer_id,
            text=message.text or "",
            telegram_message_id=message.message_id,
            deadline=job.deadline,
        )
        assert answer.message_id is not None
        # The Telegram id the sent answer got; written with "done" by the worker.
        job.sent.append((answer.message_id, 1_000_000 + message.message_id))
        self.took[update.update_id] = (time.perf_counter() - started) * 1000


def _config(per_minute: int) -> Any:
    from bot.config import BotConfig

    return BotConfig(rate_limit_per_min=per_minute)


async def ingest(database: Any, *, messages: int, concurrency: int, seed: int) -> dict[str, Any]:
    """Push ``messages`` through the bot's database path, spread over ``concurrency`` chats."""
    import random

    from sqlalchemy import event

    from bench.instant import instant_pipeline
    from bot.inbox import InboxWorker
    from bot.jobs import instance_id

    rng = random.Random(seed)
    grouped = questions_by_register()
    texts = [pick(rng, REGISTERS[i % len(REGISTERS)], grouped).text for i in range(messages)]
    updates = make_updates(texts, concurrency)
    writes = {"n": 0, "logging": 0}

    def note(connection: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "INSERT INTO messages" in statement or "INSERT INTO customers" in statement:
            connection.info["logging"] = True

    def count(connection: Any) -> None:
        writes["n"] += 1
        writes["logging"] += bool(connection.info.pop("logging", False))

    def forget(connection: Any) -> None:
        connection.info.pop("logging", None)

    async with instant_pipeline(database) as pipeline:
        handlers = Handlers(database, pipeline, per_minute=messages + 1)
        worker = InboxWorker(database, holder=instance_id(), lease_s=60, reply_timeout_s=30)
        await worker.start(handlers)  # type: ignore[arg-type]  # duck-typed on purpose
        event.listen(database.engine, "before_cursor_execute", note)
        event.listen(database.engine, "commit", count)
        event.listen(database.engine, "rollback", forget)
        started, cpu_started = time.perf_counter(), time.process_time()
        server_started = postgres_cpu_s()
        for first in range(0, len(updates), BATCH):
            await worker.store(updates[first : first + BATCH])
        await worker.settled()
        seconds = time.perf_counter() - started
        cpu_s = time.process_time() - cpu_started
        server_s = postgres_cpu_s()
        event.remove(database.engine, "commit", count)
        event.remove(database.engine, "rollback", forget)
        event.remove(database.engine, "before_cursor_execute", note)
        await worker.stop()
    latencies = list(handlers.took.values())
    logging_writes = writes["logging"]
    return {
        "messages": messages,
        "concurrency": concurrency,
        "seconds": round(seconds, 2),
        "messages_per_s": round(messages / seconds, 1),
        "p50_ms": round(percentile(latencies, 0.50), 2),
        "p95_ms": round(percentile(latencies, 0.95), 2),
        "mean_ms": round(statistics.mean(latencies), 2),
        "cpu_ms_per_message": round(cpu_s * 1000 / messages, 2),
        "postgres_cpu_ms_per_message": (
            round((server_s - server_started) * 1000 / messages, 2)
            if database.engine.dialect.name == "postgresql"
            and server_s is not None
            and server_started is not None
            else None
        ),
        "writes_per_message": round(writes["n"] / messages, 2),
        "logging_writes_per_message": round(logging_writes / messages, 2),
        "inbox_writes_per_message": round((writes["n"] - logging_writes) / messages, 2),
    }


def postgres_cpu_s() -> float | None:
    """CPU seconds used so far by the PostgreSQL server processes of this machine (``None``
    where ``/proc`` is not readable): the exited ones are in the postmaster's child times.

    Every PostgreSQL process of the machine counts, so work of other clients shows up here
    too; the benchmark's own server cost is the whole figure only on an otherwise idle server.
    """
    total, found = 0, False
    try:
        entries = list(Path("/proc").iterdir())
    except OSError:
        return None
    for entry in entries:
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # gone since the listing
        name, _, rest = stat.partition("(")[2].rpartition(")")
        if not name.startswith("postgres"):
            continue
        fields = rest.split()
        # utime, stime, cutime, cstime: fields 14 to 17 of proc(5), counted after the name.
        total += sum(int(value) for value in fields[11:15])
        found = True
    return total / os.sysconf("SC_CLK_TCK") if found else None


def counts(database: Any) -> dict[str, int]:
    """Rows written: inbound and outbound messages, reply records."""
    from sqlalchemy import func, select

    from storage.models import BotReply, Message

    with database.read() as session:
        inbound = session.scalar(
            select(func.count()).select_from(Message).where(Message.direction == "in")
        )
        outbound = session.scalar(
            select(func.count()).select_from(Message).where(Message.direction == "out")
        )
        replies = session.scalar(select(func.count()).select_from(BotReply))
    return {
        "inbound": int(inbound or 0),
        "outbound": int(outbound or 0),
        "replies": int(replies or 0),
    }


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Every (database, concurrency) run, each on a fresh database, checked for lost rows."""
    from bench.databases import scratch_database
    from operations.knowledge import load_shipped_knowledge

    figures: dict[str, Any] = {
        "benchmark": "ingest",
        "knowledge": args.knowledge,
        "machine": machine(),
        "runs": [],
        "command": "python bench/ingest.py " + " ".join(args.argv),
    }
    ok = True
    for kind in args.db:
        for concurrency in args.concurrency:
            with scratch_database(kind, postgres_url=args.postgres_url) as database:
                if args.knowledge:
                    load_shipped_knowledge(database)
                run = asyncio.run(
                    ingest(
                        database,
                        messages=args.messages,
                        concurrency=concurrency,
                        seed=args.seed,
                    )
                )
                rows = counts(database)
            expected = {"inbound": args.messages, "outbound": args.messages}
            run["lost_or_duplicated"] = sum(
                abs(rows[name] - expected[name]) for name in expected
            ) + abs(rows["replies"] - args.messages)
            ok = ok and run["lost_or_duplicated"] == 0
            figures["runs"].append({"db": kind, **run})
    figures["ok"] = ok
    figures["peak_rss_mib"] = peak_rss_mib()
    figures["load_average_end"] = load_average()
    return figures


def report(figures: dict[str, Any]) -> str:
    lines = [
        "ingest (inbox and logging path, instant responder"
        + (", shipped FAQ in memory)" if figures["knowledge"] else ", empty memory)"),
        f"  {'db':<9} {'chats':>5} {'messages':>8} {'msg/s':>8} {'p50 ms':>8} {'p95 ms':>8}"
        f" {'CPU ms/msg':>10} {'PG CPU ms/msg':>13} {'writes/msg (log+inbox)':>23}"
        f" {'lost/dup':>8}",
    ]
    for run in figures["runs"]:
        server = run["postgres_cpu_ms_per_message"]
        writes = (
            f"{run['writes_per_message']} ({run['logging_writes_per_message']}"
            f"+{run['inbox_writes_per_message']})"
        )
        lines.append(
            f"  {run['db']:<9} {run['concurrency']:>5} {run['messages']:>8} "
            f"{run['messages_per_s']:>8} {run['p50_ms']:>8} {run['p95_ms']:>8} "
            f"{run['cpu_ms_per_message']:>10} "
            f"{'-' if server is None else server:>13} "
            f"{writes:>23} {run['lost_or_duplicated']:>8}"
        )
    lines.append(
        f"  machine   {machine_line(figures['machine'])} (end {figures['load_average_end'][0]})"
    )
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", nargs="+", choices=("sqlite", "postgres"), default=None)
    parser.add_argument("--postgres-url", help="server for postgres runs (a schema is made)")
    parser.add_argument("--messages", type=int, default=2000, help="messages per run (2000)")
    parser.add_argument(
        "--concurrency", type=int, nargs="+", default=[1, 16, 64], help="chats at once"
    )
    parser.add_argument("--knowledge", action="store_true", help="load the shipped FAQ first")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    args.db = args.db or ["sqlite", "postgres"]
    if args.messages < 1 or min(args.concurrency) < 1:
        parser.error("--messages and --concurrency must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    figures = measure(args)
    print(json.dumps(figures, ensure_ascii=False) if args.json else report(figures))
    return 0 if figures["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
