"""The whole loop over the fake Bot API, and the bot answering while a training process runs.

A customer asks; the tiny base model answers badly; an agent corrects the reply from the
agents' group; a retrain (a real training process, started from a scheduler-like thread)
fine-tunes an adapter on the correction, the gate promotes it, serving hot-swaps to it, and
the same question is answered by the new adapter — with correction memory switched off, so
the answer can only come from the adapter. While the training process runs, the bot keeps
answering.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import select

from model.config import (
    AdapterConfig,
    DecodingConfig,
    LoadConfig,
    MemoryConfig,
    PipelineConfig,
    PromptConfig,
    ServiceConfig,
)
from model.loading import load_base
from model.memory import CorrectionMemory
from model.pipeline import Pipeline
from model.service import GenerationService
from storage.models import BotReply, Correction
from storage.registry import active_adapter
from tests.bot.conftest import AGENT_ID, AGENTS_CHAT, CUSTOMER_ID
from tests.bot.fake_bot_api import Call, FakeBotApi
from tests.training.conftest import CANARIES, CANARY_ANSWERS, write_pairs
from tests.training.test_facts import QUESTIONS, write_facts
from training.config import (
    EvalConfig,
    ExportConfig,
    FactsConfig,
    GateConfig,
    RetrainConfig,
    TrainConfig,
)
from training.pipeline import RetrainOutcome, run_retrain

QUESTION = "pickup point e parcel koto din rakhe?"
ANSWER = "Pickup point e parcel 5 din thake."

# The tiny test model (64 wide, tied embeddings) cannot fit new text through its inner layers
# alone; adapting the output head as well lets it learn the correction in a few seconds. The
# product's default stays all-linear (see docs/retraining.md); target modules are configurable.
TINY_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj",
                "lm_head")  # fmt: skip


def in_group(call: Call) -> bool:
    return call.chat_id == AGENTS_CHAT


async def ask(api: FakeBotApi, text: str, customer: int = CUSTOMER_ID) -> tuple[Call, Call]:
    """A customer asks in a private chat; returns the answer and its mirror for the agents."""
    mark = api.mark()
    await api.say(api.user(customer), text)
    (answer,) = await api.wait_for(
        "sendMessage", lambda call: call.chat_id == customer, since=mark, timeout=120
    )
    (mirror,) = await api.wait_for("sendMessage", in_group, since=mark, timeout=120)
    return answer, mirror


def loop_config(home: Path, base_model: Path) -> RetrainConfig:
    """Shipped data: the canaries in their registers (so the smoke check can pass) and six
    held-out questions on the same fact in all registers, far from the corrected question
    (enough that the gate's interval can clear zero)."""
    train = [{"text": c.question, "completion": CANARY_ANSWERS[c.register]} for c in CANARIES]
    test = [
        {"text": "hotline e kokhon call kora jay?", "completion": CANARY_ANSWERS["banglish"]},
        {"text": "Which number do I call for help?", "completion": CANARY_ANSWERS["en"]},
        {"text": "Can you give me the helpline to call?", "completion": CANARY_ANSWERS["en"]},
        {
            "text": "help er jonno kon number e phone dibo?",
            "completion": CANARY_ANSWERS["banglish"],
        },
        {"text": "সাহায্যের জন্য কোন নম্বরে ফোন করব?", "completion": CANARY_ANSWERS["bn"]},
        {"text": "help দরকার হলে কোন number এ call করব?", "completion": CANARY_ANSWERS["mixed"]},
    ]
    home.mkdir(parents=True)
    return RetrainConfig(
        home=home,
        base_model=str(base_model),
        train_file=write_pairs(home / "shipped-train.json", train),
        test_file=write_pairs(home / "shipped-test.json", test),
        min_new_pairs=1,
        # Keep the one correction on the training side (a share would hold it out by hash).
        export=ExportConfig(test_share=0.0),
        train=TrainConfig(
            epochs=40,
            batch_size=1,
            learning_rate=1e-2,
            lora_dropout=0.0,
            target_modules=TINY_TARGETS,
            threads=1,
        ),
        eval=EvalConfig(batch_size=8, decoding=DecodingConfig(max_new_tokens=24)),
        gate=GateConfig(canaries=CANARIES),
        # Asked through the answering pipeline in the training process, for both models.
        facts=FactsConfig(file=write_facts(home / "facts.jsonl", QUESTIONS)),
    )


async def test_correction_retrain_promotion_and_answering_during_training(
    start_bot: Any,
    api: FakeBotApi,
    staffed_database: Any,
    tiny_model_dir: Path,
    tmp_path: Path,
) -> None:
    database = staffed_database
    loaded = load_base(LoadConfig(str(tiny_model_dir), quantization="nf4", device="cpu"))
    service = GenerationService(
        loaded,
        ServiceConfig(decoding=DecodingConfig(max_new_tokens=24)),
        database=database,
        adapters=AdapterConfig(poll_s=0.2),
    )
    memory_off = CorrectionMemory(database, MemoryConfig(min_chars=10**9, use_knowledge=False))
    pipeline = Pipeline(
        database,
        service,
        memory_off,
        # Nothing stored answers the question: the model must (not the hand-over note).
        PipelineConfig(prompt=PromptConfig(system_style="compact"), unsure="model"),
        compact_prompt=True,
    )
    async with pipeline:
        await start_bot(answerer_override=pipeline)

        # 1. A wrong answer, corrected by an agent replying to its mirror.
        before, mirror = await ask(api, QUESTION)
        assert before.text != ANSWER
        mark = api.mark()
        await api.say(api.user(AGENT_ID, "Karim"), ANSWER, chat_id=AGENTS_CHAT,
                      reply_to=mirror.result)  # fmt: skip
        await api.wait_for("sendMessage", in_group, since=mark, timeout=60)
        with database.read() as session:
            assert session.scalars(select(Correction.text)).all() == [ANSWER]

        # 2. The nightly job, as the scheduler runs it: a thread that starts a training process.
        config = loop_config(tmp_path / "home", tiny_model_dir)
        outcome: list[RetrainOutcome] = []
        job = threading.Thread(
            target=lambda: outcome.append(run_retrain(database, config, trigger="schedule"))
        )
        job.start()
        log = await _training_log(config.home, job)

        # 3. The bot answers while the training process is at work.
        during, _ = await ask(api, "Do you deliver on Fridays?")
        assert during.text
        assert job.is_alive() and "training on" in log.read_text(encoding="utf-8")

        await asyncio.to_thread(job.join, 300)
        assert outcome and outcome[0].decision == "promoted", outcome and outcome[0].reason
        facts = outcome[0].facts or {}
        assert facts["incumbent"]["items"] == facts["candidate"]["items"] == len(QUESTIONS)
        with database.read() as session:
            promoted = active_adapter(session)
            assert promoted is not None and promoted.version == outcome[0].candidate
            promoted_id = promoted.id

        # 4. Serving follows the registry (it polls on its own; asking now skips the wait).
        await service.check_adapters()
        assert service.adapter is not None and service.adapter.id == promoted_id
        # A new chat, as the next customer with this question: training pairs carry no chat
        # history, and the first customer's chat now holds the whole story.
        after, _ = await ask(api, QUESTION, customer=CUSTOMER_ID + 1)
        assert after.text == ANSWER
        with database.read() as session:
            last = session.scalars(select(BotReply).order_by(BotReply.id.desc())).first()
            assert last.source == "model" and last.adapter_id == promoted_id


async def _training_log(home: Path, job: threading.Thread) -> Path:
    """The training process's log, once it has started training."""
    for _ in range(3000):
        logs = list(home.glob("reports/*/job/job.log"))
        if logs and "step 1/" in logs[0].read_text(encoding="utf-8"):
            return logs[0]
        assert job.is_alive(), "the retrain ended before training started"
        await asyncio.sleep(0.05)
    raise AssertionError("the training process never started training")
