"""``uttor chat`` per the command-line contract: --once, --json, and clear failures."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select

from cli import main as cli
from migrations.runner import upgrade
from storage.db import Database
from storage.models import BotReply, Message


@pytest.fixture
def uttor(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, tiny_model_dir: Path
) -> Callable[..., int]:
    """The ``uttor`` entry point with a fresh home, the tiny model and a migrated database."""
    monkeypatch.setenv("UTTOR_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("UTTOR_DATABASE_URL", f"sqlite:///{tmp_path / 'uttor.db'}")
    monkeypatch.setenv("UTTOR_BASE_MODEL", str(tiny_model_dir))
    monkeypatch.setenv("UTTOR_MAX_NEW_TOKENS", "6")
    return cli.main


def test_chat_once_json_prints_one_reply_and_logs_it(
    uttor: Callable[..., int], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'uttor.db'}"
    upgrade(url)
    assert uttor(["chat", "--once", "amar order kobe ashbe?", "--json"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    reply = json.loads(lines[0])
    assert set(reply) == {"text", "language", "source", "adapter", "latency_ms"}
    assert reply["language"] == "banglish" and reply["source"] == "model"
    assert reply["text"] and reply["adapter"] is None and reply["latency_ms"] > 0
    database = Database(url)
    with database.read() as session:
        assert session.scalar(select(func.count(Message.id))) == 2
        assert session.scalar(select(func.count(BotReply.id))) == 1
    database.dispose()


def test_chat_needs_an_initialized_database(
    uttor: Callable[..., int], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        uttor(["chat", "--once", "hello", "--json"])
    assert exited.value.code == 1
    assert "uttor init" in capsys.readouterr().err


def test_chat_names_the_setting_when_the_base_model_is_missing(
    uttor: Callable[..., int],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    upgrade(f"sqlite:///{tmp_path / 'uttor.db'}")
    monkeypatch.setenv("UTTOR_BASE_MODEL", str(tmp_path / "no-model"))
    with pytest.raises(SystemExit) as exited:
        uttor(["chat", "--once", "hello"])
    assert exited.value.code == 1
    error = capsys.readouterr().err.strip()
    assert "UTTOR_BASE_MODEL" in error and len(error.splitlines()) == 1
