"""Load test: the real bot (polling) against a fake Bot API, under an open arrival rate.

Usage, from the repository root::

    python bench/load.py                                  # 100 customers x 20 messages, model
    python bench/load.py --responder instant              # bot + storage path, no model
    python bench/load.py --db postgres                    # a fresh schema on 127.0.0.1:5432
    python bench/load.py --model tiny --rate 4            # a tiny model built on the fly
    python bench/load.py --customers 5 --messages 2 --json

The bot is the product's own: :func:`wiring.build.build_bot` and :func:`bot.app.serve`
(polling), with the pipeline of ``uttor serve`` (:func:`wiring.build.build_pipeline`: the
starter model under ``UTTOR_HOME``, or ``--model``), on a fresh database. The customers and the
fake Telegram server run in a child process (``bench/customers.py``). Messages arrive as a
Poisson process of ``--rate`` per second (open loop: nobody waits for an answer before the
next customer writes), each customer sending ``--messages`` questions from the held-out test
set in all four registers (bn, en, banglish, mixed).

Reported: messages/s held (replies over the time from the first message to the last reply),
reply latency p50/p95/p99 (message queued for ``getUpdates`` → its ``sendMessage`` answered by
the fake server), reply sources, batch sizes, peak RSS. Then the check: every message sent is
stored once, has exactly one reply record, and got exactly one reply at the fake server, and
each stored reply is the message that server saw. Any message lost or duplicated: exit 1.

``--responder instant`` swaps the model for an instant responder inside this benchmark only
(:mod:`bench.instant`); the rest of the pipeline is unchanged. Telegram's flood limits (30
requests/s overall, 20/min per group) stay on, as in production; ``--telegram-limits off``
lifts them to find what the bot and database alone can carry.

``--replicas N`` (PostgreSQL) runs N bot processes behind webhooks instead of one polling bot
here, as ``docker compose up --scale bot=N`` does: each is ``python -m bench.load --replica
SPEC`` (the same build as ``uttor serve``), the fake Telegram server delivers each message to
them in turn (a failed delivery goes to the next), and they share the flood budget (30/N
messages/s each). ``--timeout S`` sets ``UTTOR_GENERATION_TIMEOUT_S``; the report counts the
replies that came later than S + 1 s after their message.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))  # runs from a checkout without installing

from bench.customers import Push, Seen  # noqa: E402
from bench.machine import (  # noqa: E402
    load_average,
    machine,
    machine_line,
    peak_rss_mib,
    percentile,
    quiet_transformers,
)
from bench.questions import pick, questions_by_register  # noqa: E402
from model.text.languages import REGISTERS  # noqa: E402

if TYPE_CHECKING:
    from storage.db import Database
    from wiring.settings import Settings

AGENTS_CHAT = -1009000000001
#: Seconds the bot may take to stop (finishing replies in flight) before the run is failed.
SHUTDOWN_TIMEOUT_S = 120.0


# --- the workload -----------------------------------------------------------------------------


def make_arrivals(
    customers: int, messages: int, rate: float, seed: int
) -> list[tuple[float, int, str, str]]:
    """``customers * messages`` arrivals ``(at_s, customer, register, text)``, Poisson in time.

    The order of senders is a shuffle of every customer ``messages`` times, so customers
    interleave as independent people do; a customer's k-th message is in register
    ``(customer + k) mod 4``, so each one writes in all four registers.
    """
    rng = random.Random(seed)
    grouped = questions_by_register()
    order = [customer for customer in range(customers) for _ in range(messages)]
    rng.shuffle(order)
    written: Counter[int] = Counter()
    arrivals = []
    at = 0.0
    for customer in order:
        at += rng.expovariate(rate)
        register = REGISTERS[(customer + written[customer]) % len(REGISTERS)]
        written[customer] += 1
        arrivals.append((round(at, 6), customer, register, pick(rng, register, grouped).text))
    return arrivals


# --- the bot ----------------------------------------------------------------------------------


def resolve_model(choice: str | None, scratch: Path) -> tuple[str, str]:
    """(model directory, how it was chosen) for ``--model``: starter, tiny or a directory."""
    from model.errors import NoBaseModel
    from wiring.configs import resolve_base_model
    from wiring.settings import Settings

    if choice == "tiny":
        from tests.shared.tiny_models import TINY, build_tiny

        path = build_tiny(scratch / "tiny", TINY)
        return str(path), "tiny model built on the fly (tests/shared/tiny_models.py TINY)"
    if choice not in (None, "starter"):
        return choice, "--model directory"
    settings = Settings()
    try:
        found = resolve_base_model(settings)
    except NoBaseModel as exc:
        raise SystemExit(
            f"{exc}; or pass --model tiny, --model DIR or --responder instant"
        ) from exc
    if settings.base_model:
        return found, "UTTOR_BASE_MODEL"
    return found, f"starter model under UTTOR_HOME ({settings.home})"


def lift_flood_limits(application: Any) -> None:
    """Switch off the flood limits of the application's rate limiter (429 retries stay).

    The limiter is python-telegram-bot's ``AIORateLimiter`` (or a subclass); it skips a limit
    whose limiter is unset or whose rate is 0, exactly as when built with rates of 0.
    """
    from telegram.ext import AIORateLimiter

    limiter = application.bot.rate_limiter
    if not isinstance(limiter, AIORateLimiter):
        raise RuntimeError(f"unexpected rate limiter {type(limiter).__name__}")
    limiter._base_limiter = None
    limiter._group_max_rate = 0


def bot_settings(
    args: argparse.Namespace,
    database_url: str,
    home: Path,
    url: str,
    token: str,
    **extra: Any,
) -> Settings:
    from pydantic import SecretStr

    from wiring.settings import Settings

    values: dict[str, Any] = {
        "home": home,
        "database_url": database_url,
        "telegram_token": SecretStr(token),
        "telegram_api_url": url,
        "agents_chat_id": AGENTS_CHAT,
        "mirror": args.mirror,
        # The per-customer limit is a flood guard (tested in tests/bot); here a customer's
        # messages are load to be answered, so it must not drop any of them.
        "rate_limit_per_min": max(20, args.messages + 1),
        "handoff_timeout_min": 0,
        "threads": args.threads,
        "log_level": "WARNING",
        # Several replicas share the bot's budget of messages per second.
        "send_rate_per_s": 30.0 / args.replicas,
    }
    if args.timeout is not None:
        values["generation_timeout_s"] = args.timeout
    return Settings(**(values | extra))


async def _line(stream: asyncio.StreamReader) -> dict[str, Any]:
    line = await stream.readline()
    if not line:
        raise RuntimeError("the customers' process ended early (see its messages above)")
    return json.loads(line)


async def start_customers(
    args: argparse.Namespace, webhook_urls: list[str] | None = None
) -> asyncio.subprocess.Process:
    """Start the customers' process (``bench/customers.py``) and hand it the plan of arrivals.

    With ``webhook_urls`` its fake Telegram server delivers to those replicas instead of
    answering ``getUpdates``. The first line it prints says where that server listens.
    """
    arrivals = make_arrivals(args.customers, args.messages, args.rate, args.seed)
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.customers",
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        limit=2**30,  # the final records are one long line
    )
    assert child.stdin is not None
    plan: dict[str, Any] = {
        "arrivals": arrivals,
        "max_seconds": args.max_seconds,
        "drain_seconds": args.drain_seconds,
        "ready_timeout_s": 600,
    }
    if webhook_urls is not None:
        plan["webhook_urls"] = webhook_urls
    child.stdin.write((json.dumps(plan, ensure_ascii=False) + "\n").encode())
    await child.stdin.drain()
    return child


async def collect(child: asyncio.subprocess.Process) -> dict[str, Any]:
    """Ask the customers' process for what it recorded: the pushes and what the server saw."""
    assert child.stdin is not None and child.stdout is not None
    child.stdin.write(b"collect\n")
    await child.stdin.drain()
    records = await _line(child.stdout)
    return {
        "pushes": [Push(*p) for p in records["pushes"]],
        "seen": [Seen(*s) for s in records["seen"]],
    }


