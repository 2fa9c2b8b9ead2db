"""``uttor lang`` and ``uttor score``: language routing and Bangla-aware ROUGE from a shell.

:func:`register` adds both commands to the project's typer app. The text modules are
imported inside the commands so that other ``uttor`` commands start without them. Bad input
exits with :data:`cli.common.EXIT_USAGE`, as a usage error does.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from cli.common import EXIT_USAGE, JsonFlag, emit, fail

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add the ``lang`` and ``score`` commands to ``app``."""
    app.command("lang")(lang)
    app.command("score")(score)


def lang(
    text: Annotated[
        str | None,
        typer.Argument(help="Message to label; without it, every line of stdin is labelled."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Print the routed language label: bn, en, banglish, mixed, other or und."""
    from model.text.langid import detect

    if text is not None:
        lines = [text]
    elif sys.stdin is None or sys.stdin.isatty():
        _fail("give TEXT or pipe messages on stdin, one per line")
    else:
        lines = _split_lines(_read_stdin())
    detections = [(line, detect(line)) for line in lines]
    if as_json:
        emit(
            {
                "labels": [
                    {"text": line, "label": d.label, "confidence": d.confidence}
                    for line, d in detections
                ]
            }
        )
        return
    for _line, detection in detections:
        typer.echo(detection.label)


def score(
    predictions: Annotated[
        Path, typer.Option("--predictions", help="Model outputs, one per line.")
    ],
    references: Annotated[
        Path, typer.Option("--references", help="Reference answers, line-aligned.")
    ],
    as_json: JsonFlag = False,
) -> None:
    """ROUGE-1/2/L/Lsum F1 (mean over line pairs) of two line-aligned UTF-8 files."""
    predicted = _read_lines(predictions, "predictions")
    referenced = _read_lines(references, "references")
    if len(predicted) != len(referenced):
        _fail(
            f"line counts differ: {len(predicted)} predictions ({predictions}) "
            f"vs {len(referenced)} references ({references})"
        )
    if not predicted:
        _fail("both files are empty: nothing to score")

    from model.text.rouge import ROUGE_KEYS, score_corpus

    scores = score_corpus(predicted, referenced)
    if as_json:
        emit({"pairs": len(predicted), **scores})
        return
    for key in ROUGE_KEYS:
        typer.echo(f"{key:<10} {scores[key]:.4f}")
    typer.echo(f"{'pairs':<10} {len(predicted)}")


def _read_stdin() -> str:
    # Bytes, decoded as UTF-8 whatever the locale says: Bangla must not depend on LANG=.
    buffer = getattr(sys.stdin, "buffer", None)
    if buffer is not None:
        return buffer.read().decode("utf-8", errors="replace")
    return sys.stdin.read()


def _split_lines(data: str) -> list[str]:
    """Lines split on newline only (not on U+2028 or form feeds, as str.splitlines does)."""
    lines = data.replace("\r\n", "\n").split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the newline that ends the last line does not start another
    return lines


def _read_lines(path: Path, what: str) -> list[str]:
    if not path.is_file():
        _fail(f"{what} file not found: {path}")
    try:
        return _split_lines(path.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError as exc:
        _fail(f"{what} file {path} is not UTF-8 (byte {exc.start})")
    except OSError as exc:
        _fail(f"cannot read {what} file {path}: {exc.strerror}")


def _fail(message: str) -> NoReturn:
    fail(message, EXIT_USAGE)
