"""`uttor init` and `uttor staff …`: idempotent, one-line errors, --help everywhere."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import click
import pytest
import typer

from cli.main import app
from migrations.runner import heads
from storage.db import Database
from storage.knowledge import knowledge_pairs
from tests.shared.cli import run_cli as run
from tests.shared.tiny_models import tiny_model_dir  # noqa: F401  (a fixture)
from training.data import TRAIN_FILE, load_pairs

UTTOR = shutil.which("uttor")


@pytest.fixture
def home(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("UTTOR_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("UTTOR_DATABASE_URL", db_url)
    # A configured base model means init builds no starter model (tests/model covers that).
    monkeypatch.setenv("UTTOR_BASE_MODEL", str(tmp_path / "configured-model"))
    return tmp_path / "home"


def test_init_is_idempotent(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for _ in range(2):
        code, out, err = run(["init", "--json"], capsys)
        assert code == 0, err
        result = json.loads(out)
        assert result["schema"] == heads()[0]
        assert result["knowledge_pairs"] == len(load_pairs(TRAIN_FILE))
        assert result["base_model"] == str(home.parent / "configured-model")
    with Database(os.environ["UTTOR_DATABASE_URL"]).read() as session:
        pairs = knowledge_pairs(session)
    assert len(pairs) == len(load_pairs(TRAIN_FILE))
    assert {language for _, _, language in pairs} >= {"bn", "en", "banglish", "mixed"}


def test_init_keeps_what_operators_removed_or_edited_of_the_sample(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shipped = len(load_pairs(TRAIN_FILE))
    assert run(["init"], capsys)[0] == 0
    code, out, _ = run(["knowledge", "list", "--source", "shipped", "--json"], capsys)
    first, second = (entry["id"] for entry in json.loads(out)["entries"][:2])
    assert run(["knowledge", "remove", str(first)], capsys)[0] == 0
    code, out, err = run(["init", "--json"], capsys)
    assert code == 0, err
    result = json.loads(out)
    assert result["knowledge_pairs"] == shipped - 1 and result["knowledge_loaded"] is False
    # An edited answer stays edited too, and a whole removed sample stays removed.
    database = Database(os.environ["UTTOR_DATABASE_URL"])
    with database.write() as session:
        from storage.knowledge import edit_knowledge

        edit_knowledge(
            session, entry_id=second, answer="Edited by an operator.", actor_user_id=None
        )
    assert run(["init"], capsys)[0] == 0
    with database.read() as session:
        from storage.knowledge import get_knowledge

        assert get_knowledge(session, entry_id=second).answer == "Edited by an operator."
    assert run(["knowledge", "remove", "--source", "shipped"], capsys)[0] == 0
    code, out, _ = run(["init"], capsys)
    assert code == 0 and "kept as operators left it (0 shipped pairs" in out
    # Importing the sample again brings it back, and init refreshes it from then on.
    code, _, err = run(
        ["knowledge", "import", str(TRAIN_FILE), "--source", "shipped", "--replace"], capsys
    )
    assert code == 0, err
    code, out, _ = run(["init", "--json"], capsys)
    assert json.loads(out)["knowledge_loaded"] is True
    assert json.loads(out)["knowledge_pairs"] == shipped
    database.dispose()


def test_staff_commands(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["init"], capsys)[0] == 0
    assert run(["staff", "add", "501", "--role", "agent", "--name", "Karim"], capsys)[0] == 0
    assert run(["staff", "add", "502", "--role", "operator"], capsys)[0] == 0
    code, out, _ = run(["staff", "list", "--json"], capsys)
    assert code == 0
    assert json.loads(out)["staff"] == [
        {"user_id": 501, "role": "agent", "name": "Karim"},
        {"user_id": 502, "role": "operator", "name": ""},
    ]
    assert run(["staff", "remove", "501"], capsys)[0] == 0
    code, out, _ = run(["staff", "list"], capsys)
    assert "501" not in out and "502\toperator" in out


@pytest.mark.parametrize(
    ("argv", "code", "needle"),
    [
        (["staff", "add", "501", "--role", "boss"], 1, "unknown role 'boss'"),
        (["staff", "add", "abc", "--role", "agent"], 2, "user_id"),
        (["staff", "add", "501"], 2, "--role"),
        (["staff", "remove", "999"], 1, "999 is not staff"),
        (["frobnicate"], 2, "No such command"),
    ],
)
def test_bad_arguments_give_one_line(
    home: Path, capsys: pytest.CaptureFixture[str], argv: list[str], code: int, needle: str
) -> None:
    assert run(["init"], capsys)[0] == 0
    got, out, err = run(argv, capsys)
    assert got == code
    assert needle in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err + out


def test_unreachable_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("UTTOR_HOME", str(tmp_path))
    monkeypatch.setenv("UTTOR_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:9/none")
    code, _, err = run(["init"], capsys)
    assert code == 1
    assert err.startswith("uttor: error: database unreachable")
    assert len(err.strip().splitlines()) == 1


def _all_commands(command: click.Command, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [path]
    for name, sub in getattr(command, "commands", {}).items():
        found += _all_commands(sub, (*path, name))
    return found


def test_help_on_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    paths = _all_commands(typer.main.get_command(app))
    assert ("init",) in paths and ("staff", "add") in paths
    for path in paths:
        code, out, _ = run([*path, "--help"], capsys)
        assert code == 0 and "Usage:" in out, path


@pytest.mark.skipif(UTTOR is None, reason="console script not installed")
def test_console_script(tmp_path: Path) -> None:
    env = {**os.environ, "UTTOR_HOME": str(tmp_path), "UTTOR_BASE_MODEL": str(tmp_path / "m")}
    env.pop("UTTOR_DATABASE_URL", None)
    done = subprocess.run([UTTOR, "init"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "uttor.db").exists()
    bad = subprocess.run(
        [UTTOR, "staff", "add", "1", "--role", "x"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 1 and bad.stderr.count("\n") == 1


def test_init_uses_the_starter_model_when_no_base_is_set(
    tmp_path: Path,
    sqlite_url: str,
    tiny_model_dir: Path,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Without UTTOR_BASE_MODEL, init makes sure a starter model exists (here: already built)."""
    home = tmp_path / "home"
    monkeypatch.setenv("UTTOR_HOME", str(home))
    monkeypatch.setenv("UTTOR_DATABASE_URL", sqlite_url)
    shutil.copytree(tiny_model_dir, home / "models" / "starter-quick")
    code, out, err = run(["init", "--quick", "--json"], capsys)
    assert code == 0, err
    assert json.loads(out)["base_model"] == str(home / "models" / "starter-quick")
