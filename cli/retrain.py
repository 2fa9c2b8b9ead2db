"""The retrain loop from a shell: ``export``, ``retrain``, ``eval`` and ``report``.

Names, flags and JSON keys follow the command-line contract in the README. Heavy modules
(torch, transformers) are imported inside the commands so other ``uttor`` commands start fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cli.common import JsonFlag, base_model, emit, fail, get_settings, open_database

if TYPE_CHECKING:
    from training.job import AdapterSpec
    from wiring.settings import Settings

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add ``export``, ``retrain``, ``eval`` and ``report``."""
    app.command("export")(export)
    app.command("retrain")(retrain)
    app.command("eval")(eval_command)
    app.command("report")(report)


# --- export and retrain -----------------------------------------------------------------------


def export(
    out: Annotated[Path, typer.Option("--out", help="Folder for mydata.json and mytest.json.")],
    as_json: JsonFlag = False,
) -> None:
    """Write mydata.json and mytest.json (shipped + agent-taught pairs, redacted) and a summary."""
    from training.config import ExportConfig
    from training.export import build_export, write_export
    from wiring.configs import fill

    settings = get_settings()
    database = open_database(settings)
    try:
        with database.read() as session:
            result = build_export(session, config=fill(ExportConfig, settings))
    except ValueError as exc:
        fail(str(exc))
    paths = write_export(result, out)
    if as_json:
        emit(
            {
                "out": str(out),
                "files": {k: str(v) for k, v in paths.items()},
                "summary": result.summary,
            }
        )
        return
    summary = result.summary
    typer.echo(
        f"{paths['train']}: {summary['train']['total']} pairs "
        f"{_counts(summary['train']['by_source'])}"
    )
    typer.echo(
        f"{paths['test']}: {summary['test']['total']} pairs {_counts(summary['test']['by_source'])}"
    )
    typer.echo(
        f"dropped: {_counts(summary['dropped'])}; redacted: "
        f"{_counts(summary['redacted']) or 'nothing'}"
    )


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in counts.items())


def retrain(
    as_json: JsonFlag = False,
    force: Annotated[
        bool, typer.Option("--force", help="Train even with fewer new pairs than needed.")
    ] = False,
) -> None:
    """Run the retrain pipeline now: export, train, evaluate, gate, promote, report."""
    from operations.retrain import retrain_now
    from wiring.configs import retrain_config

    settings = get_settings()
    base_model(settings)  # no base model: one line, not a traceback
    config = retrain_config(settings)
    database = open_database(settings)
    outcome = retrain_now(database, config, trigger="cli", force=force)
    if as_json:
        emit(outcome.as_json())
    else:
        typer.echo(outcome.summary or f"{outcome.decision}: {outcome.reason}")
        if outcome.report:
            typer.echo(f"report: {outcome.report}")
    if outcome.status == "failed":
        raise typer.Exit(1)


# --- eval -------------------------------------------------------------------------------------


def eval_command(
    adapter: Annotated[
        str, typer.Option("--adapter", help="active, base, or an adapter id or version.")
    ] = "active",
    test: Annotated[
        Path | None, typer.Option("--test", help="Test pairs (default: shipped mytest.json).")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """ROUGE-1/2/L/Lsum of one adapter (or the base model) on a test set."""
    from model.errors import ModelLoadError
    from training.data import TEST_FILE, load_pairs
    from training.evaluate import evaluate
    from training.job import JobFailed, ModelUnderTest
    from wiring.configs import eval_config, pipeline_config

    settings = get_settings()
    model = base_model(settings)
    try:
        pairs = load_pairs(test or TEST_FILE)
    except ValueError as exc:
        fail(str(exc))
    if not pairs:
        fail(f"{test}: no pairs to evaluate")
    chosen = _adapter_for_eval(settings, adapter)
    config = eval_config(settings)
    try:
        subject = ModelUnderTest(
            model,
            settings.quantization,
            config,
            device=settings.device,
            prompt=pipeline_config(settings).prompt,
        )
        subject.use(chosen)
    except (ModelLoadError, JobFailed) as exc:
        fail(str(exc))
    name = chosen.version if chosen else "base"
    import torch

    from training.job import default_threads

    # As in the training process: torch's one thread per core collapses on a busy machine.
    torch.set_num_threads(settings.retrain_threads or default_threads())
    result = evaluate(name, subject.generate, pairs, config)
    payload = {
        "adapter": name,
        "base_model": model,
        "test": str(test or TEST_FILE),
        "items": len(pairs),
        "metrics": result.overall,
        "by_language": result.by_language,
        "counts": result.counts,
        "seconds": result.seconds,
        "tokens_per_s": round(result.tokens_per_s, 1),
    }
    if as_json:
        emit(payload)
        return
    typer.echo(f"{name} on {payload['test']} ({len(pairs)} pairs, {result.seconds:.0f} s)")
    for key, value in result.overall.items():
        typer.echo(f"{key}\t{value:.4f}")
    for language, scores in result.by_language.items():
        typer.echo(f"{language} ({result.counts[language]})\trougeL {scores['rougeL']:.4f}")


def _adapter_for_eval(settings: Settings, ref: str) -> AdapterSpec | None:
    """The adapter ``--adapter`` names (``None``: the base model)."""
    from operations import adapters
    from operations.errors import Missing
    from training.job import AdapterSpec

    if ref == "base":
        return None
    database = open_database(settings)
    try:
        found = adapters.active_adapter(database) if ref == "active" else None
        if ref != "active":
            found = adapters.find_adapter(database, ref)
    except Missing:
        fail(f"no adapter {ref!r}; see `uttor adapters list`")
    finally:
        database.dispose()
    return AdapterSpec(found.id, found.version, found.path) if found else None


# --- report -----------------------------------------------------------------------------------


def report(
    run_id: Annotated[int | None, typer.Argument(help="Run id (default: the latest run).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Where a retrain run's report lives, and its summary."""
    from operations.errors import Missing
    from operations.reports import find_report

    database = open_database(get_settings())
    try:
        found = find_report(database, run_id)
    except Missing:
        fail(f"no retrain run {run_id}")
    finally:
        database.dispose()
    if as_json:
        emit(found.as_json())
        return
    typer.echo(f"report: {found.run.report_path or 'none (the run wrote no report)'}")
    typer.echo(found.summary)
