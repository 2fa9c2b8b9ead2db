"""The answering pipeline: routing, memory, model, fallback, and the rows it writes."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import select

from model.config import DecodingConfig, PipelineConfig, PromptConfig, ServiceConfig
from model.loading import LoadConfig, LoadedModel, load_base
from model.memory import CorrectionMemory
from model.pipeline import Pipeline, Reply
from model.service import GenerationService
from model.text.replies import FALLBACKS, OTHER_LANGUAGE_NOTE
from storage.conversations import set_preferred_language, upsert_chat, upsert_customer
from storage.corrections import add_correction
from storage.db import Database
from storage.models import BotReply, Message

SHORT = DecodingConfig(max_new_tokens=6)


@pytest.fixture(scope="module")
def loaded(tiny_model_dir: Path) -> LoadedModel:
    return load_base(LoadConfig(str(tiny_model_dir)))


def make_pipeline(
    loaded: LoadedModel, database: Database, service: ServiceConfig | None = None
) -> Pipeline:
    generation = GenerationService(loaded, service or ServiceConfig(decoding=SHORT))
    config = PipelineConfig(prompt=PromptConfig(system_style="compact"))
    return Pipeline(database, generation, CorrectionMemory(database), config)


def make_chat(database: Database, number: int = 1) -> tuple[int, int]:
    with database.write() as session:
        customer = upsert_customer(session, telegram_user_id=number, display_name="Rahim")
        chat = upsert_chat(session, telegram_chat_id=number, customer_id=customer.id)
        return chat.id, customer.id


def rows(database: Database, reply: Reply) -> tuple[BotReply, Message, Message]:
    """The reply record, question and answer rows, detached so they outlive the session."""
    with database.read() as session:
        record = session.get(BotReply, reply.reply_id)
        assert record is not None and record.question_message_id is not None
        question = session.get(Message, record.question_message_id)
        answer = session.get(Message, record.message_id)
        assert question is not None and answer is not None
        session.expunge_all()
    return record, question, answer


async def test_a_model_reply_is_stored_with_its_costs(
    loaded: LoadedModel, database: Database
) -> None:
    chat_id, customer_id = make_chat(database)
    async with make_pipeline(loaded, database) as pipeline:
        reply = await pipeline.answer(
            chat_id=chat_id, customer_id=customer_id, text="Where is my order?",
            telegram_message_id=11,
        )  # fmt: skip
    assert reply.source == "model" and reply.language == "en" and not reply.flagged
    assert reply.text and reply.adapter is None and reply.latency_ms > 0
    record, question, answer = rows(database, reply)
    assert question.text == "Where is my order?" and question.direction == "in"
    assert question.language == "en" and question.telegram_message_id == 11
    assert answer.text == reply.text and answer.direction == "out" and answer.language == "en"
    assert record.source == "model" and record.adapter_id is None and not record.flagged
    assert record.prompt.endswith("Where is my order? [/INST]")
    assert record.prompt_tokens == reply.prompt_tokens > 0
    assert record.completion_tokens == reply.completion_tokens > 0
    assert record.latency_ms == reply.latency_ms


async def test_earlier_turns_of_the_chat_are_in_the_prompt(
    loaded: LoadedModel, sqlite_database: Database
) -> None:
    chat_id, customer_id = make_chat(sqlite_database)
    async with make_pipeline(loaded, sqlite_database) as pipeline:
        first = await pipeline.answer(chat_id=chat_id, customer_id=customer_id, text="hello there")
        second = await pipeline.answer(
            chat_id=chat_id, customer_id=customer_id, text="Where is my order?"
        )
    record, _, _ = rows(sqlite_database, second)
    assert f"hello there [/INST] {first.text} </s><s>[INST] Where is my order?" in record.prompt


async def test_a_corrected_question_is_answered_from_memory(
    loaded: LoadedModel, sqlite_database: Database
) -> None:
    chat_id, customer_id = make_chat(sqlite_database)
    async with make_pipeline(loaded, sqlite_database) as pipeline:
        first = await pipeline.answer(
            chat_id=chat_id, customer_id=customer_id, text="amar refund kobe pabo?"
        )
        with sqlite_database.write() as session:
            add_correction(
                session, reply_id=first.reply_id, agent_user_id=5,
                text="Refund 5 working dine bKash e chole jabe.",
            )  # fmt: skip
        batches = len(pipeline.service.batch_sizes)
        again = await pipeline.answer(
            chat_id=chat_id, customer_id=customer_id, text="amar refund ta kobe pabo"
        )
        assert len(pipeline.service.batch_sizes) == batches  # the model was not asked
    assert again.source == "memory" and again.text == "Refund 5 working dine bKash e chole jabe."
    assert again.language == "banglish" and again.adapter is None
    record, _, _ = rows(sqlite_database, again)
    assert record.source == "memory" and record.prompt == "" and record.completion_tokens == 0


async def test_other_languages_get_the_bilingual_note(
    loaded: LoadedModel, sqlite_database: Database
) -> None:
    chat_id, customer_id = make_chat(sqlite_database)
    async with make_pipeline(loaded, sqlite_database) as pipeline:
        reply = await pipeline.answer(
            chat_id=chat_id, customer_id=customer_id, text="Bonjour, où est ma commande ?"
        )
    assert reply.language == "other" and reply.source == "system"
    assert reply.text == OTHER_LANGUAGE_NOTE
    # Flagged, so the agents' group sees it and a human can take the chat.
    assert reply.flagged
    assert "/agent" in OTHER_LANGUAGE_NOTE and "এজেন্ট" in OTHER_LANGUAGE_NOTE


async def test_romanized_hindi_gets_the_note_not_a_banglish_answer(
    loaded: LoadedModel, sqlite_database: Database
) -> None:
    chat_id, customer_id = make_chat(sqlite_database)
    async with make_pipeline(loaded, sqlite_database) as pipeline:
        reply = await pipeline.answer(
            chat_id=chat_id, customer_id=customer_id, text="mera order kab aayega bhai?"
        )
    assert reply.language == "other" and reply.source == "system" and reply.flagged


async def test_a_timeout_gives_a_flagged_fallback_in_the_customers_language(
    loaded: LoadedModel, sqlite_database: Database
) -> None:
    chat_id, customer_id = make_chat(sqlite_database)
    config = ServiceConfig(timeout_s=0, decoding=SHORT)
    async with make_pipeline(loaded, sqlite_database, config) as pipeline:
        reply = await pipeline.answer(
            chat_id=chat_id, customer_id=customer_id, text="আমার অর্ডার কবে আসবে?"
        )
    assert reply.source == "fallback" and reply.flagged
    assert reply.text == FALLBACKS["bn"] and reply.language == "bn"
    record, _, answer = rows(sqlite_database, reply)
    assert record.flagged and record.source == "fallback" and answer.text == FALLBACKS["bn"]


async def test_a_model_error_gives_a_flagged_fallback(
    loaded: LoadedModel, sqlite_database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    chat_id, customer_id = make_chat(sqlite_database)
    async with make_pipeline(loaded, sqlite_database) as pipeline:

        def broken(*args: object, **kwargs: object) -> None:
            raise RuntimeError("boom")

        monkeypatch.setattr(pipeline.service.slot.base, "generate", broken)
        reply = await pipeline.answer(
            chat_id=chat_id, customer_id=customer_id, text="amar order kobe ashbe?"
        )
    assert reply.source == "fallback" and reply.flagged and reply.text == FALLBACKS["banglish"]


async def test_the_customers_preference_sets_the_reply_language(
    loaded: LoadedModel, sqlite_database: Database
) -> None:
    chat_id, customer_id = make_chat(sqlite_database)
    with sqlite_database.write() as session:
        set_preferred_language(session, customer_id=customer_id, language="en")
    async with make_pipeline(loaded, sqlite_database) as pipeline:
        reply = await pipeline.answer(
            chat_id=chat_id, customer_id=customer_id, text="আমার অর্ডার কবে আসবে?"
        )
    assert reply.language == "bn" and reply.reply_language == "en"
    record, _, answer = rows(sqlite_database, reply)
    assert "Answer in English." in record.prompt and answer.language == "en"


async def test_concurrent_chats_are_answered_in_one_batch(
    loaded: LoadedModel, sqlite_database: Database
) -> None:
    chats = [make_chat(sqlite_database, number) for number in range(1, 5)]
    config = ServiceConfig(max_batch=4, max_wait_ms=500, decoding=SHORT)
    async with make_pipeline(loaded, sqlite_database, config) as pipeline:
        replies = await asyncio.gather(
            *(
                pipeline.answer(chat_id=chat, customer_id=customer, text=f"Order {n} status?")
                for n, (chat, customer) in enumerate(chats)
            )
        )
        assert list(pipeline.service.batch_sizes) == [4]
    assert len({r.reply_id for r in replies}) == 4
    with sqlite_database.read() as session:
        assert len(session.scalars(select(BotReply)).all()) == 4
