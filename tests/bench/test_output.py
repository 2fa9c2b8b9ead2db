"""The output choices every benchmark shares (``bench/machine.py``): one JSON line, Markdown or
indented JSON, chosen by ``--json`` and ``--markdown``."""

from __future__ import annotations

import argparse
import json

import pytest

from bench.machine import add_output_flags, print_results

RESULTS = {"replies_per_s": 12.5, "register": "বাংলা"}


def table(results: dict[str, object]) -> str:
    return f"| replies/s |\n|---:|\n| {results['replies_per_s']} |"


def printed(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    parser = argparse.ArgumentParser()
    add_output_flags(parser)
    print_results(RESULTS, parser.parse_args(argv), table)
    return capsys.readouterr().out


def test_json_is_one_line_with_bangla_kept(capsys: pytest.CaptureFixture[str]) -> None:
    out = printed(["--json"], capsys)
    assert out.count("\n") == 1
    assert "বাংলা" in out
    assert json.loads(out) == RESULTS


def test_markdown_prints_the_benchmarks_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert printed(["--markdown"], capsys) == table(RESULTS) + "\n"


def test_default_is_indented_json(capsys: pytest.CaptureFixture[str]) -> None:
    out = printed([], capsys)
    assert out == json.dumps(RESULTS, ensure_ascii=False, indent=2) + "\n"