async def run_bot(
    args: argparse.Namespace, database: Database, home: Path, model: str | None
) -> dict[str, Any]:
    """Start the customers' process and the bot; play the load; return what both recorded."""
    from bot.app import serve
    from wiring.build import build_bot, build_pipeline
    from wiring.configs import bot_config

    child = await start_customers(args)
    assert child.stdin is not None and child.stdout is not None
    try:
        where = await _line(child.stdout)
        settings: Settings = bot_settings(args, database.url, home, where["url"], where["token"])
        if args.responder == "instant":
            from bench.instant import instant_pipeline

            pipeline = instant_pipeline(database)
        else:
            assert model is not None
            pipeline = await asyncio.to_thread(build_pipeline, settings, database, model)
        async with pipeline:
            application = build_bot(settings, database, pipeline)
            if args.telegram_limits == "off":
                lift_flood_limits(application)
            stop = asyncio.Event()
            serving = asyncio.create_task(serve(application, bot_config(settings), stop=stop))
            reading = asyncio.create_task(_line(child.stdout))
            await asyncio.wait({serving, reading}, return_when=asyncio.FIRST_COMPLETED)
            if serving.done():
                reading.cancel()
                serving.result()
                raise RuntimeError("the bot stopped before the load was played")
            done = reading.result()["done"]
            stop.set()
            stopped_at = time.monotonic()
            try:
                await asyncio.wait_for(serving, SHUTDOWN_TIMEOUT_S)
                shutdown_s: float | None = round(time.monotonic() - stopped_at, 2)
            except TimeoutError:
                # Still collect: the check then shows what the bot never answered.
                shutdown_s = None
            batches = list(getattr(pipeline.service, "batch_sizes", []))
        records = await collect(child)
    finally:
        if child.returncode is None:
            child.stdin.close()
            try:
                await asyncio.wait_for(child.wait(), 30)
            except TimeoutError:
                child.kill()
    return {"done": done, "shutdown_s": shutdown_s, "batches": batches, **records}


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def run_replicas(
    args: argparse.Namespace, database: Database, home: Path, model: str | None
) -> dict[str, Any]:
    """``--replicas N``: N bot processes behind webhooks, the customers' process balancing."""
    import signal

    ports = [free_port() for _ in range(args.replicas)]
    child = await start_customers(
        args, webhook_urls=[f"http://127.0.0.1:{port}{REPLICA_PATH}" for port in ports]
    )
    assert child.stdin is not None and child.stdout is not None
    replicas: list[asyncio.subprocess.Process] = []
    try:
        where = await _line(child.stdout)
        for index, port in enumerate(ports):
            spec = {
                "db": database.url,
                "api": where["url"],
                "token": where["token"],
                "home": str(home / f"replica-{index}"),
                "port": port,
                "model": model,
            }
            replicas.append(
                await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "bench.load",
                    *args.argv,
                    "--replica",
                    json.dumps(spec),
                    cwd=REPO,
                    env={**os.environ, "PYTHONPATH": str(REPO)},
                    stdout=asyncio.subprocess.PIPE,
                )
            )
        done = (await _line(child.stdout))["done"]
        stopped_at = time.monotonic()
        for replica in replicas:
            replica.send_signal(signal.SIGTERM)  # each finishes the replies it has in flight
        batches: list[int] = []
        shutdown_s: float | None = None
        try:
            for replica in replicas:
                out, _ = await asyncio.wait_for(replica.communicate(), SHUTDOWN_TIMEOUT_S)
                lines = out.decode().strip().splitlines()
                batches += json.loads(lines[-1])["batches"] if lines else []
            shutdown_s = round(time.monotonic() - stopped_at, 2)
        except TimeoutError:
            pass
        records = await collect(child)
    finally:
        for process in [*replicas, child]:
            if process.returncode is None:
                process.kill()
                await process.wait()
    return {"done": done, "shutdown_s": shutdown_s, "batches": batches, **records}


