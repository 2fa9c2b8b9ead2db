"""`uttor serve`: refuses bad configuration in one line, runs, and stops cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import signal
import sys
from pathlib import Path

import pytest

from storage.db import Database
from tests.bot.conftest import CUSTOMER_ID
from tests.bot.fake_bot_api import FakeBotApi
from tests.shared.cli import run_cli

LOG_LEVEL = re.compile(r" (DEBUG|INFO|WARNING|ERROR|CRITICAL) ")


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({}, "UTTOR_TELEGRAM_TOKEN is not set"),
        ({"UTTOR_TELEGRAM_TOKEN": "not a token"}, "is not a bot token"),
        (
            {"UTTOR_TELEGRAM_TOKEN": "1:abc", "UTTOR_WEBHOOK_URL": "https://bot.example/hook"},
            "UTTOR_WEBHOOK_SECRET is not",
        ),
        (
            {
                "UTTOR_TELEGRAM_TOKEN": "1:abc",
                "UTTOR_WEBHOOK_URL": "https://bot.example/hook",
                "UTTOR_WEBHOOK_SECRET": "has spaces in it",
            },
            "UTTOR_WEBHOOK_SECRET must be",
        ),
    ],
)
def test_bad_configuration_is_one_line_and_exit_2(
    env: dict[str, str],
    needle: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    code, out, err = run_cli(["serve"], capsys)
    assert code == 2
    assert needle in err and len(err.strip().splitlines()) == 1
    assert "1:abc" not in err


async def test_a_token_telegram_refuses_is_exit_2(
    api: FakeBotApi,
    staffed_database: Database,
    sqlite_url: str,
    tiny_model_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    wrong = "123456789:AAE-this_token_was_revoked_long_ago_00000"
    monkeypatch.setenv("UTTOR_TELEGRAM_TOKEN", wrong)
    monkeypatch.setenv("UTTOR_TELEGRAM_API_URL", api.url)
    monkeypatch.setenv("UTTOR_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("UTTOR_BASE_MODEL", str(tiny_model_dir))
    root = logging.getLogger()
    monkeypatch.setattr(root, "level", root.level)  # serve configures logging; undo that after
    # The CLI runs its own event loop; the fake API keeps running on this one.
    code, out, err = await asyncio.to_thread(run_cli, ["serve", "--no-scheduler"], capsys)
    assert code == 2
    assert "Telegram refused UTTOR_TELEGRAM_TOKEN" in err
    assert len(err.strip().splitlines()) == 1
    assert wrong not in err and wrong.split(":")[1] not in err + out


async def test_serve_answers_and_stops_on_sigterm(
    api: FakeBotApi,
    staffed_database: Database,
    sqlite_url: str,
    tiny_model_dir: Path,
    tmp_path: Path,
) -> None:
    env = {
        **os.environ,
        "UTTOR_HOME": str(tmp_path / "home"),
        "UTTOR_DATABASE_URL": sqlite_url,
        "UTTOR_TELEGRAM_TOKEN": api.token,
        "UTTOR_TELEGRAM_API_URL": api.url,
        "UTTOR_BASE_MODEL": str(tiny_model_dir),
        "UTTOR_LOG_LEVEL": "DEBUG",  # the most the log can say: still no token
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cli.main",
        "serve",
        "--no-scheduler",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await api.wait_for("deleteWebhook", timeout=120)  # polling has started
        question = "amar bKash PIN 4321 kaj korche na"
        await api.say(api.user(CUSTOMER_ID), question)
        (answer,) = await api.wait_for("sendMessage", lambda c: c.chat_id == CUSTOMER_ID)
        assert answer.buttons
        process.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(process.communicate(), 60)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    log = err.decode()
    assert process.returncode == 0, log[-2000:]
    assert "stopped" in log
    assert api.token not in log and api.token.split(":")[1] not in log
    for line in log.splitlines():
        level = LOG_LEVEL.search(line)
        if level and level.group(1) != "DEBUG":
            assert question not in line
