"""An adapter trained on another base is refused at promotion, at start and at hot swap.

The starter model and the ``--quick`` one are exactly this case: same family, other shapes.
Without the checks peft's size-mismatch ``RuntimeError`` escaped: the bot did not start, and
at run time the watcher re-staged the adapter every poll, leaking one copy each time.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from pathlib import Path

import pytest

import model.adapters as adapters_module
from model.adapters import AdapterConfig
from model.fingerprint import ADAPTER_METADATA, KEY, fingerprint, fingerprint_of_dir
from model.loading import LoadConfig, LoadedModel, load_base
from model.service import DecodingConfig, GenerationService, ServiceConfig
from operations.adapters import promote
from operations.errors import Refused
from storage.db import Database
from storage.registry import add_adapter, promote_adapter
from tests.shared.adapters import save_random_adapter
from tests.shared.tiny_models import TINY, build_tiny

SERIAL = ServiceConfig(max_batch=1, max_wait_ms=0, decoding=DecodingConfig(max_new_tokens=4))
FAST_POLL = AdapterConfig(poll_s=0.05)


@pytest.fixture(scope="module")
def other_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A second tiny base of the same family with other shapes (as --quick is to the starter)."""
    wide = replace(TINY, name="tiny-wide", hidden_size=96, intermediate_size=160, steps=4)
    return build_tiny(tmp_path_factory.mktemp("bases") / "wide", wide)


@pytest.fixture(scope="module")
def foreign(other_base: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("foreign")
    unmarked = save_random_adapter(other_base, root / "unmarked", seed=5)
    marked = save_random_adapter(other_base, root / "marked", seed=6)
    (marked / ADAPTER_METADATA).write_text(
        json.dumps({KEY: fingerprint_of_dir(str(other_base))}), encoding="utf-8"
    )
    return {"unmarked": unmarked, "marked": marked}


@pytest.fixture
def loaded(tiny_model_dir: Path) -> LoadedModel:
    return load_base(LoadConfig(str(tiny_model_dir)))


def register(database: Database, path: Path, version: str, *, active: bool = False) -> int:
    with database.write() as session:
        adapter_id = add_adapter(session, version=version, path=str(path), base_model="x").id
        if active:
            promote_adapter(session, adapter_id=adapter_id)
        return adapter_id


def test_fingerprints_tell_the_bases_apart(
    tiny_model_dir: Path, other_base: Path, loaded: LoadedModel
) -> None:
    ours = fingerprint_of_dir(str(tiny_model_dir))
    assert ours == fingerprint(loaded.model.config, loaded.tokenizer)
    assert ours != fingerprint_of_dir(str(other_base))


def test_promotion_refuses_an_adapter_of_another_base(
    sqlite_database: Database, tiny_model_dir: Path, foreign: dict[str, Path]
) -> None:
    register(sqlite_database, foreign["marked"], "wide-1")
    with pytest.raises(Refused, match="trained on another base model"):
        promote(sqlite_database, "wide-1", base_model=str(tiny_model_dir))


@pytest.mark.parametrize("kind", ["marked", "unmarked"])
async def test_start_serves_the_base_when_the_active_adapter_is_foreign(
    kind: str, sqlite_database: Database, loaded: LoadedModel, foreign: dict[str, Path]
) -> None:
    adapter_id = register(sqlite_database, foreign[kind], f"wide-{kind}", active=True)
    service = GenerationService(loaded, SERIAL, database=sqlite_database, adapters=FAST_POLL)
    async with service:  # starting must not raise
        assert service.adapter is None and adapter_id in service.slot.failed
        reply = await service.generate("hello")
        assert reply.adapter is None


@pytest.mark.parametrize("kind", ["marked", "unmarked"])
async def test_hot_swap_keeps_serving_and_stages_a_foreign_adapter_once(
    kind: str,
    sqlite_database: Database,
    loaded: LoadedModel,
    tiny_model_dir: Path,
    foreign: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    good = save_random_adapter(tiny_model_dir, tmp_path / "good", seed=1)
    register(sqlite_database, good, "good", active=True)
    # A slow background poll: the checks below are the polls, one at a time.
    slow = AdapterConfig(poll_s=60)
    service = GenerationService(loaded, SERIAL, database=sqlite_database, adapters=slow)
    async with service:
        assert service.adapter is not None and service.adapter.version == "good"
        await asyncio.sleep(0.3)  # the watcher's first poll is done; it sleeps for a minute now
        bad_id = register(sqlite_database, foreign[kind], f"wide-{kind}")
        with sqlite_database.write() as session:
            promote_adapter(session, adapter_id=bad_id)
        staged: list[object] = []
        real_stage = adapters_module.stage
        monkeypatch.setattr(adapters_module, "stage", lambda *a: staged.append(a) or real_stage(*a))
        for _ in range(5):
            assert await service.check_adapters() is False
        assert service.adapter is not None and service.adapter.version == "good"
        assert bad_id in service.slot.failed
        assert len(staged) <= 1  # refused once, not re-staged at every poll
        # No half-added copy stays behind: only the serving adapter is loaded.
        assert len(service.slot.peft.peft_config) == 1
        reply = await service.generate("hello")
        assert reply.adapter is not None and reply.adapter.version == "good"
