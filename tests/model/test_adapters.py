"""Hot-swapping LoRA adapters: registry at start, promotion and rollback from another session."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.operators import serving_lines
from model.adapters import AdapterConfig
from model.loading import LoadConfig, LoadedModel, load_base
from model.prompting import PromptConfig, build_prompt
from model.service import DecodingConfig, Generation, GenerationService, ServiceConfig
from storage.db import Database
from storage.registry import add_adapter, promote_adapter, rollback_adapter
from tests.shared.adapters import save_random_adapter

# One request per batch and one fixed prompt: every reply is computed exactly alike, so a reply
# equals its adapter's reference reply unless it ran on a mix of two adapters.
SERIAL = ServiceConfig(max_batch=1, max_wait_ms=0, decoding=DecodingConfig(max_new_tokens=8))
FAST_POLL = AdapterConfig(poll_s=0.05)


@pytest.fixture(scope="module")
def adapter_dirs(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Two LoRA adapters with random (non-zero) weights, saved as training would save them."""
    root = tmp_path_factory.mktemp("adapters")
    return [save_random_adapter(tiny_model_dir, root / f"a{seed}", seed) for seed in (1, 2)]


@pytest.fixture
def loaded(tiny_model_dir: Path) -> LoadedModel:
    return load_base(LoadConfig(str(tiny_model_dir)))


def register(database: Database, path: Path, version: str) -> int:
    with database.write() as session:
        return add_adapter(session, version=version, path=str(path), base_model="tiny").id


def promote(database: Database, adapter_id: int) -> None:
    with database.write() as session:
        promote_adapter(session, adapter_id=adapter_id)


def prompt(loaded: LoadedModel) -> str:
    return build_prompt(
        "When will my order arrive?",
        language="en",
        tokenizer=loaded.tokenizer,
        config=PromptConfig(system_style="compact"),
    )


async def reference(loaded: LoadedModel, database: Database, adapter_id: int | None) -> str:
    """The reply with only this adapter (or the base), from a service started fresh."""
    with database.write() as session:
        if adapter_id is not None:
            promote_adapter(session, adapter_id=adapter_id)
    async with GenerationService(loaded, SERIAL, database=database) as service:
        assert (service.adapter.id if service.adapter else None) == adapter_id
        return (await service.generate(prompt(loaded))).text


async def test_no_adapter_serves_the_base_model(
    loaded: LoadedModel, sqlite_database: Database
) -> None:
    async with GenerationService(loaded, SERIAL, database=sqlite_database) as service:
        assert service.adapter is None
        assert service.slot.peft is None
        reply = await service.generate(prompt(loaded))
    assert reply.adapter is None


async def test_the_active_adapter_is_loaded_at_start_and_changes_replies(
    loaded: LoadedModel, sqlite_database: Database, adapter_dirs: list[Path]
) -> None:
    base = await reference(loaded, sqlite_database, None)
    first = register(sqlite_database, adapter_dirs[0], "v1")
    with_adapter = await reference(loaded, sqlite_database, first)
    assert with_adapter != base


async def test_promotion_and_rollback_switch_without_restart_and_never_mix(
    tiny_model_dir: Path, sqlite_database: Database, adapter_dirs: list[Path]
) -> None:
    first = register(sqlite_database, adapter_dirs[0], "v1")
    second = register(sqlite_database, adapter_dirs[1], "v2")
    expected = {
        None: await reference(load_base(LoadConfig(str(tiny_model_dir))), sqlite_database, None),
        first: await reference(load_base(LoadConfig(str(tiny_model_dir))), sqlite_database, first),
        second: await reference(
            load_base(LoadConfig(str(tiny_model_dir))), sqlite_database, second
        ),
    }
    assert len(set(expected.values())) == 3
    promote(sqlite_database, first)

    loaded = load_base(LoadConfig(str(tiny_model_dir)))
    seen: list[Generation] = []
    async with GenerationService(
        loaded, SERIAL, database=sqlite_database, adapters=FAST_POLL
    ) as service:
        assert service.adapter is not None and service.adapter.id == first

        async def traffic_until(adapter_id: int | None) -> None:
            # Keep requests flowing while the watcher notices the change and swaps.
            for _ in range(2000):
                seen.append(await service.generate(prompt(loaded)))
                current = service.adapter.id if service.adapter else None
                if current == adapter_id and seen[-1].adapter == service.adapter:
                    return
                await asyncio.sleep(0.005)
            pytest.fail(f"service never switched to adapter {adapter_id}")

        promote(sqlite_database, second)  # as `uttor adapters promote` in another process would
        await traffic_until(second)
        with sqlite_database.write() as session:
            assert rollback_adapter(session).id == first  # type: ignore[union-attr]
        await traffic_until(first)
        with sqlite_database.write() as session:
            assert rollback_adapter(session) is None  # back to the base model
        await traffic_until(None)

    used = {g.adapter.id if g.adapter else None for g in seen}
    assert used == {first, second, None}
    for generation in seen:
        adapter_id = generation.adapter.id if generation.adapter else None
        assert generation.text == expected[adapter_id]


async def test_an_unreadable_adapter_keeps_the_current_one(
    loaded: LoadedModel, sqlite_database: Database, adapter_dirs: list[Path], tmp_path: Path
) -> None:
    good = register(sqlite_database, adapter_dirs[0], "v1")
    broken = register(sqlite_database, tmp_path / "missing", "v2")
    promote(sqlite_database, good)
    async with GenerationService(loaded, SERIAL, database=sqlite_database) as service:
        promote(sqlite_database, broken)
        assert await service.check_adapters() is False
        assert service.adapter is not None and service.adapter.id == good
        assert broken in service.slot.failed
        reply = await service.generate(prompt(loaded))
        assert reply.adapter is not None and reply.adapter.id == good
        # Operators see it in /status: what serves here, what was refused and why.
        assert set(service.refusals()) == {"v2"} and "v2" in service.refusals()["v2"]
        lines = serving_lines(service, registry="v2")
        assert lines[0] == "Serving here: v1 (registry: v2)"
        assert lines[1].startswith("Refused adapter v2: ")
        assert serving_lines(service, registry="v1") == lines[1:]
