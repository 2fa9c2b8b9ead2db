"""``uttor export/retrain/eval/adapters/report/worker``: the contract's names, flags and JSON."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from storage.db import Database
from tests.shared.adapters import save_random_adapter
from tests.shared.cli import run_cli as run
from tests.training.conftest import Conversations
from tests.training.fakes import FakeRunner

ROUGE = {"rouge1", "rouge2", "rougeL", "rougeLsum"}


@pytest.fixture
def home(
    tmp_path: Path,
    sqlite_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    shipped: tuple[Path, Path],
) -> Path:
    """An initialized UTTOR_HOME; the shipped data is the small test files."""
    home = tmp_path / "home"
    monkeypatch.setenv("UTTOR_HOME", str(home))
    monkeypatch.setenv("UTTOR_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("UTTOR_BASE_MODEL", "tiny-base")
    monkeypatch.setattr("training.pipeline.TRAIN_FILE", shipped[0])
    monkeypatch.setattr("training.pipeline.TEST_FILE", shipped[1])
    monkeypatch.setattr("training.export.TRAIN_FILE", shipped[0])
    monkeypatch.setattr("training.export.TEST_FILE", shipped[1])
    assert run(["init"], capsys)[0] == 0
    return home


@pytest.fixture
def conversations(sqlite_url: str, home: Path) -> Conversations:
    return Conversations(Database(sqlite_url))


def test_export(home: Path, conversations: Conversations, capsys, tmp_path: Path) -> None:
    conversations.corrected("amar number 01711223344, refund koi?", "?", "Refund 24 ghontay.")
    code, out, err = run(["export", "--out", str(tmp_path / "out"), "--json"], capsys)
    assert code == 0, err
    result = json.loads(out)
    assert result["summary"]["train"]["by_source"]["correction"] == 1
    train = (tmp_path / "out" / "mydata.json").read_text(encoding="utf-8")
    assert "<PHONE>" in train and "01711223344" not in train
    assert (tmp_path / "out" / "mytest.json").is_file()
    code, out, _ = run(["export", "--out", str(tmp_path / "out2")], capsys)
    assert code == 0 and "mydata.json: 6 pairs" in out


def test_retrain_skips_without_new_pairs_and_reports(home: Path, capsys) -> None:
    code, out, err = run(["retrain", "--json"], capsys)
    assert code == 0, err
    result = json.loads(out)
    assert set(result) >= {"run_id", "status", "decision", "metrics", "report"}
    assert result["decision"] == "skipped" and result["metrics"] == {
        "active": None,
        "candidate": None,
    }
    code, out, _ = run(["report", "--json"], capsys)
    assert json.loads(out)["run_id"] == result["run_id"]
    code, out, _ = run(["report", str(result["run_id"])], capsys)
    assert code == 0 and result["report"] in out and "skipped" in out
    code, out, err = run(["report", "999"], capsys)
    assert code == 1 and err.strip() == "uttor: error: no retrain run 999"


def test_retrain_promote_rollback_and_refusals(
    home: Path,
    conversations: Conversations,
    capsys,
    monkeypatch: pytest.MonkeyPatch,
    tiny_model_dir: Path,
) -> None:
    runner = FakeRunner()
    monkeypatch.setattr("training.pipeline.spawn_job", runner)
    code, out, err = run(["retrain", "--force", "--json"], capsys)
    assert code == 0, err
    first = json.loads(out)
    assert first["status"] == "succeeded" and first["decision"] == "promoted"
    assert set(first["metrics"]["active"]) == ROUGE and set(first["metrics"]["candidate"]) == ROUGE
    assert Path(first["report"]).is_file()

    runner.candidate = "worse"
    code, out, _ = run(["retrain", "--force", "--json"], capsys)
    second = json.loads(out)
    assert second["decision"] == "rejected"

    code, out, _ = run(["adapters", "list", "--json"], capsys)
    listed = json.loads(out)
    assert listed["active"] == first["candidate"]
    assert [a["status"] for a in listed["adapters"]] == ["rejected", "active"]

    code, _, err = run(["adapters", "promote", second["candidate"]], capsys)
    assert code == 1 and "was rejected" in err and len(err.strip().splitlines()) == 1

    # The fake runner wrote no weights: promoting by hand is refused as unreadable.
    code, out, _ = run(["adapters", "rollback", "--json"], capsys)
    assert json.loads(out) == {"rolled_back": first["candidate"], "active": None}
    code, _, err = run(["adapters", "promote", first["candidate"]], capsys)
    assert code == 1 and "refused" in err

    # A real adapter promotes; the registry and the audit log show it.
    from storage.registry import add_adapter

    path = save_random_adapter(tiny_model_dir, home / "adapters" / "hand-made", seed=1)
    with conversations.database.write() as session:
        add_adapter(session, version="hand-made", path=str(path), base_model=str(tiny_model_dir))
    code, out, err = run(["adapters", "promote", "hand-made", "--json"], capsys)
    assert code == 0, err
    assert json.loads(out)["promoted"]["status"] == "active"
    code, out, _ = run(["adapters", "list"], capsys)
    assert "hand-made\tactive" in out


def test_eval_scores_the_base_model_and_adapters(
    home: Path,
    tiny_model_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys,
    shipped,
    conversations: Conversations,
) -> None:
    monkeypatch.setenv("UTTOR_BASE_MODEL", str(tiny_model_dir))
    monkeypatch.setenv("UTTOR_MAX_NEW_TOKENS", "6")
    code, out, err = run(["eval", "--adapter", "base", "--test", str(shipped[1]), "--json"], capsys)
    assert code == 0, err
    result = json.loads(out)
    assert result["adapter"] == "base" and result["items"] == 3
    assert set(result["metrics"]) == ROUGE
    assert sum(result["counts"].values()) == 3

    from storage.registry import add_adapter, promote_adapter

    path = save_random_adapter(tiny_model_dir, home / "adapters" / "a1", seed=2)
    with conversations.database.write() as session:
        adapter = add_adapter(session, version="a1", path=str(path), base_model="tiny")
        promote_adapter(session, adapter_id=adapter.id)
    for ref in ("active", "a1"):
        code, out, err = run(
            ["eval", "--adapter", ref, "--test", str(shipped[1]), "--json"], capsys
        )
        assert code == 0, err
        assert json.loads(out)["adapter"] == "a1"
    code, _, err = run(["eval", "--adapter", "nope", "--test", str(shipped[1])], capsys)
    assert code == 1 and "no adapter 'nope'" in err
    code, _, err = run(["eval", "--test", str(home / "missing.json")], capsys)
    assert code == 1 and "no such file" in err


def test_worker_schedules_and_stops_on_sigterm(home: Path, sqlite_url: str) -> None:
    env = {**os.environ, "UTTOR_RETRAIN_CRON": "30 3 * * *"}
    worker = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "worker"],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = worker.stderr.readline()
        assert "nightly retrain '30 3 * * *' (Asia/Dhaka)" in line
        assert "03:30:00+06:00" in line
    finally:
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(60) == 0