REPLICA_PATH = "/hook"


async def serve_replica(args: argparse.Namespace, spec: dict[str, Any]) -> dict[str, Any]:
    """One replica (``--replica SPEC``): the bot of ``uttor serve``, behind a webhook."""
    from pydantic import SecretStr

    from bot.app import serve
    from storage.db import Database
    from wiring.build import build_bot, build_pipeline
    from wiring.configs import bot_config

    database = Database(spec["db"])
    settings = bot_settings(
        args,
        spec["db"],
        Path(spec["home"]),
        spec["api"],
        spec["token"],
        webhook_url=f"http://127.0.0.1:{spec['port']}{REPLICA_PATH}",
        webhook_secret=SecretStr("bench-replica-secret"),
        webhook_listen="127.0.0.1",
        webhook_port=spec["port"],
    )
    if args.responder == "instant":
        from bench.instant import instant_pipeline

        pipeline: Any = instant_pipeline(database)
    else:
        pipeline = await asyncio.to_thread(build_pipeline, settings, database, spec["model"])
    try:
        async with pipeline:
            application = build_bot(settings, database, pipeline)
            if args.telegram_limits == "off":
                lift_flood_limits(application)
            await serve(application, bot_config(settings))  # until SIGTERM
            return {"batches": list(getattr(pipeline.service, "batch_sizes", []))}
    finally:
        database.dispose()


