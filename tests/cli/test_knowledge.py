"""``uttor knowledge import/list/remove/export``: every format, every bad row by its line, all
or nothing, a round trip through export, and ``uttor chat`` answering from what was imported."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from sqlalchemy import func, select

from migrations.runner import upgrade
from model.text.langid import detect
from storage.db import Database
from storage.models import AuditLog, Knowledge
from tests.shared.cli import run_cli

MARKDOWN = """\
# Delivery charge

## What is the delivery charge?
Register: en
A: Delivery costs 70 taka inside Dhaka and 130 taka outside.

## ডেলিভারি চার্জ কত?
ঢাকার ভেতরে ৭০ টাকা, বাইরে ১৩০ টাকা।

# Payments

Q: bKash e payment kora jay?
Ji, bKash, Nagad ar card shob cholbe.
\\# this line is part of the answer, not a heading
"""


@pytest.fixture
def home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    url = f"sqlite:///{tmp_path / 'uttor.db'}"
    monkeypatch.setenv("UTTOR_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("UTTOR_DATABASE_URL", url)
    upgrade(url)
    return tmp_path


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    return run_cli(["knowledge", *argv], capsys)


def entries(capsys: pytest.CaptureFixture[str], *argv: str) -> list[dict]:
    code, out, err = cli(capsys, "list", "--json", "--limit", "1000", *argv)
    assert code == 0, err
    return json.loads(out)["entries"]


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_text(text, encoding=encoding)
    return path


def counts(home: Path) -> tuple[int, int]:
    """(knowledge rows, knowledge.import audit lines)."""
    database = Database(f"sqlite:///{home / 'uttor.db'}")
    with database.read() as session:
        rows = session.scalar(select(func.count(Knowledge.id)))
        audits = session.scalar(
            select(func.count(AuditLog.id)).where(AuditLog.action == "knowledge.import")
        )
    database.dispose()
    return int(rows or 0), int(audits or 0)


def test_markdown_import_list_and_round_trip_through_every_format(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write(home / "faq.md", MARKDOWN)
    code, out, err = cli(capsys, "import", str(source))
    assert code == 0, err
    assert out.strip() == (
        "imported 3 entries from faq.md into source 'company': 3 new, 0 updated, 0 unchanged"
    )
    found = entries(capsys)
    assert [(e["question"], e["register"], e["topic"]) for e in found] == [
        ("What is the delivery charge?", "en", "delivery_charge"),
        ("ডেলিভারি চার্জ কত?", detect("ডেলিভারি চার্জ কত?").label, "delivery_charge"),
        ("bKash e payment kora jay?", detect("bKash e payment kora jay?").label, "payments"),
    ]
    assert found[0]["answer"] == "Delivery costs 70 taka inside Dhaka and 130 taka outside."
    assert found[2]["answer"] == (
        "Ji, bKash, Nagad ar card shob cholbe.\n# this line is part of the answer, not a heading"
    )
    assert [e["register"] for e in entries(capsys, "--register", "Bangla")] == ["bn"]
    assert len(entries(capsys, "--topic", "Delivery charge")) == 2
    assert [e["id"] for e in entries(capsys, "--search", "bkash nagad")] == [found[2]["id"]]

    def shape(items: list[dict]) -> list[tuple]:
        return [(e["question"], e["answer"], e["register"], e["topic"]) for e in items]

    for extension in ("csv", "tsv", "json", "jsonl", "md"):
        exported = home / f"out.{extension}"
        code, out, err = cli(
            capsys, "export", "--out", str(exported), "--source", "company", "--json"
        )
        assert code == 0, err
        assert json.loads(out) == {"path": str(exported), "format": extension, "entries": 3}
        # Read back over the same source: nothing to change.
        code, out, err = cli(capsys, "import", str(exported), "--replace", "--dry-run", "--json")
        assert code == 0, err
        result = json.loads(out)
        assert (result["unchanged"], result["added"], result["updated"], result["removed"]) == (
            3,
            0,
            0,
            0,
        )
        # Into a fresh source: the very same entries.
        copy = f"copy-{extension}"
        assert cli(capsys, "import", str(exported), "--source", copy)[0] == 0
        assert shape(entries(capsys, "--source", copy)) == shape(found)
    # Excel opens a CSV with a byte-order mark as UTF-8: the export writes one.
    assert (home / "out.csv").read_bytes().startswith(b"\xef\xbb\xbf")


def test_bad_rows_are_listed_by_line_and_nothing_is_imported(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = write(home / "good.csv", "question,answer\nHotline?,Call 16789.\n")
    assert cli(capsys, "import", str(good))[0] == 0
    before = counts(home)
    bad = write(
        home / "bad.csv",
        "Question,Answer,Register,Topic\n"
        "Hotline?,Call 16789 now.,en,contact\n"  # fine on its own: would update
        ",an answer with no question,,\n"
        "Return policy?,\u200b ,,\n"
        '"Multi-line\nquestion?",Yes,klingon,\n'
        "hotline?,Again,,\n"
        "Where is your shop?,Dhaka,en,\n"
        "Too,many,fields,here,x\n",
    )
    code, out, err = cli(capsys, "import", str(bad))
    assert code == 1 and out == ""
    assert err.splitlines() == [
        "uttor: error: bad.csv: 5 bad rows; nothing imported",
        "  line 3: empty question",
        "  line 4: empty answer",
        "  line 5: unknown register 'klingon'; use bn, en, banglish, mixed, or leave it "
        "empty to detect it",
        "  line 7: the same question as line 2 (keep one)",
        "  line 9: 5 fields, the header has 4",
    ]
    code, out, _ = cli(capsys, "import", str(bad), "--json")
    assert code == 1
    assert [p["line"] for p in json.loads(out)["problems"]] == [3, 4, 5, 7, 9]
    # Nothing changed, not even the good rows of the bad file.
    assert counts(home) == before
    assert [e["answer"] for e in entries(capsys)] == ["Call 16789."]


def test_json_rows_are_reported_at_their_lines(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    items = [
        {"text": "Hotline?", "completion": "16789"},
        {"question": "Return policy?", "answer": ""},
        {"question": "Shop?", "answer": "Dhaka", "colour": "red"},
        ["not", "an", "object"],
        {"question": 42, "answer": True},
    ]
    listed = write(home / "faq.json", json.dumps(items, indent=2))
    lines = listed.read_text().splitlines()
    starts = [i + 1 for i, line in enumerate(lines) if line in ("  {", "  [")]
    code, _, err = cli(capsys, "import", str(listed))
    assert code == 1
    assert err.splitlines()[1:] == [
        f"  line {starts[1]}: empty answer",
        f"  line {starts[2]}: unknown column 'colour'; the columns are question, answer, "
        "register (optional), topic (optional)",
        f"  line {starts[3]}: expected an object with question and answer",
        f"  line {starts[4]}: answer must be text, not bool",
    ]
    jsonl = write(
        home / "faq.jsonl",
        '{"question": "Hotline?", "answer": "16789"}\n\n{"question": "Shop?", "answer": \n',
    )
    code, _, err = cli(capsys, "import", str(jsonl))
    assert code == 1 and "line 3: not valid JSON" in err
    not_a_list = write(home / "lines.json", '{"question": "a", "answer": "b"}\n')
    code, _, err = cli(capsys, "import", str(not_a_list))
    assert code == 1 and "line 1: expected a JSON list of objects" in err and ".jsonl" in err
    assert counts(home) == (0, 0)


def test_unreadable_files_are_refused_with_the_reason(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    latin1 = home / "latin1.csv"
    latin1.write_bytes("question,answer\nHotline?,ok\nCafé?,open\n".encode("cp1252"))
    huge = home / "huge.csv"
    with huge.open("wb") as handle:  # sparse: the size is refused before a byte is read
        handle.truncate(21 * 2**20)
    workbook = home / "faq.csv"
    workbook.write_bytes(b"PK\x03\x04" + b"\x00" * 64)
    for path, message, code in [
        (latin1, "latin1.csv, line 3: not UTF-8 text (byte 0xe9)", 2),
        (huge, "huge.csv is 21.0 MiB; the limit is 20 MiB", 2),
        (workbook, "an Excel workbook?", 2),
        (home / "missing.csv", "No such file or directory", 2),
        (home, "a folder, not a file", 2),
        (write(home / "faq.xlsx", "x"), "unknown format", 2),
        (write(home / "empty.csv", ""), "line 1: no entries in the file", 1),
        (write(home / "header.csv", "question,answer\n"), "line 1: no entries in the file", 1),
        (write(home / "cols.csv", "q;a\nx;y\n"), "unknown column 'q', 'a'", 1),
    ]:
        got, _, err = cli(capsys, "import", str(path))
        assert (got, message in err) == (code, True), (path.name, err)
        assert len(err.strip().splitlines()) <= 2
    # UTF-16 with its byte-order mark (Excel's "Unicode text") and semicolons are understood.
    utf16 = write(home / "faq.tsv", "question\tanswer\nহটলাইন?\t১৬৭৮৯\n", encoding="utf-16")
    semicolons = write(home / "semi.csv", "question;answer\nShop?;Dhaka\n")
    for path in (utf16, semicolons):
        code, _, err = cli(capsys, "import", str(path))
        assert code == 0, err
    assert [e["question"] for e in entries(capsys)] == ["হটলাইন?", "Shop?"]
    os.remove(huge)


def test_remove_by_id_all_or_nothing_and_by_source(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    faq = write(home / "faq.csv", "question,answer\nHotline?,16789\nShop?,Dhaka\nOpen?,9-9\n")
    assert cli(capsys, "import", str(faq))[0] == 0
    assert cli(capsys, "import", str(faq), "--source", "other")[0] == 0
    ids = [e["id"] for e in entries(capsys, "--source", "company")]
    code, _, err = cli(capsys, "remove", str(ids[0]), "999")
    assert code == 1 and "no knowledge entry 999; nothing removed" in err
    code, out, _ = cli(capsys, "remove", str(ids[0]), str(ids[1]), "--json")
    assert code == 0 and json.loads(out) == {"removed": 2, "ids": ids[:2], "source": None}
    code, out, _ = cli(capsys, "remove", "--source", "other")
    assert code == 0 and out.strip() == "removed 3 entries of source 'other'"
    assert [e["id"] for e in entries(capsys)] == ids[2:]
    for argv, needle in [
        (("remove",), "give entry ids or --source NAME"),
        (("remove", "1", "--source", "x"), "give entry ids or --source NAME"),
        (("remove", "--source", "nope"), "no knowledge source 'nope'"),
    ]:
        code, _, err = cli(capsys, *argv)
        assert code != 0 and needle in err


def test_chat_answers_from_an_import_and_from_its_change_at_once(
    home: Path,
    tiny_model_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("UTTOR_BASE_MODEL", str(tiny_model_dir))
    question = "Tomader showroom kothay?"
    faq = home / "faq.csv"
    for answer in ("Showroom Banani 11 te.", "Showroom ekhon Gulshan 2 te."):
        write(faq, f"question,answer,register,topic\n{question},{answer},banglish,showroom\n")
        assert cli(capsys, "import", str(faq))[0] == 0
        code, out, err = run_cli(["chat", "--once", question, "--json"], capsys)
        assert code == 0, err
        reply = json.loads(out)
        assert reply["text"] == answer
        assert reply["source"] in ("knowledge", "memory")
