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
    from model.pipeline import Pipeline
    from storage.db import Database
    from training.examples import Knowledge
    from training.job import AdapterSpec
    from training.results import FactRun
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
    facts: Annotated[
        Path | None,
        typer.Option(
            "--facts",
            help="Fact-check set (JSONL, e.g. training/data/facts.jsonl): fact accuracy and "
            "contradiction rate per register, through the answering pipeline.",
        ),
    ] = None,
    split: Annotated[
        str | None,
        typer.Option("--split", help="With --facts: only the tune, unseen or fresh questions."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """ROUGE of one adapter (or the base model) on a test set, or its fact accuracy (--facts)."""
    settings = get_settings()
    model = base_model(settings)
    if facts is not None:
        if test is not None:
            fail("--facts and --test measure different things; give one of them")
        _eval_facts(settings, model, facts, split, adapter, as_json)
        return
    if split is not None:
        fail("--split goes with --facts")
    _eval_rouge(settings, model, test, adapter, as_json)


def _prompt_knowledge(settings: Settings, model: str) -> Knowledge | None:
    """The entries each test question's prompt carries, as serving (and the nightly
    evaluation) shows them; ``None`` when serving shows the model none."""
    from model.starter import is_starter_model
    from training.knowledge_prompts import entries_of, lookup
    from wiring.configs import memory_config, pipeline_config

    memory = memory_config(settings)
    reads = pipeline_config(settings).reads_entries(is_starter_model(Path(model)))
    if not reads or not memory.use_knowledge:
        return None
    database = open_database(settings)
    try:
        with database.read() as session:
            entries = entries_of(session)
    finally:
        database.dispose()
    return lookup(entries, memory)


def _eval_rouge(
    settings: Settings, model: str, test: Path | None, adapter: str, as_json: bool
) -> None:
    from model.errors import ModelLoadError
    from training.data import TEST_FILE, load_pairs
    from training.evaluate import AdapterUnavailable, ModelUnderTest, evaluate
    from wiring.configs import eval_config, pipeline_config

    try:
        pairs = load_pairs(test or TEST_FILE)
    except ValueError as exc:
        fail(str(exc))
    if not pairs:
        fail(f"{test}: no pairs to evaluate")
    chosen = _adapter_for_eval(settings, adapter)
    config = eval_config(settings)
    knowledge = _prompt_knowledge(settings, model)
    try:
        subject = ModelUnderTest(
            model,
            settings.quantization,
            config,
            device=settings.device,
            prompt=pipeline_config(settings).prompt,
            knowledge=knowledge,
        )
        subject.use(chosen)
    except (ModelLoadError, AdapterUnavailable) as exc:
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


def _eval_facts(
    settings: Settings, model: str, path: Path, split: str | None, ref: str, as_json: bool
) -> None:
    """Ask every fact question through the answering pipeline, as a customer would be
    answered, in a scratch copy of the database (docs/retraining.md, "Fact accuracy")."""
    import asyncio
    import tempfile

    from model.errors import ModelLoadError
    from training.evaluate import EVAL_WAIT_S
    from training.facts import load_questions, run_set, scratch_copy, set_active_adapter, summary
    from wiring.build import build_pipeline

    try:
        questions = load_questions(path, split)
    except ValueError as exc:
        fail(str(exc))
    chosen = _adapter_for_eval(settings, ref)
    name = chosen.version if chosen else "base"
    # Answers are measured, not raced: on a busy machine a slow answer is still an answer.
    patient = settings.model_copy(update={"generation_timeout_s": EVAL_WAIT_S})

    async def ask(pipeline: Pipeline, scratch: Database) -> tuple[FactRun, set[str | None]]:
        async with pipeline:
            return await run_set(name, pipeline, scratch, questions, concurrency=settings.max_batch)

    live = open_database(settings)
    with tempfile.TemporaryDirectory(prefix="uttor-facts-") as folder:
        try:
            scratch = scratch_copy(live, Path(folder) / "facts.sqlite")
        finally:
            live.dispose()
        try:
            set_active_adapter(scratch, chosen.id if chosen else None)
            pipeline = build_pipeline(patient, scratch, model, defer=True)
            run, used = asyncio.run(ask(pipeline, scratch))
        except ModelLoadError as exc:
            fail(str(exc))
        finally:
            scratch.dispose()
    expected = chosen.version if chosen else None
    if used - {expected}:
        fail(f"model answers came from {sorted(map(str, used))}, not {name}: see the log")
    result = summary(run)
    payload = {
        "facts": str(path),
        "split": split or "all",
        "adapter": name,
        "base_model": model,
        **{k: v for k, v in result.items() if k != "name"},
        "wrong": [
            {
                "id": a.id,
                "register": a.register,
                "question": a.question,
                "answer": a.answer,
                "source": a.source,
                "contradicted": a.contradicted,
            }  # fmt: skip
            for a in run.answers
            if not a.right
        ],
    }
    if as_json:
        emit(payload)
        return
    typer.echo(
        f"{name} on {path} ({payload['split']}, {result['items']} questions, "
        f"{result['seconds']:.0f} s, answered through the pipeline in a scratch database copy)"
    )
    typer.echo("register\tquestions\taccuracy\tcontradictions")
    for register, data in [*result["by_register"].items(), ("all", result)]:
        typer.echo(
            f"{register}\t{data['items']}\t{data['accuracy']:.1%}\t{data['contradiction_rate']:.1%}"
        )
    typer.echo("sources: " + ", ".join(f"{k} {v}" for k, v in result["by_source"].items()))


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