# --- the check --------------------------------------------------------------------------------


def stored(database: Database) -> tuple[list[tuple], list[tuple]]:
    """Inbound messages ``(chat, telegram id, id, language)`` and replies of the database."""
    from sqlalchemy import select
    from sqlalchemy.orm import aliased

    from storage.models import BotReply, Chat, Message

    out = aliased(Message)
    with database.read() as session:
        inbound = session.execute(
            select(Chat.telegram_chat_id, Message.telegram_message_id, Message.id, Message.language)
            .join(Chat, Chat.id == Message.chat_id)
            .where(Message.direction == "in")
        ).all()
        replies = session.execute(
            select(BotReply.question_message_id, BotReply.source, out.telegram_message_id).join(
                out, out.id == BotReply.message_id
            )
        ).all()
    return [tuple(row) for row in inbound], [tuple(row) for row in replies]


def check(database: Database, pushes: list[Push], seen: list[Seen]) -> dict[str, Any]:
    """Lost and duplicated messages by the database and by the fake server; reply latencies."""
    inbound, replies = stored(database)
    pushed_keys = Counter((p.chat_id, p.message_id) for p in pushes)
    stored_keys = Counter((chat, tg_id) for chat, tg_id, _, _ in inbound)
    by_question = Counter(question for question, _, _ in replies)
    replies_to_customers = [
        s for s in seen if s.method == "sendMessage" and s.status == 200 and (s.chat_id or 0) > 0
    ]
    sent_per_chat = Counter(s.chat_id for s in replies_to_customers)
    pushed_per_chat = Counter(p.chat_id for p in pushes)
    chats = set(sent_per_chat) | set(pushed_per_chat)

    # Latency: message pushed → the fake server answered the sendMessage that the database
    # records as this message's reply (Telegram message id of the stored outbound message).
    pushed_at = {(p.chat_id, p.message_id): p.at for p in pushes}
    seen_at = {(s.chat_id, s.message_id): s.at for s in replies_to_customers}
    question_key = {db_id: (chat, tg_id) for chat, tg_id, db_id, _ in inbound}
    latencies, unlinked = [], 0
    for question, _, out_tg_id in replies:
        key = question_key.get(question)
        answered = seen_at.get((key[0], out_tg_id)) if key else None
        if key is None or answered is None or key not in pushed_at:
            unlinked += 1
            continue
        latencies.append((answered - pushed_at[key]) * 1000)

    errors = {
        "db_not_stored": sum(1 for key in pushed_keys if key not in stored_keys),
        "db_stored_twice": sum(n - 1 for n in stored_keys.values() if n > 1)
        + sum(n - 1 for n in pushed_keys.values() if n > 1),
        "db_stored_not_sent": sum(1 for key in stored_keys if key not in pushed_keys),
        "db_without_reply": sum(1 for _, _, db_id, _ in inbound if by_question[db_id] == 0),
        "db_replied_twice": sum(n - 1 for n in by_question.values() if n > 1),
        "fake_without_reply": sum(max(0, pushed_per_chat[c] - sent_per_chat[c]) for c in chats),
        "fake_replied_twice": sum(max(0, sent_per_chat[c] - pushed_per_chat[c]) for c in chats),
        "reply_not_seen_by_fake": unlinked,
    }
    return {
        "errors": errors,
        "lost": errors["db_not_stored"] + errors["db_without_reply"] + errors["fake_without_reply"],
        "duplicated": errors["db_stored_twice"]
        + errors["db_replied_twice"]
        + errors["fake_replied_twice"],
        "ok": not any(errors.values()),
        "sources": dict(Counter(source for _, source, _ in replies)),
        "languages": dict(Counter(language or "none" for _, _, _, language in inbound)),
        "latencies_ms": latencies,
        "replies_seen": len(replies_to_customers),
    }


