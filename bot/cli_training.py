"""The retrain loop from a shell: export, retrain, eval, adapters, report and worker.

:func:`register` adds the commands to the project's typer app (``bot/cli.py``). Names, flags
and JSON keys follow the contract in DESIGN.md. Heavy modules (torch, transformers) are
imported inside the commands so other ``uttor`` commands start fast.
"""

from __future__ import annotations

import contextlib
import json
import logging
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

if TYPE_CHECKING:
    from bot.settings import Settings
    from storage.db import Database
    from storage.models import Adapter
    from training.config import EvalConfig, RetrainConfig
    from training.job import AdapterSpec
    from training.schedule import Notify, ScheduleConfig

__all__ = ["eval_config", "register", "resolve_base_model", "retrain_config", "schedule_config"]

log = logging.getLogger(__name__)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]

adapters_app = typer.Typer(
    help="The adapter registry: list, promote, roll back.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    """Add ``export``, ``retrain``, ``eval``, ``adapters``, ``report`` and ``worker``."""
    app.command("export")(export)
    app.command("retrain")(retrain)
    app.command("eval")(eval_command)
    app.add_typer(adapters_app, name="adapters")
    app.command("report")(report)
    app.command("worker")(worker)


# --- configuration ----------------------------------------------------------------------------


def _fail(message: str, code: int = 1) -> NoReturn:
    from bot.cli import CliError

    raise CliError(message, code)


def _emit(payload: dict[str, Any]) -> None:
    from bot.cli import emit

    emit(payload)


def _settings() -> Settings:
    from bot.settings import get_settings

    return get_settings()


def _database(settings: Settings) -> Database:
    from bot.cli import open_database

    return open_database(settings)


def resolve_base_model(settings: Settings) -> str:
    """``UTTOR_BASE_MODEL``, else the starter model ``uttor init`` built."""
    from model.starter import default_model_dir

    if settings.base_model:
        return settings.base_model
    starter = default_model_dir(settings.models_dir)
    if starter is None:
        _fail("no base model: run `uttor init` to build the starter model, or set UTTOR_BASE_MODEL")
    return str(starter)


def retrain_config(settings: Settings) -> RetrainConfig:
    """The retrain configuration from the ``UTTOR_`` settings."""
    from bot.model_setup import pipeline_config
    from training.config import (
        ExportConfig,
        GateConfig,
        RetrainConfig,
        TrainConfig,
    )

    return RetrainConfig(
        home=settings.home,
        base_model=resolve_base_model(settings),
        quantization=settings.quantization,
        device=settings.device,
        prompt=pipeline_config(settings).prompt,
        min_new_pairs=settings.min_new_pairs,
        timeout_s=settings.retrain_timeout_min * 60,
        operators_chat_id=settings.operators_chat_id,
        export=ExportConfig(test_share=settings.retrain_test_share),
        train=TrainConfig(
            epochs=settings.retrain_epochs,
            learning_rate=settings.retrain_learning_rate,
            batch_size=settings.retrain_batch_size,
            max_length=settings.retrain_max_length,
            seed=settings.retrain_seed,
            target_modules=tuple(settings.lora_targets),
            threads=settings.retrain_threads,
        ),
        eval=eval_config(settings),
        gate=GateConfig(
            metric=settings.gate_metric,
            min_delta=settings.min_delta,
            max_regression=settings.max_regression,
        ),
    )


def eval_config(settings: Settings) -> EvalConfig:
    """Evaluation decodes exactly as serving does (token limit, repetition penalty)."""
    from bot.model_setup import service_config
    from training.config import EvalConfig

    return EvalConfig(
        batch_size=settings.eval_batch_size, decoding=service_config(settings).decoding
    )


def schedule_config(settings: Settings) -> ScheduleConfig:
    """When the nightly retrain runs, from the settings."""
    from training.schedule import ScheduleConfig

    return ScheduleConfig(
        cron=settings.retrain_cron,
        timezone=settings.timezone,
        misfire_grace_s=int(settings.retrain_misfire_hours * 3600),
    )


# --- export and retrain -----------------------------------------------------------------------


def export(
    out: Annotated[Path, typer.Option("--out", help="Folder for mydata.json and mytest.json.")],
    as_json: JsonFlag = False,
) -> None:
    """Write mydata.json and mytest.json (shipped + agent-taught pairs, redacted) and a summary."""
    from training.config import ExportConfig
    from training.export import build_export, write_export

    settings = _settings()
    database = _database(settings)
    try:
        with database.read() as session:
            result = build_export(
                session, config=ExportConfig(test_share=settings.retrain_test_share)
            )
    except ValueError as exc:
        _fail(str(exc))
    paths = write_export(result, out)
    if as_json:
        _emit(
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
    from training.pipeline import run_retrain

    settings = _settings()
    config = retrain_config(settings)
    database = _database(settings)
    outcome = run_retrain(database, config, trigger="cli", force=force)
    if as_json:
        _emit(outcome.as_json())
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
    from bot.model_setup import pipeline_config
    from training.data import TEST_FILE, load_pairs
    from training.evaluate import evaluate
    from training.job import JobFailed, ModelUnderTest

    settings = _settings()
    base_model = resolve_base_model(settings)
    try:
        pairs = load_pairs(test or TEST_FILE)
    except ValueError as exc:
        _fail(str(exc))
    if not pairs:
        _fail(f"{test}: no pairs to evaluate")
    chosen = _adapter_for_eval(settings, adapter)
    config = eval_config(settings)
    from model.loading import ModelLoadError

    try:
        subject = ModelUnderTest(
            base_model,
            settings.quantization,
            config,
            device=settings.device,
            prompt=pipeline_config(settings).prompt,
        )
        subject.use(chosen)
    except (ModelLoadError, JobFailed) as exc:
        _fail(str(exc))
    name = chosen.version if chosen else "base"
    import torch

    from training.job import default_threads

    # As in the training process: torch's one thread per core collapses on a busy machine.
    torch.set_num_threads(settings.retrain_threads or default_threads())
    result = evaluate(name, subject.generate, pairs, config)
    payload = {
        "adapter": name,
        "base_model": base_model,
        "test": str(test or TEST_FILE),
        "items": len(pairs),
        "metrics": result.overall,
        "by_language": result.by_language,
        "counts": result.counts,
        "seconds": result.seconds,
        "tokens_per_s": round(result.tokens_per_s, 1),
    }
    if as_json:
        _emit(payload)
        return
    typer.echo(f"{name} on {payload['test']} ({len(pairs)} pairs, {result.seconds:.0f} s)")
    for key, value in result.overall.items():
        typer.echo(f"{key}\t{value:.4f}")
    for language, scores in result.by_language.items():
        typer.echo(f"{language} ({result.counts[language]})\trougeL {scores['rougeL']:.4f}")


def _adapter_for_eval(settings: Settings, ref: str) -> AdapterSpec | None:
    """The adapter ``--adapter`` names (``None``: the base model), read out of the session."""
    from storage.registry import active_adapter, find_adapter
    from training.job import AdapterSpec

    if ref == "base":
        return None
    database = _database(settings)
    with database.read() as session:
        found = active_adapter(session) if ref == "active" else find_adapter(session, ref=ref)
        if found is None:
            if ref != "active":
                _fail(f"no adapter {ref!r}; see `uttor adapters list`")
            return None
        return AdapterSpec(found.id, found.version, found.path)


# --- adapters ---------------------------------------------------------------------------------


def _adapter_json(adapter: Adapter) -> dict[str, Any]:
    return {
        "id": adapter.id,
        "version": adapter.version,
        "status": adapter.status,
        "path": adapter.path,
        "base_model": adapter.base_model,
        "metrics": adapter.metrics,
        "reason": adapter.reason,
        "parent_id": adapter.parent_id,
        "created_at": adapter.created_at.isoformat(),
        "promoted_at": adapter.promoted_at.isoformat() if adapter.promoted_at else None,
    }


@adapters_app.command("list")
def adapters_list(as_json: JsonFlag = False) -> None:
    """Every adapter, newest first, with its status and ROUGE."""
    from storage.registry import list_adapters

    database = _database(_settings())
    with database.read() as session:
        rows = [_adapter_json(a) for a in list_adapters(session)]
    active = next((r["version"] for r in rows if r["status"] == "active"), None)
    if as_json:
        _emit({"adapters": rows, "active": active})
        return
    if not rows:
        typer.echo("no adapters yet; the base model answers (uttor retrain trains one)")
        return
    for row in rows:
        rouge = (row["metrics"] or {}).get("rouge") or {}
        score = f"rougeL {rouge['rougeL']:.4f}" if "rougeL" in rouge else "-"
        typer.echo(
            f"{row['id']}\t{row['version']}\t{row['status']}\t{score}\t"
            f"{row['reason'] or ''}".rstrip()
        )


@adapters_app.command("promote")
def adapters_promote(
    adapter_id: Annotated[str, typer.Argument(help="Adapter id or version.")],
    as_json: JsonFlag = False,
) -> None:
    """Make an adapter active by hand (refused for rejected or unreadable adapters)."""
    from storage.registry import find_adapter, promote_adapter
    from training.verify import AdapterInvalid, verify_adapter

    settings = _settings()
    database = _database(settings)
    with database.read() as session:
        adapter = find_adapter(session, ref=adapter_id)
        if adapter is None:
            _fail(f"no adapter {adapter_id!r}; see `uttor adapters list`")
        found_id, path, version = adapter.id, adapter.path, adapter.version
        status, reason = adapter.status, adapter.reason
    # The registry's verdict first: a rejected adapter is refused whatever its files hold.
    if status == "rejected":
        _fail(f"refused: adapter {version} was rejected ({reason or 'no reason recorded'})")
    try:
        verify_adapter(Path(path), version=version)
    except AdapterInvalid as exc:
        _fail(f"refused: {exc}")
    with database.write() as session:
        promoted = promote_adapter(session, adapter_id=found_id, reason="promoted by hand (CLI)")
        result = _adapter_json(promoted)
    if as_json:
        _emit({"promoted": result})
    else:
        typer.echo(f"adapter {version} is active; serving switches within seconds")


@adapters_app.command("rollback")
def adapters_rollback(as_json: JsonFlag = False) -> None:
    """Retire the active adapter and bring back the one before it (or the base model)."""
    from storage.registry import active_adapter, rollback_adapter

    database = _database(_settings())
    with database.write() as session:
        current = active_adapter(session)
        previous_version = current.version if current else None
        now = rollback_adapter(session)
        now_version = now.version if now else None
    if as_json:
        _emit({"rolled_back": previous_version, "active": now_version})
    else:
        typer.echo(f"rolled back {previous_version}; now serving {now_version or 'the base model'}")


# --- report -----------------------------------------------------------------------------------


def report(
    run_id: Annotated[int | None, typer.Argument(help="Run id (default: the latest run).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Where a retrain run's report lives, and its summary."""
    from storage.registry import get_run, latest_run
    from training.report import summary_text

    database = _database(_settings())
    with database.read() as session:
        run = latest_run(session) if run_id is None else get_run(session, run_id=run_id)
        if run is None:
            _fail("no retrain runs yet" if run_id is None else f"no retrain run {run_id}")
        row = {
            "run_id": run.id,
            "trigger": run.trigger,
            "status": run.status,
            "decision": run.decision,
            "reason": run.reason,
            "error": run.error,
            "started_at": run.started_at.isoformat(),
            "ended_at": run.ended_at.isoformat() if run.ended_at else None,
            "metrics": run.metrics,
            "report": run.report_path,
        }
    summary = ""
    if row["report"]:
        try:
            data = json.loads((Path(row["report"]).parent / "report.json").read_text("utf-8"))
            summary = summary_text(data)
        except (OSError, ValueError):
            summary = ""
    row["summary"] = summary or f"run {row['run_id']}: {row['status']} {row['decision'] or ''}"
    if as_json:
        _emit(row)
        return
    typer.echo(f"report: {row['report'] or 'none (the run wrote no report)'}")
    typer.echo(row["summary"])


# --- worker -----------------------------------------------------------------------------------


def worker() -> None:
    """Run only the retrain scheduler (deployments with several bot replicas)."""
    from training.schedule import create_scheduler

    settings = _settings()
    config = retrain_config(settings)
    database = _database(settings)
    scheduler = create_scheduler(
        database,
        config,
        schedule_config(settings),
        notify=telegram_notifier(settings),
        blocking=True,
    )

    def stop(signum: int, _frame: Any) -> None:
        # A retrain in progress is abandoned (its child process dies with the process group
        # and the run is marked interrupted at the next start).
        if scheduler.running:
            scheduler.shutdown(wait=False)
        else:
            raise SystemExit(0)  # stopped before the scheduler even started

    signal.signal(signal.SIGTERM, stop)
    job = scheduler.get_jobs()[0]
    typer.echo(
        f"uttor worker: nightly retrain '{settings.retrain_cron}' ({settings.timezone}); "
        f"next run {job.trigger.get_next_fire_time(None, _now(settings))}",
        err=True,
    )
    with contextlib.suppress(KeyboardInterrupt):
        scheduler.start()


def _now(settings: Settings) -> Any:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    return datetime.now(ZoneInfo(settings.timezone))


def telegram_notifier(settings: Settings) -> Notify | None:
    """Push reports to the operators' chat over the Bot API (worker mode has no bot running).

    ``None`` when no token or no operators' chat is configured.
    """
    if settings.telegram_token is None or settings.operators_chat_id is None:
        return None
    import httpx

    from training.schedule import ReportNotice

    # httpx logs each request URL at INFO, and Bot API URLs contain the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    base = (settings.telegram_api_url or "https://api.telegram.org/bot").rstrip("/")
    url = f"{base}{settings.telegram_token.get_secret_value()}"

    def notify(notice: ReportNotice) -> None:
        with httpx.Client(timeout=30) as client:
            if notice.photo is not None and notice.photo.is_file():
                with notice.photo.open("rb") as photo:
                    response = client.post(
                        f"{url}/sendPhoto",
                        data={"chat_id": str(notice.chat_id), "caption": notice.text},
                        files={"photo": (notice.photo.name, photo, "image/png")},
                    )
            else:
                response = client.post(
                    f"{url}/sendMessage", data={"chat_id": str(notice.chat_id), "text": notice.text}
                )
        if response.status_code != 200:
            # Never log the URL: it holds the token.
            log.error("Bot API refused the report: HTTP %s", response.status_code)

    return notify
