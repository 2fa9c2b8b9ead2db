"""`uttor lang` and `uttor score` (cli/text.py), through typer's CliRunner and once for real."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from click.testing import Result
from typer.testing import CliRunner

from cli.text import register


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    register(app)
    return app


runner = CliRunner()


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return path


# ------------------------------------------------------------------------------- lang


def test_lang_labels_one_argument(app: typer.Typer) -> None:
    result = runner.invoke(app, ["lang", "Do you deliver to Mirpur?"])
    assert result.exit_code == 0, result.output
    assert result.stdout == "en\n"


def test_lang_labels_each_stdin_line(app: typer.Typer) -> None:
    stdin = "ok\nji\nধন্যবাদ\n\nthanks vai\nআমার order টা cancel করতে চাই\n😊\nBonjour\n"
    result = runner.invoke(app, ["lang"], input=stdin.encode("utf-8"))
    assert result.exit_code == 0, result.output
    assert result.stdout.split("\n") == [
        "en",
        "banglish",
        "bn",
        "und",
        "banglish",
        "mixed",
        "und",
        "other",
        "",
    ]


def test_lang_keeps_crlf_and_unicode_line_separators_apart(app: typer.Typer) -> None:
    # Windows line ends are one break; U+2028 inside a message is not a break.
    result = runner.invoke(app, ["lang"], input="hi\r\nami\u2028tumi\r\n".encode())
    assert result.stdout == "en\nbanglish\n"


def test_lang_json_is_one_object(app: typer.Typer) -> None:
    result = runner.invoke(app, ["lang", "--json"], input="thanks vai\nধন্যবাদ\n".encode())
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert [(e["text"], e["label"]) for e in payload["labels"]] == [
        ("thanks vai", "banglish"),
        ("ধন্যবাদ", "bn"),
    ]
    assert all(0.0 <= e["confidence"] <= 1.0 for e in payload["labels"])
    assert "ধন্যবাদ" in result.stdout  # readable, not \\u escapes

    single = json.loads(runner.invoke(app, ["lang", "ok", "--json"]).stdout)
    assert single == {"labels": [{"text": "ok", "label": "en", "confidence": 1.0}]}


def test_lang_with_empty_stdin_prints_nothing(app: typer.Typer) -> None:
    result = runner.invoke(app, ["lang"], input=b"")
    assert result.exit_code == 0
    assert result.stdout == ""


def test_lang_survives_undecodable_bytes(app: typer.Typer) -> None:
    result = runner.invoke(app, ["lang"], input=b"\xff\xfe ami\n")
    assert result.exit_code == 0
    assert result.stdout == "banglish\n"


# ------------------------------------------------------------------------------ score


def test_score_prints_four_rouge_f1_and_pairs(app: typer.Typer, tmp_path: Path) -> None:
    predictions = _write(tmp_path / "p.txt", ["আপনার রিফান্ড কাল বিকাশে যাবে", "চার্জ ৬০ টাকা"])
    references = _write(tmp_path / "r.txt", ["আপনার রিফান্ড আজ বিকাশে যাবে", "চার্জ 60 টাকা"])
    args = ["score", "--predictions", str(predictions), "--references", str(references)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "rouge1     0.9000"  # (0.8 + 1.0) / 2
    assert [line.split()[0] for line in lines] == [
        "rouge1",
        "rouge2",
        "rougeL",
        "rougeLsum",
        "pairs",
    ]

    payload = json.loads(runner.invoke(app, [*args, "--json"]).stdout)
    assert payload["pairs"] == 2
    assert payload["rouge1"] == pytest.approx(0.9)
    assert set(payload) == {"pairs", "rouge1", "rouge2", "rougeL", "rougeLsum"}


def _assert_one_line_error(result: Result, fragment: str) -> None:
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("uttor: error: ")
    assert fragment in result.stderr
    assert "Traceback" not in result.output


def test_score_missing_file_is_a_one_line_error(app: typer.Typer, tmp_path: Path) -> None:
    references = _write(tmp_path / "r.txt", ["a"])
    result = runner.invoke(
        app,
        ["score", "--predictions", str(tmp_path / "nope.txt"), "--references", str(references)],
    )
    _assert_one_line_error(result, "predictions file not found")


def test_score_different_line_counts_is_a_one_line_error(app: typer.Typer, tmp_path: Path) -> None:
    predictions = _write(tmp_path / "p.txt", ["a", "b", "c"])
    references = _write(tmp_path / "r.txt", ["a", "b"])
    result = runner.invoke(
        app, ["score", "--predictions", str(predictions), "--references", str(references)]
    )
    _assert_one_line_error(result, "line counts differ: 3 predictions")


def test_score_empty_and_non_utf8_files_are_errors(app: typer.Typer, tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("", encoding="utf-8")
    result = runner.invoke(app, ["score", "--predictions", str(empty), "--references", str(empty)])
    _assert_one_line_error(result, "empty")

    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("café\n".encode("latin-1"))
    result = runner.invoke(
        app, ["score", "--predictions", str(latin1), "--references", str(latin1)]
    )
    _assert_one_line_error(result, "not UTF-8")


def test_score_keeps_empty_lines_as_pairs(app: typer.Typer, tmp_path: Path) -> None:
    predictions = _write(tmp_path / "p.txt", ["ধন্যবাদ", ""])
    references = _write(tmp_path / "r.txt", ["ধন্যবাদ", "আবার আসবেন"])
    result = runner.invoke(
        app,
        ["score", "--predictions", str(predictions), "--references", str(references), "--json"],
    )
    payload = json.loads(result.stdout)
    assert payload["pairs"] == 2
    assert payload["rouge1"] == pytest.approx(0.5)


# --------------------------------------------------------------- the installed console script


def _console_script() -> Path | None:
    script = Path(sys.executable).with_name("uttor")
    return script if script.exists() else None


@pytest.mark.skipif(_console_script() is None, reason="the uttor console script is not installed")
def test_installed_uttor_lang_reads_stdin() -> None:
    from cli import main as cli

    registered = {command.name for command in cli.app.registered_commands}
    if "lang" not in registered:
        pytest.skip("cli/main.py does not register cli.text yet")
    result = subprocess.run(
        [str(_console_script()), "lang"],
        input="ok\nji\nধন্যবাদ\n😊\n".encode(),
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.decode("utf-8").split() == ["en", "banglish", "bn", "und"]
