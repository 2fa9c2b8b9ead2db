"""What a new user tripped over on a fresh clone, each fixed and kept fixed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from migrations.runner import upgrade
from model.starter import MARKER
from storage.db import Database
from storage.models import Chat
from tests.conftest import POSTGRES_SKIP, POSTGRES_URL
from tests.shared.cli import run_cli


@pytest.fixture
def home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("UTTOR_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("UTTOR_DATABASE_URL", f"sqlite:///{tmp_path / 'uttor.db'}")
    upgrade(f"sqlite:///{tmp_path / 'uttor.db'}")
    return tmp_path


def test_chat_once_starts_a_new_chat_each_time(
    home: Path,
    tiny_model_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("UTTOR_BASE_MODEL", str(tiny_model_dir))
    monkeypatch.setenv("UTTOR_MAX_NEW_TOKENS", "6")
    question = "amar refund kobe pabo?"
    answers = []
    for _ in range(2):
        code, out, err = run_cli(["chat", "--once", question, "--json"], capsys)
        assert code == 0, err
        answers.append(json.loads(out)["text"])
    # Without --chat-id each --once is its own conversation: no history, the same answer.
    assert answers[0] == answers[1]
    database = Database(f"sqlite:///{home / 'uttor.db'}")
    with database.read() as session:
        assert session.scalar(select(func.count(Chat.id))) == 2
    # --chat-id continues one chat.
    for _ in range(2):
        assert run_cli(["chat", "--once", question, "--chat-id", "7"], capsys)[0] == 0
    with database.read() as session:
        assert session.scalar(select(func.count(Chat.id))) == 3
    database.dispose()


def test_init_quick_says_which_starter_model_it_used(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    full = home / "home" / "models" / "starter"
    full.mkdir(parents=True)
    (full / MARKER).write_text("{}", encoding="utf-8")
    (full / "config.json").write_text("{}", encoding="utf-8")
    code, out, err = run_cli(["init", "--quick", "--json"], capsys)
    assert code == 0, err
    result = json.loads(out)
    assert result["base_model"] == str(full)
    assert "full starter model already exists" in result["note"]
    code, out, _ = run_cli(["init", "--quick"], capsys)
    assert code == 0 and "using it" in out


def test_report_without_runs_says_how_to_start_one(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(["report"], capsys)
    assert code == 1
    assert "no retrain runs yet" in err and "uttor retrain" in err
    assert len(err.strip().splitlines()) == 1


def test_staff_list_has_a_header(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["staff", "add", "42", "--role", "agent", "--name", "Karim"], capsys)[0] == 0
    code, out, _ = run_cli(["staff", "list"], capsys)
    assert code == 0
    assert out.splitlines() == ["user_id\trole\tname", "42\tagent\tKarim"]


def test_a_missing_postgres_database_is_named_with_the_fix(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    if not POSTGRES_URL:
        pytest.skip(POSTGRES_SKIP)
    url = make_url(POSTGRES_URL).set(database="uttor_missing_db_for_test")
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text("DROP DATABASE IF EXISTS uttor_missing_db_for_test"))
    admin.dispose()
    monkeypatch.setenv("UTTOR_DATABASE_URL", url.render_as_string(hide_password=False))
    code, _, err = run_cli(["staff", "list"], capsys)
    assert code == 1
    assert "'uttor_missing_db_for_test' does not exist" in err
    assert "createdb uttor_missing_db_for_test" in err
    assert "unreachable" not in err