# --- the run ----------------------------------------------------------------------------------


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Run the load test and return every figure (the check included)."""
    import logging

    from bench.databases import scratch_database
    from operations.knowledge import load_shipped_knowledge

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    info = machine()
    model, model_note = None, "none (instant responder)"
    with tempfile.TemporaryDirectory(prefix="uttor-load-") as scratch:
        if args.responder == "model":
            quiet_transformers()
            model, model_note = resolve_model(args.model, Path(scratch))
        with scratch_database(args.db, postgres_url=args.postgres_url) as database:
            # As after `uttor init`: the shipped FAQ is in the knowledge base, so some questions
            # are answered from memory, as they would be in production.
            knowledge = 0 if args.no_knowledge else load_shipped_knowledge(database)
            runner = run_replicas if args.replicas > 1 else run_bot
            run = asyncio.run(runner(args, database, Path(scratch) / "home", model))
            result = check(database, run["pushes"], run["seen"])
    pushes, seen = run["pushes"], run["seen"]
    if args.responder == "instant":
        # The pipeline records the instant responder's answers as model answers.
        result["sources"] = {
            ("instant" if source == "model" else source): n
            for source, n in result["sources"].items()
        }
    latencies = result.pop("latencies_ms")
    limit_s = args.timeout if args.timeout is not None else _default_timeout()
    replies = [
        s.at for s in seen if s.method == "sendMessage" and s.status == 200 and (s.chat_id or 0) > 0
    ]
    figures: dict[str, Any] = {
        "benchmark": "load",
        "responder": args.responder,
        "model": model,
        "model_note": model_note,
        "db": args.db,
        "telegram_limits": args.telegram_limits,
        "replicas": args.replicas,
        "timeout_s": limit_s,
        "mirror": args.mirror,
        "customers": args.customers,
        "messages_per_customer": args.messages,
        "offered_rate_per_s": args.rate,
        "knowledge_pairs": knowledge,
        "sent": len(pushes),
        "not_sent_time_limit": run["done"]["not_sent"],
    }
    if pushes and replies:
        first, last_push, last_reply = pushes[0].at, pushes[-1].at, max(replies)
        figures["arrival_window_s"] = round(last_push - first, 2)
        figures["measured_arrival_rate_per_s"] = round(
            (len(pushes) - 1) / max(last_push - first, 1e-9), 2
        )
        figures["held_messages_per_s"] = round(len(replies) / max(last_reply - first, 1e-9), 2)
        figures["drain_s"] = round(last_reply - last_push, 2)
    if latencies:
        figures["latency_ms"] = {
            "p50": round(percentile(latencies, 0.50), 1),
            "p95": round(percentile(latencies, 0.95), 1),
            "p99": round(percentile(latencies, 0.99), 1),
            "max": round(max(latencies), 1),
            "mean": round(statistics.mean(latencies), 1),
        }
        # Every customer hears back (an answer or the fallback) within the limit + 1 s.
        figures["later_than_limit_plus_1s"] = sum(ms > (limit_s + 1) * 1000 for ms in latencies)
    if run["batches"]:
        figures["mean_batch"] = round(statistics.mean(run["batches"]), 2)
        figures["max_batch"] = max(run["batches"])
    figures.update(result)
    figures["shutdown_s"] = run["shutdown_s"]
    figures["peak_rss_mib"] = peak_rss_mib()
    figures["machine"] = info
    figures["load_average_end"] = load_average()
    figures["command"] = "python bench/load.py " + " ".join(args.argv)
    return figures


def _default_timeout() -> float:
    from model.config import ServiceConfig

    return ServiceConfig().timeout_s


def report(figures: dict[str, Any]) -> str:
    """The figures as a short text report."""
    lat = figures.get("latency_ms", {})
    lines = [
        f"load test: {figures['customers']} customers x {figures['messages_per_customer']} "
        f"messages, Poisson arrivals at {figures['offered_rate_per_s']}/s, "
        f"{figures['db']}, responder {figures['responder']}, Telegram limits "
        f"{figures['telegram_limits']}, mirror {figures['mirror']}, "
        + (
            f"{figures['replicas']} webhook replicas"
            if figures["replicas"] > 1
            else "one polling bot"
        ),
        f"  model           {figures['model'] or '-'} ({figures['model_note']})",
        f"  sent            {figures['sent']} (not sent, past --max-seconds: "
        f"{figures['not_sent_time_limit']}) over {figures.get('arrival_window_s', 0)} s "
        f"= {figures.get('measured_arrival_rate_per_s', 0)}/s",
        f"  held            {figures.get('held_messages_per_s', 0)} messages/s "
        f"(last reply {figures.get('drain_s', 0)} s after the last message)",
        f"  latency         p50 {lat.get('p50', '-')} ms, p95 {lat.get('p95', '-')} ms, "
        f"p99 {lat.get('p99', '-')} ms, max {lat.get('max', '-')} ms; later than "
        f"{figures['timeout_s']:g} + 1 s: {figures.get('later_than_limit_plus_1s', '-')}",
        f"  replies by      {figures['sources']}"
        + (
            f"; mean batch {figures['mean_batch']} (max {figures['max_batch']})"
            if "mean_batch" in figures
            else ""
        ),
        f"  languages       {figures['languages']}",
        f"  lost            {figures['lost']}, duplicated {figures['duplicated']}  "
        + ("OK" if figures["ok"] else f"FAILED {figures['errors']}"),
        f"  peak RSS        {figures['peak_rss_mib']} MiB "
        + ("(bot process)" if figures["replicas"] == 1 else "(this process, not the replicas)")
        + "; shutdown "
        + (
            f"{figures['shutdown_s']} s"
            if figures["shutdown_s"] is not None
            else f"timed out after {SHUTDOWN_TIMEOUT_S:g} s"
        ),
        f"  machine         {machine_line(figures['machine'])} "
        f"(end {figures['load_average_end'][0]})",
    ]
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100, help="simulated customers (100)")
    parser.add_argument("--messages", type=int, default=20, help="messages per customer (20)")
    parser.add_argument("--rate", type=float, default=5.0, help="arrivals per second (5)")
    parser.add_argument("--seed", type=int, default=1, help="seed of arrivals and questions")
    parser.add_argument(
        "--max-seconds", type=float, default=180.0, help="no message sent after this (180)"
    )
    parser.add_argument(
        "--drain-seconds", type=float, default=60.0, help="wait for replies after the last (60)"
    )
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--postgres-url", help="server for --db postgres (a schema is made)")
    parser.add_argument("--responder", choices=("model", "instant"), default="model")
    parser.add_argument("--model", help="starter (default: under UTTOR_HOME), tiny, or a DIR")
    parser.add_argument("--threads", type=int, help="UTTOR_THREADS for generation")
    parser.add_argument(
        "--mirror",
        choices=("off", "flagged", "all"),
        default="off",
        help="UTTOR_MIRROR (off: the agents group's 20/min limit would queue 'all' for hours)",
    )
    parser.add_argument("--telegram-limits", choices=("on", "off"), default="on")
    parser.add_argument(
        "--replicas", type=int, default=1, help="webhook bot processes (PostgreSQL) (1: polling)"
    )
    parser.add_argument("--timeout", type=float, help="UTTOR_GENERATION_TIMEOUT_S (default 30)")
    parser.add_argument(
        "--no-knowledge",
        action="store_true",
        help="no shipped FAQ: with UTTOR_UNSURE=model every question goes to the model",
    )
    parser.add_argument("--replica", help=argparse.SUPPRESS)  # a replica's spec (internal)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    for name in ("customers", "messages"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    if args.rate <= 0:
        parser.error("--rate must be positive")
    if args.replicas < 1:
        parser.error("--replicas must be at least 1")
    if args.replicas > 1 and args.db != "postgres":
        parser.error("--replicas needs --db postgres (replicas share one PostgreSQL database)")
    if args.replica:  # the child's own flags are the parent's, without --replica
        at = args.argv.index("--replica")
        args.argv = args.argv[:at] + args.argv[at + 2 :]
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.replica:
        import logging

        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
        print(json.dumps(asyncio.run(serve_replica(args, json.loads(args.replica)))))
        return 0
    figures = measure(args)
    print(json.dumps(figures, ensure_ascii=False) if args.json else report(figures))
    return 0 if figures["ok"] and figures["sent"] > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
