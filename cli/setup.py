"""``uttor init``: the database schema, the starter model, the shipped knowledge base."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cli.common import EXIT_USAGE, JsonFlag, emit, fail, get_settings, open_database, safe_url

if TYPE_CHECKING:
    from wiring.settings import Settings

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    app.command("init")(init)


def init(
    quick: Annotated[
        bool, typer.Option("--quick", help="Build a very small starter model (under a minute).")
    ] = False,
    size: Annotated[
        str | None,
        typer.Option(
            "--size",
            help="Starter model size: quick, default or large (about 60M parameters, for "
            "GPU hosts and benchmarks; serve it with UTTOR_BASE_MODEL).",
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Create or upgrade the database, build the starter model if absent, load the knowledge base.

    Idempotent: a second run changes nothing. The starter model is built only when
    UTTOR_BASE_MODEL is unset.
    """
    from training.starter_config import SIZES

    if size is not None and size not in SIZES:
        fail(f"--size must be one of {', '.join(SIZES)}, not {size!r}", EXIT_USAGE)
    if quick and size not in (None, "quick"):
        fail(f"--quick and --size {size} ask for two different models", EXIT_USAGE)
    from migrations.runner import heads, upgrade
    from operations.errors import Refused
    from operations.knowledge import init_shipped_knowledge

    settings = get_settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    database = open_database(settings)
    upgrade(settings.db_url)
    try:
        knowledge, loaded = init_shipped_knowledge(database)
    except Refused as exc:
        fail(str(exc))
    finally:
        database.dispose()
    note = ""
    if settings.base_model:
        base_model = settings.base_model
    elif size == "large":
        starter, note = _ensure_sized(settings, size, not as_json)
        base_model = str(starter)
    else:
        starter, note = _ensure_starter(settings, quick or size == "quick", not as_json)
        base_model = str(starter)
    result = {
        "home": str(settings.home.resolve()),
        "database": safe_url(settings.db_url),
        "schema": heads()[0],
        "knowledge_pairs": knowledge,
        "knowledge_loaded": loaded,
        "base_model": base_model,
    }
    if note:
        result["note"] = note
    if as_json:
        emit(result)
    else:
        typer.echo(f"database ready at schema {result['schema']}: {result['database']}")
        if loaded:
            typer.echo(f"knowledge base: {knowledge} question/answer pairs from mydata.json")
        else:
            typer.echo(
                f"knowledge base: kept as operators left it ({knowledge} shipped pairs; "
                "entries of the sample were removed or edited since it was loaded)"
            )
        typer.echo(f"base model: {base_model}")
        if note:
            typer.echo(note)


def _ensure_starter(settings: Settings, quick: bool, progress: bool) -> tuple[Path, str]:
    """The starter model's folder, built first when absent, and a note on what was used."""
    from model.starter import QUICK_NAME, default_model_dir
    from training.data import CORPUS_DIR
    from training.starter import ensure_starter_model

    existing = default_model_dir(settings.models_dir)
    # A full-size starter model serves better than a quick one; never downgrade to --quick.
    if existing is not None and quick and existing.name != QUICK_NAME:
        return existing, (
            f"--quick: a full starter model already exists at {existing}; using it "
            "(delete that folder to build the quick one instead)"
        )
    if existing is not None and (quick or existing.name != QUICK_NAME):
        return existing, ""
    built = ensure_starter_model(
        settings.models_dir, corpus_dir=CORPUS_DIR, quick=quick, progress=progress
    )
    return built, ""


def _ensure_sized(settings: Settings, size: str, progress: bool) -> tuple[Path, str]:
    """A starter model of ``size`` that serving does not pick by itself (built when absent)."""
    from model.starter import is_starter_model
    from training.data import CORPUS_DIR
    from training.starter import build_starter
    from training.starter_config import SIZES

    config = SIZES[size]
    target = settings.models_dir / config.name
    if not is_starter_model(target):
        build_starter(target, corpus_dir=CORPUS_DIR, config=config, progress=progress)
    return target, f"serve it with UTTOR_BASE_MODEL={target.resolve()}"
