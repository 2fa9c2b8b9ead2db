"""Operators: status, retrain, reports, the adapter registry, promotion and rollback."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bot.operators import report_notifier
from storage.conversations import add_message, add_reply, upsert_chat
from storage.corrections import add_correction
from storage.models import Adapter, RetrainRun
from storage.registry import add_adapter
from tests.bot.conftest import CUSTOMER_ID, OPERATOR_ID, OPERATORS_CHAT
from tests.bot.fake_bot_api import Call, FakeBotApi
from tests.shared.adapters import save_random_adapter
from tests.training.fakes import FakeRunner
from training.pipeline import run_retrain
from training.schedule import ReportNotice
from wiring.configs import retrain_config


def in_ops(call: Call) -> bool:
    return call.chat_id == OPERATORS_CHAT


async def command(api: FakeBotApi, text: str, *, replies: int = 1) -> list[Call]:
    """An operator sends ``text`` in the operators' chat; the bot's text replies."""
    mark = api.mark()
    await api.say(api.user(OPERATOR_ID, "Nadia"), text, chat_id=OPERATORS_CHAT)
    return await api.wait_for("sendMessage", in_ops, since=mark, count=replies)


async def test_operator_commands(
    start_bot: Any, api: FakeBotApi, tiny_model_dir: Path, tmp_path: Path
) -> None:
    bot = await start_bot(base_model=str(tiny_model_dir))
    (status,) = await command(api, "/status")
    assert status.text.splitlines() == [
        "Adapter in service: none (the base model answers)",
        "Last retrain: never",
        "Corrections waiting for the next retrain: 0",
        "Flagged replies waiting for an agent: 0",
    ]
    (listing,) = await command(api, "/adapters")
    assert listing.text.startswith("No adapters yet")
    (report,) = await command(api, "/report")
    assert report.text == "No retrain has run yet."

    # /retrain runs the real pipeline; with no new agent-taught pairs it skips, and says so.
    started, done = await command(api, "/retrain", replies=2)
    assert started.text.startswith("Retrain started")
    assert done.text.startswith("uttor retrain run 1: skipped")
    with bot.database.read() as session:
        run = session.get(RetrainRun, 1)
        assert run is not None and (run.trigger, run.decision) == ("telegram", "skipped")

    # A run that trained and promoted a candidate (the training process stood in for by the
    # retrain tests' fake runner) has charts: /report sends them with the summary.
    config = retrain_config(bot.settings)
    outcome = await asyncio.to_thread(
        run_retrain, bot.database, config, trigger="test", force=True, runner=FakeRunner()
    )
    assert outcome.decision == "promoted"
    mark = api.mark()
    await api.say(api.user(OPERATOR_ID), "/report 2", chat_id=OPERATORS_CHAT)
    photos = await api.wait_for("sendPhoto", in_ops, since=mark, count=2)
    assert photos[0].text.startswith("uttor retrain run 2: promoted")
    assert photos[0].files["photo"].startswith(b"\x89PNG") and "caption" not in photos[1].params
    with bot.database.write() as session:  # an agent's correction after that run
        chat = upsert_chat(session, telegram_chat_id=CUSTOMER_ID)
        question = add_message(session, chat_id=chat.id, direction="in", text="hotline?")
        answer = add_message(session, chat_id=chat.id, direction="out", text="no idea")
        reply = add_reply(
            session, message_id=answer.id, source="model", question_message_id=question.id
        )
        add_correction(session, reply_id=reply.id, agent_user_id=1, text="Call 16789.")
    (status,) = await command(api, "/status")
    assert status.text.splitlines()[0].startswith("Adapter in service: #1 r0002-")
    assert "Corrections waiting for the next retrain: 1" in status.text
    assert "Last retrain: run 2 (test)" in status.text

    # /promote checks the files first: the fake runner's adapter folder holds no weights.
    with bot.database.write() as session:
        real = add_adapter(
            session,
            version="hand-made",
            path=str(save_random_adapter(tiny_model_dir, tmp_path / "hand-made", seed=3)),
            base_model=str(tiny_model_dir),
        ).id
        empty = add_adapter(
            session, version="empty", path=str(tmp_path / "missing"), base_model="x"
        ).id
    (refused,) = await command(api, f"/promote {empty}")
    assert refused.text.startswith("Not promoted: adapter empty")
    (promoted,) = await command(api, "/promote hand-made")
    assert promoted.text.startswith("Adapter hand-made is active now")
    (again,) = await command(api, f"/promote {real}")
    assert again.text == "Not promoted: adapter hand-made is already active"
    (listing,) = await command(api, "/adapters")
    lines = listing.text.splitlines()
    assert lines[0] == "Adapters, newest first:"
    assert lines[1].startswith(f"#{empty} empty · candidate")
    assert lines[2].startswith(f"#{real} hand-made · active")
    assert lines[3].startswith("#1 r0002-") and "· retired · ROUGE-L " in lines[3]

    (rolled,) = await command(api, "/rollback")
    assert rolled.text.startswith("Rolled back: adapter r0002-") and "active again" in rolled.text
    with bot.database.read() as session:
        statuses = dict(session.execute(select(Adapter.version, Adapter.status)).all())
        assert statuses["hand-made"] == "rejected"
    for text, needle in [
        ("/promote", "Usage: /promote"),
        ("/report abc", "Usage: /report"),
        ("/report 99", "There is no run 99."),
        ("/rollback now", "Usage: /rollback"),
        ("/retrain please", "Usage: /retrain"),
    ]:
        (reply,) = await command(api, text)
        assert reply.text.startswith(needle), (text, reply.text)


async def test_scheduled_reports_reach_the_operators_chat(
    start_bot: Any, api: FakeBotApi, tiny_model_dir: Path
) -> None:
    bot = await start_bot(base_model=str(tiny_model_dir))
    outcome = await asyncio.to_thread(
        run_retrain,
        bot.database,
        retrain_config(bot.settings),
        trigger="schedule",
        force=True,
        runner=FakeRunner(),
    )
    notify = report_notifier(bot.application.bot, asyncio.get_running_loop())
    mark = api.mark()
    # The scheduler calls notify on its own thread, as training.schedule does.
    await asyncio.to_thread(notify, ReportNotice(OPERATORS_CHAT, outcome.summary, outcome.photo))
    rouge, loss = await api.wait_for("sendPhoto", in_ops, since=mark, count=2)
    assert rouge.params["caption"] == outcome.summary
    assert rouge.files["photo"] != loss.files["photo"]
