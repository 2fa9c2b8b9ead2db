"""Fact accuracy: does the bot state the company's facts, in every register, without inventing?

ROUGE measures wording; a fact-check set (``training/data/facts.jsonl``, read by
:mod:`training.data.factset`) measures truth. Each question names one fact, the patterns a right
answer must match (``must``) and the patterns of a wrong value (``contradicts``), matched on the
project's normal form of the answer (NFC, Bengali digits as ASCII, case folded).

The answers come from the answering pipeline (:class:`model.pipeline.Pipeline`: knowledge,
correction memory, the model with its prompt), because that is what customers get; a bare
model would be judged on answers nobody is sent. Each question is asked in a fresh chat of its
own, in a **scratch SQLite copy** of the database (:func:`scratch_copy`: the knowledge base,
the active corrections with the replies and messages they answer, the adapter registry), so no
test chat reaches the agents' queue or the live records. ``uttor eval --facts`` builds the
pipeline with ``wiring.build.build_pipeline`` on that copy; the training process assembles the
same parts around the candidate adapter (:func:`assemble_pipeline`).
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Table, insert, select, update

from storage.conversations import upsert_chat, upsert_customer
from storage.db import Database
from storage.models import Adapter, Base, Chat, Customer
from training.config import FactsConfig, RetrainConfig
from training.data.factset import FACTS_FILE, SPLITS, FactQuestion, load_facts
from training.results import FactAnswer, FactRun

if TYPE_CHECKING:
    from model.backend import GenerationBackend
    from model.pipeline import Pipeline

__all__ = [
    "answer_roles",
    "answer_set",
    "assemble_pipeline",
    "fact_scratch",
    "judge",
    "load_questions",
    "scratch_copy",
    "set_active_adapter",
    "summary",
]

#: Tables a scratch copy leaves out: nothing in them changes how a question is answered.
SKIPPED_TABLES = frozenset(
    {"audit_log", "feedback", "handoffs", "handoff_pairs", "leases", "staff", "retrain_runs"}
)
#: Conversation tables: only the rows active corrections need are copied (the rest is customer
#: traffic that answering a fact question never reads).
CONVERSATION_TABLES = frozenset({"corrections", "bot_replies", "messages", "chats", "customers"})
#: Copied values that would point at rows left out, or name a customer, are blanked.
_BLANKED: dict[str, dict[str, Any]] = {
    "corrections": {"retrain_run_id": None},
    "customers": {"display_name": "", "username": None},
}
_IN_CHUNK = 500


# --- the fact-check set and its verdicts ---------------------------------------------------


def load_questions(path: Path | None = None, split: str | None = None) -> list[FactQuestion]:
    """The questions of a fact-check set (all, or one split); raises ``ValueError``."""
    path = path or FACTS_FILE
    if split is not None and split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; one of {', '.join(SPLITS)}")
    questions = [q for q in load_facts(path) if split is None or q.split == split]
    if not questions:
        raise ValueError(f"{path}: no fact questions" + (f" in split {split!r}" if split else ""))
    return questions


def judge(
    name: str,
    questions: Sequence[FactQuestion],
    replies: Sequence[tuple[str, str]],
    *,
    seconds: float = 0.0,
) -> FactRun:
    """Verdicts on ``replies`` (``(text, source)``, aligned with ``questions``)."""
    answers = [
        FactAnswer(
            id=q.id,
            register=q.register,
            fact=q.fact,
            question=q.question,
            answer=text,
            source=source,
            right=q.passes(text),
            contradicted=q.contradicted(text),
        )
        for q, (text, source) in zip(questions, replies, strict=True)
    ]
    return FactRun(name=name, answers=answers, seconds=round(seconds, 2))


def _rates(answers: Sequence[FactAnswer]) -> dict[str, Any]:
    n = len(answers)
    return {
        "items": n,
        "accuracy": sum(a.right for a in answers) / n if n else 0.0,
        "contradiction_rate": sum(a.contradicted for a in answers) / n if n else 0.0,
    }


def summary(run: FactRun) -> dict[str, Any]:
    """Accuracy and contradiction rate overall and per register; where the answers came from."""
    by_register: dict[str, list[FactAnswer]] = {}
    by_source: dict[str, int] = {}
    for answer in run.answers:
        by_register.setdefault(answer.register, []).append(answer)
        by_source[answer.source] = by_source.get(answer.source, 0) + 1
    return {
        "name": run.name,
        **_rates(run.answers),
        "by_register": {reg: _rates(items) for reg, items in sorted(by_register.items())},
        "by_source": dict(sorted(by_source.items())),
        "seconds": run.seconds,
    }


# --- asking through the answering pipeline --------------------------------------------------


def assemble_pipeline(
    database: Database, service: GenerationBackend, config: FactsConfig, *, compact: bool
) -> Pipeline:
    """The answering pipeline around ``service``, built from the parts serving uses.

    The training process cannot reach the composition root (``wiring/build.py``), so it
    assembles the same parts here; ``tests/training/test_facts.py`` compares the two.
    """
    from model.memory import CorrectionMemory
    from model.pipeline import Pipeline

    memory = CorrectionMemory(database, config.memory)
    return Pipeline(database, service, memory, config.pipeline, compact_prompt=compact)


def _throwaway_chats(database: Database, count: int) -> list[tuple[int, int]]:
    """``count`` new chats (database chat id, customer id), one per question, no history."""
    from sqlalchemy import func

    with database.write() as session:
        lowest = min(
            session.scalar(select(func.min(Chat.telegram_chat_id))) or 0,
            session.scalar(select(func.min(Customer.telegram_user_id))) or 0,
            0,
        )
        chats = []
        for offset in range(1, count + 1):
            # Below every id in use: Telegram's private chats are positive, so these are ours.
            telegram_id = lowest - offset
            customer = upsert_customer(session, telegram_user_id=telegram_id)
            chat = upsert_chat(session, telegram_chat_id=telegram_id, customer_id=customer.id)
            chats.append((chat.id, customer.id))
        return chats


async def answer_set(
    pipeline: Pipeline,
    database: Database,
    questions: Sequence[FactQuestion],
    *,
    concurrency: int = 16,
) -> tuple[list[tuple[str, str]], set[str | None]]:
    """Ask every question in a chat of its own; ``(text, source)`` per question, in order,
    and the adapters that wrote the model's answers (``None``: the base model).

    Up to ``concurrency`` questions are in flight, so the generation service batches them as
    it batches customers.
    """
    chats = await asyncio.to_thread(_throwaway_chats, database, len(questions))
    gate = asyncio.Semaphore(max(1, concurrency))
    adapters: set[str | None] = set()

    async def ask(question: FactQuestion, chat: tuple[int, int]) -> tuple[str, str]:
        async with gate:
            reply = await pipeline.answer(
                chat_id=chat[0], customer_id=chat[1], text=question.question
            )
        if reply.source == "model":
            adapters.add(reply.adapter)
        return reply.text, reply.source

    replies = await asyncio.gather(*(ask(q, c) for q, c in zip(questions, chats, strict=True)))
    return list(replies), adapters


async def run_set(
    name: str,
    pipeline: Pipeline,
    database: Database,
    questions: Sequence[FactQuestion],
    *,
    concurrency: int = 16,
) -> tuple[FactRun, set[str | None]]:
    """:func:`answer_set` and :func:`judge` with the time it took."""
    started = time.perf_counter()
    replies, adapters = await answer_set(pipeline, database, questions, concurrency=concurrency)
    return judge(name, questions, replies, seconds=time.perf_counter() - started), adapters


def answer_roles(
    roles: Sequence[tuple[str, str | None, Callable[[], None]]],
    service: GenerationBackend,
    config: FactsConfig,
    database_path: Path,
    *,
    compact: bool,
    concurrency: int = 16,
) -> dict[str, FactRun]:
    """The training process's fact runs: for each ``(role, adapter version or None, switch)``,
    put that adapter in (``switch``) and ask the whole set through one pipeline.

    One event loop for all roles: the generation service's queue belongs to the loop it first
    ran on. Raises ``RuntimeError`` when a model answer came from another adapter than the
    role's (the switch did not take), since the comparison would then be meaningless.
    """
    questions = load_questions(config.file, config.split)
    database = Database(f"sqlite:///{database_path}")
    pipeline = assemble_pipeline(database, service, config, compact=compact)

    async def ask_all() -> dict[str, FactRun]:
        runs: dict[str, FactRun] = {}
        async with pipeline:
            for role, version, switch in roles:
                switch()  # between runs: no batch is in flight
                name = version or "base"
                run, used = await run_set(
                    name, pipeline, database, questions, concurrency=concurrency
                )
                if used - {version}:
                    raise RuntimeError(f"{role} answers came from {sorted(map(str, used))}")
                runs[role] = run
        return runs

    try:
        return asyncio.run(ask_all())
    finally:
        database.dispose()


# --- the scratch copy -----------------------------------------------------------------------


def _by_ids(session: Any, table: Table, ids: Iterable[int | None]) -> list[dict[str, Any]]:
    wanted = sorted({i for i in ids if i is not None})
    rows: list[dict[str, Any]] = []
    for start in range(0, len(wanted), _IN_CHUNK):
        chunk = wanted[start : start + _IN_CHUNK]
        rows += [
            dict(r) for r in session.execute(select(table).where(table.c.id.in_(chunk))).mappings()
        ]
    return rows


def _conversation_rows(session: Any) -> dict[str, list[dict[str, Any]]]:
    """Active corrections and exactly the replies, messages, chats and customers they need."""
    tables = Base.metadata.tables
    corrections = tables["corrections"]
    rows = {
        "corrections": [
            dict(r)
            for r in session.execute(
                select(corrections).where(corrections.c.status == "active")
            ).mappings()
        ]
    }
    rows["bot_replies"] = _by_ids(
        session, tables["bot_replies"], (c["reply_id"] for c in rows["corrections"])
    )
    message_ids = [r["message_id"] for r in rows["bot_replies"]]
    message_ids += [r["question_message_id"] for r in rows["bot_replies"]]
    rows["messages"] = _by_ids(session, tables["messages"], message_ids)
    rows["chats"] = _by_ids(session, tables["chats"], (m["chat_id"] for m in rows["messages"]))
    customer_ids = [c["customer_id"] for c in rows["chats"]]
    customer_ids += [m["customer_id"] for m in rows["messages"]]
    rows["customers"] = _by_ids(session, tables["customers"], customer_ids)
    return rows


def scratch_copy(source: Database, path: Path) -> Database:
    """A new SQLite database at ``path`` holding what answering reads from ``source``.

    The schema comes from the migrations, as every uttor database's does. Copied: every table
    but :data:`SKIPPED_TABLES`, and of the conversation tables only what active corrections
    need. Tables added later are copied whole, so a new index of the knowledge base comes along
    without a change here. Works from SQLite and PostgreSQL alike.
    """
    from migrations.runner import upgrade

    if path.exists():
        raise FileExistsError(f"{path} exists; a scratch copy starts empty")
    path.parent.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{path}"
    upgrade(url)
    with source.read() as session:
        rows = _conversation_rows(session)
        for table in Base.metadata.sorted_tables:
            if table.name not in SKIPPED_TABLES | CONVERSATION_TABLES:
                rows[table.name] = [dict(r) for r in session.execute(select(table)).mappings()]
    target = Database(url)
    try:
        with target.engine.connect() as connection:
            # Rows may point at rows left out (a table added later, an adapter's parent);
            # nothing here enforces them, the copy is read, not maintained.
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
            with connection.begin():
                for table in Base.metadata.sorted_tables:
                    blank = _BLANKED.get(table.name, {})
                    batch = [{**row, **blank} for row in rows.get(table.name, [])]
                    if batch:
                        connection.execute(insert(table), batch)
    finally:
        # The pooled connection keeps foreign keys off; a fresh engine turns them back on.
        target.dispose()
    return Database(url)


@contextlib.contextmanager
def fact_scratch(database: Database, config: RetrainConfig) -> Iterator[str | None]:
    """A scratch copy for a retrain run's fact questions (``None`` when the gate has no facts
    check); the fact-check set is read first, so a bad one fails the run before training.

    Outside the reports folder: the copy holds customers' corrected questions, goes when the
    job ends, and never fills the disk the report needs.
    """
    if config.gate.facts == "off":
        yield None
        return
    load_questions(config.facts.file, config.facts.split)
    folder = Path(tempfile.mkdtemp(prefix="uttor-facts-"))
    try:
        scratch_copy(database, folder / "facts.sqlite").dispose()
        yield str(folder / "facts.sqlite")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def set_active_adapter(database: Database, adapter_id: int | None) -> None:
    """Make ``adapter_id`` the active adapter of a scratch copy (``None``: the base model).

    Written directly, not through the registry's promotion: a rejected candidate may be
    evaluated too, and nothing here is served.
    """
    with database.write() as session:
        session.execute(update(Adapter).where(Adapter.status == "active").values(status="retired"))
        if adapter_id is not None:
            session.execute(update(Adapter).where(Adapter.id == adapter_id).values(status="active"))
