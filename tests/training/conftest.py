"""Fixtures of the retrain tests: the shared tiny model, small shipped files, agent-taught pairs."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from model.config import DecodingConfig
from storage.conversations import add_message, add_reply, upsert_chat, upsert_customer
from storage.corrections import add_correction
from storage.db import Database
from tests.bot.conftest import (  # noqa: F401 - the bot's fixtures, for the full-loop test
    answerer,
    api,
    make_settings,
    staffed_database,
    start_bot,
    tiny_model,
)
from tests.shared.tiny_models import tiny_model_dir  # noqa: F401 - a fixture
from training.config import Canary, EvalConfig, GateConfig, RetrainConfig, TrainConfig

#: Canaries a tiny model can be taught: one per register, answered in that register's script.
CANARIES = (
    Canary("bn", "হটলাইন নম্বর কত?"),
    Canary("en", "What is the hotline number?"),
    Canary("banglish", "hotline number koto?"),
    Canary("mixed", "hotline number টা কত?"),
)
#: Training answers for the canaries (the adapter learns to answer them in script).
CANARY_ANSWERS = {
    "bn": "আমাদের হটলাইন ১৬৭৮৯, প্রতিদিন সকাল ৯টা থেকে রাত ৯টা।",
    "en": "Our hotline is 16789, open every day from 9 am to 9 pm.",
    "banglish": "Amader hotline 16789, protidin shokal 9 ta theke rat 9 ta.",
    "mixed": "আমাদের hotline 16789, প্রতিদিন সকাল ৯টা থেকে রাত ৯টা।",
}


def write_pairs(path: Path, pairs: list[dict[str, str]]) -> Path:
    path.write_text(json.dumps(pairs, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.fixture
def shipped(tmp_path: Path) -> tuple[Path, Path]:
    """Small shipped train/test files in all four registers (no near-duplicates across)."""
    train = [
        {"text": "ডেলিভারি চার্জ কত?", "completion": "ঢাকার ভিতরে ৬০ টাকা, বাইরে ১২০ টাকা।"},
        {"text": "How long does delivery take?", "completion": "1-2 days inside Dhaka."},
        {"text": "refund kobe pabo?", "completion": "Wallet e 24 ghontar moddhe refund pabe."},
        {"text": "আমার order cancel করব কীভাবে?", "completion": "My Orders থেকে Cancel চাপুন।"},
        {"text": "Contact e-mail?", "completion": "Write to support@bazarghor.example any time."},
    ]
    test = [
        {"text": "ঢাকার বাইরে পণ্য পৌঁছাতে কত দিন?", "completion": "৩ থেকে ৫ দিন লাগে।"},
        {"text": "Is cash on delivery available?", "completion": "Yes, up to 20,000 taka."},
        {"text": "bkash diye pay kora jay?", "completion": "Ji, bKash diye pay kora jay."},
    ]
    return write_pairs(tmp_path / "train.json", train), write_pairs(tmp_path / "test.json", test)


class Conversations:
    """Writes customer questions, bot replies and agents' corrections like the bot does."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.next_user = 1000

    def reply(self, question: str, answer: str, *, language: str | None = None) -> int:
        """A customer question and the bot's reply; returns the reply id."""
        self.next_user += 1
        with self.database.write() as session:
            customer = upsert_customer(session, telegram_user_id=self.next_user)
            chat = upsert_chat(session, telegram_chat_id=self.next_user, customer_id=customer.id)
            asked = add_message(
                session,
                chat_id=chat.id,
                direction="in",
                text=question,
                language=language,
                customer_id=customer.id,
            )
            said = add_message(session, chat_id=chat.id, direction="out", text=answer)
            reply = add_reply(
                session, message_id=said.id, source="model", question_message_id=asked.id
            )
            return reply.id

    def correct(self, reply_id: int, text: str, *, agent: int = 77) -> int:
        with self.database.write() as session:
            return add_correction(session, reply_id=reply_id, agent_user_id=agent, text=text).id

    def corrected(self, question: str, wrong: str, right: str, **kwargs: Any) -> int:
        """A question, a wrong reply and the agent's correction; returns the correction id."""
        return self.correct(self.reply(question, wrong, **kwargs), right)


@pytest.fixture
def conversations(sqlite_database: Database) -> Conversations:
    return Conversations(sqlite_database)


@pytest.fixture
def retrain_config(
    tmp_path: Path,
    shipped: tuple[Path, Path],
    tiny_model_dir: Path,  # noqa: F811
) -> RetrainConfig:
    """A fast configuration on the tiny model and the small shipped files."""
    train_file, test_file = shipped
    return RetrainConfig(
        home=tmp_path / "home",
        base_model=str(tiny_model_dir),
        quantization="nf4",
        train_file=train_file,
        test_file=test_file,
        min_new_pairs=2,
        train=TrainConfig(epochs=1, batch_size=4, max_length=96, threads=1),
        eval=EvalConfig(
            batch_size=8, decoding=DecodingConfig(max_new_tokens=8), bootstrap_samples=200
        ),
        gate=GateConfig(canaries=CANARIES),
    )


@pytest.fixture
def real_retrain_config(
    retrain_config: RetrainConfig,
    tiny_model_dir: Path,  # noqa: F811 - the fixture imported above
) -> RetrainConfig:
    """The same configuration on the real tiny model."""
    return replace(retrain_config, base_model=str(tiny_model_dir))


@pytest.fixture
def fake_runner() -> Iterator[Callable[..., dict[str, Any]]]:
    """A runner that writes adapter files and returns scores set by the test (no model)."""
    from tests.training.fakes import FakeRunner

    yield FakeRunner()
