"""Smoke tests of the benchmark suite: tiny runs of the load test and the ingest benchmark.

The figures are not asserted (they belong in BENCHMARKS.md, not in CI); what is asserted is that
the benchmarks run end to end and that their zero-lost, zero-duplicated check holds, and can
fail: a check that could never fail would prove nothing.
"""

from __future__ import annotations

import asyncio
import json

import pytest

from bench import ingest, load
from bench.customers import Push, Seen
from bench.databases import scratch_database
from bench.instant import instant_pipeline
from bot.records import record_sent, register
from tests.conftest import POSTGRES_SKIP, POSTGRES_URL


def test_load_test_tiny_run_loses_and_duplicates_nothing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    tiny = "--customers 5 --messages 2 --rate 20 --responder instant --db sqlite --json"
    code = load.main([*tiny.split(), "--drain-seconds", "20"])
    figures = json.loads(capsys.readouterr().out)
    assert code == 0, figures
    assert figures["sent"] == 10
    assert figures["replies_seen"] == 10
    assert (figures["lost"], figures["duplicated"]) == (0, 0)
    assert not any(figures["errors"].values())
    assert set(figures["languages"]) == {"bn", "en", "banglish", "mixed"}
    assert figures["latency_ms"]["p50"] > 0


@pytest.mark.postgres
def test_load_test_with_two_webhook_replicas_loses_and_duplicates_nothing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    if not POSTGRES_URL:
        pytest.skip(POSTGRES_SKIP)
    tiny = "--customers 6 --messages 2 --rate 20 --responder instant --db postgres --replicas 2"
    # The benchmark makes (and drops) a schema of its own on the server.
    code = load.main([*tiny.split(), "--postgres-url", POSTGRES_URL, "--json"])
    figures = json.loads(capsys.readouterr().out)
    assert code == 0, figures
    assert figures["replicas"] == 2 and figures["sent"] == 12
    assert (figures["lost"], figures["duplicated"]) == (0, 0)
    assert figures["later_than_limit_plus_1s"] == 0


def test_ingest_tiny_run_stores_every_message_once(capsys: pytest.CaptureFixture[str]) -> None:
    code = ingest.main(["--db", "sqlite", "--messages", "20", "--concurrency", "1", "4", "--json"])
    figures = json.loads(capsys.readouterr().out)
    assert code == 0, figures
    assert [run["lost_or_duplicated"] for run in figures["runs"]] == [0, 0]
    assert all(run["messages_per_s"] > 0 for run in figures["runs"])


async def _answer_two(database: object) -> list[tuple[int, int]]:
    """Two questions of one customer answered and 'sent' (Telegram ids 1→2, 3→4)."""
    async with instant_pipeline(database) as pipeline:  # type: ignore[arg-type]
        with database.write() as session:  # type: ignore[attr-defined]
            who = register(
                session,
                telegram_user_id=42,
                display_name="c",
                username=None,
                telegram_chat_id=42,
            )
        for question_id in (1, 3):
            answer = await pipeline.answer(
                chat_id=who.chat_id,
                customer_id=who.customer_id,
                text="amar order kothay?",
                telegram_message_id=question_id,
            )
            with database.write() as session:  # type: ignore[attr-defined]
                record_sent(
                    session, message_id=answer.message_id, telegram_message_id=question_id + 1
                )
    return [(1, 2), (3, 4)]


def test_load_check_finds_lost_and_duplicated_replies() -> None:
    with scratch_database("sqlite") as database:
        pairs = asyncio.run(_answer_two(database))
        pushes = [Push(42, q, float(q), "banglish") for q, _ in pairs]
        seen = [Seen("sendMessage", 42, 200, q + 0.5, a, True) for q, a in pairs]
        clean = load.check(database, pushes, seen)
        assert clean["ok"] and clean["lost"] == clean["duplicated"] == 0
        assert sorted(clean["latencies_ms"]) == [500.0, 500.0]

        twice = load.check(database, pushes, [*seen, Seen("sendMessage", 42, 200, 9.0, 5, True)])
        assert twice["duplicated"] == 1 and not twice["ok"]

        unanswered = load.check(database, [*pushes, Push(42, 7, 7.0, "en")], seen)
        assert unanswered["errors"]["db_not_stored"] == 1
        assert unanswered["errors"]["fake_without_reply"] == 1
        assert not unanswered["ok"]
