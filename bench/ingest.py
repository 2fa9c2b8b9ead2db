"""Ingest rate of the logging path: messages/s into SQLite and PostgreSQL, no model, no Telegram.

Usage, from the repository root::

    python bench/ingest.py                       # SQLite and PostgreSQL, 1 and 16 chats
    python bench/ingest.py --db sqlite --messages 500 --concurrency 1 4 16
    python bench/ingest.py --knowledge --json    # with the shipped FAQ in correction memory

Each message takes exactly the database work of a customer's text in the bot
(:func:`bot.customers.on_text`), through the same functions and the same worker threads
(:class:`bot.deps.Deps`): register the customer and chat (``bot.records.register``), then the
real pipeline (:class:`model.pipeline.Pipeline`: store the inbound message, read the recent
turns, look up correction memory, store the outbound message and its reply record), then
record the Telegram id of the sent answer (``bot.records.record_sent``). The model is replaced
by an instant responder inside this benchmark only (:mod:`bench.instant`).

``--concurrency C`` runs C chats at once, each sending its messages one after another (the
bot keeps one chat's messages in order); the figure is messages/s over the whole run, and the
latency of one message's database work. PostgreSQL runs in a fresh schema, dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import json
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


async def ingest(database: Any, *, messages: int, concurrency: int, seed: int) -> dict[str, Any]:
    """Push ``messages`` through the logging path with ``concurrency`` chats at once."""
    import random

    from bench.instant import instant_pipeline
    from bot.config import BotConfig
    from bot.deps import Deps
    from bot.ratelimit import RateLimiter
    from bot.records import record_sent, register

    rng = random.Random(seed)
    grouped = questions_by_register()
    texts = [pick(rng, REGISTERS[i % len(REGISTERS)], grouped).text for i in range(messages)]
    latencies: list[float] = []

    async with instant_pipeline(database) as pipeline:
        deps = Deps(
            config=BotConfig(),
            database=database,
            answerer=pipeline,
            limiter=RateLimiter(messages + 1),
        )

        async def chat(number: int) -> None:
            user_id = CUSTOMER_BASE_ID + number
            for index in range(number, messages, concurrency):
                started = time.perf_counter()
                who = await deps.write(
                    lambda session, uid=user_id: register(
                        session,
                        telegram_user_id=uid,
                        display_name=f"Customer {uid}",
                        username=None,
                        telegram_chat_id=uid,
                    )
                )
                answer = await pipeline.answer(
                    chat_id=who.chat_id,
                    customer_id=who.customer_id,
                    text=texts[index],
                    telegram_message_id=2 * index + 1,
                )
                message_id = answer.message_id
                assert message_id is not None
                await deps.write(
                    lambda session, mid=message_id, tg=2 * index + 2: record_sent(
                        session, message_id=mid, telegram_message_id=tg
                    )
                )
                latencies.append((time.perf_counter() - started) * 1000)

        started = time.perf_counter()
        await asyncio.gather(*(chat(n) for n in range(concurrency)))
        seconds = time.perf_counter() - started
    return {
        "messages": messages,
        "concurrency": concurrency,
        "seconds": round(seconds, 2),
        "messages_per_s": round(messages / seconds, 1),
        "p50_ms": round(percentile(latencies, 0.50), 2),
        "p95_ms": round(percentile(latencies, 0.95), 2),
        "mean_ms": round(statistics.mean(latencies), 2),
    }


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
        "ingest (logging path, instant responder"
        + (", shipped FAQ in memory)" if figures["knowledge"] else ", empty memory)"),
        f"  {'db':<9} {'chats':>5} {'messages':>8} {'msg/s':>8} {'p50 ms':>8} {'p95 ms':>8}"
        f" {'lost/dup':>8}",
    ]
    for run in figures["runs"]:
        lines.append(
            f"  {run['db']:<9} {run['concurrency']:>5} {run['messages']:>8} "
            f"{run['messages_per_s']:>8} {run['p50_ms']:>8} {run['p95_ms']:>8} "
            f"{run['lost_or_duplicated']:>8}"
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
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16], help="chats at once")
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
