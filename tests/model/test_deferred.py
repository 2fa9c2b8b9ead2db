"""A deferred service loads the model only for a question that needs it (``uttor chat``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from model.config import LoadConfig
from model.deferred import DeferredService
from model.errors import ModelLoadError
from model.loading import load_base
from model.memory import CorrectionMemory
from model.pipeline import Pipeline
from model.service import GenerationService
from storage.conversations import upsert_chat
from storage.db import Database
from storage.knowledge import replace_knowledge


def _chat(database: Database) -> int:
    with database.write() as session:
        return upsert_chat(session, telegram_chat_id=11).id


async def test_an_answer_from_memory_never_loads_the_model(sqlite_database: Database) -> None:
    with sqlite_database.write() as session:
        replace_knowledge(
            session,
            source="test",
            pairs=[("What is your hotline number?", "Call 16789, any day.", "en")],
        )
    builds: list[int] = []

    def build() -> GenerationService:
        builds.append(1)
        raise ModelLoadError("no model here")

    service = DeferredService(build)
    async with Pipeline(sqlite_database, service, CorrectionMemory(sqlite_database)) as pipeline:
        reply = await pipeline.answer(
            chat_id=_chat(sqlite_database), customer_id=None, text="what is your hotline number?"
        )
        assert reply.source == "knowledge" and builds == [] and not service.loaded
        # Small talk no entry answers needs the model: the load failure surfaces.
        with pytest.raises(ModelLoadError):
            await pipeline.answer(
                chat_id=_chat(sqlite_database), customer_id=None, text="kemon achen apni?"
            )
    assert builds == [1]


async def test_the_model_loads_once_on_first_use(
    sqlite_database: Database, tiny_model_dir: Path
) -> None:
    builds: list[int] = []

    def build() -> GenerationService:
        builds.append(1)
        loaded = load_base(LoadConfig(str(tiny_model_dir), quantization="none", device="cpu"))
        return GenerationService(loaded, database=sqlite_database)

    service = DeferredService(build)
    async with Pipeline(sqlite_database, service, CorrectionMemory(sqlite_database)) as pipeline:
        chat = _chat(sqlite_database)
        for text in ("amar order kobe ashbe?", "refund kobe pabo?"):
            reply = await pipeline.answer(chat_id=chat, customer_id=None, text=text)
            assert reply.source in ("model", "fallback")
    assert builds == [1] and service.loaded
