"""The one answering pipeline, shared by the Telegram bot and ``uttor chat``.

For each customer message, in order:

1. route the language (:func:`model.text.langid.detect`);
2. in one trip to a database thread: read the chat's recent turns and the customer's
   preference, store the inbound message, decide the reply language
   (:func:`model.text.policy.reply_policy`) and look up what the company knows
   (:meth:`model.memory.CorrectionMemory.lookup`: knowledge base and corrections, any
   register, guards before any reuse);
3. answer, naming the source in the reply's record:

   * ``system``: the policy's note for a language we do not serve;
   * ``memory``: an agent's correction of a near-duplicate question;
   * ``knowledge``: a confident knowledge-base match, answered in the customer's register
     (greetings and thanks too: they are topics of the knowledge base);
   * ``model``: the model, through the batched service, with the related entries in its
     prompt; also small talk nothing matched, a question when the company knows nothing yet
     (empty knowledge base), and anything ungrounded with ``unsure="model"``;
   * ``unsure``: nothing the company knows answers it and it is not small talk: an honest
     note that an agent will answer here, flagged for agents (``unsure="handoff"``);
   * ``fallback``: a model timeout, error or empty reply: a polite note, flagged;

4. store the outbound message and its reply record (the prompt served, adapter, latency,
   token counts) and return the reply.
"""

from __future__ import annotations

import functools
import logging
import time
from dataclasses import dataclass
from typing import Any

from model.backend import GenerationBackend
from model.config import PipelineConfig
from model.grounding import Grounding
from model.memory import CorrectionMemory, comparable
from model.prompting import Turn, build_prompt, system_prompt
from model.service import Generation, GenerationError
from model.text.langid import detect
from model.text.languages import LABELS
from model.text.normalize import strip_controls
from model.text.policy import ReplyPolicy, reply_policy
from model.text.replies import FALLBACKS, UNSURE_NOTES
from storage.batching import GroupCommit
from storage.db import Database
from storage.logbook import Inbound, Outbound, receive_many, store_replies

log = logging.getLogger(__name__)


#: Sent when the model cannot answer in time (or fails); an agent gets the question flagged.
@dataclass(frozen=True)
class Reply:
    """What the pipeline answered and stored (fits the bot's ``Answer``)."""

    text: str
    language: str
    """Routed label of the question: bn, en, banglish, mixed, other or und."""
    reply_language: str
    """Language of the reply per the policy (bn, en, banglish, mixed or bilingual)."""
    source: str
    """``knowledge``, ``memory``, ``model``, ``unsure``, ``fallback`` or ``system`` (see the
    module doc)."""
    adapter: str | None
    """Version of the adapter that generated the reply (``None``: base model or no model)."""
    adapter_id: int | None
    latency_ms: float
    reply_id: int | None
    message_id: int | None
    question_message_id: int | None
    flagged: bool = False
    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass
class _Context:
    question_message_id: int
    policy: ReplyPolicy
    history: list[Turn]
    grounding: Grounding
    known: bool
    """Whether the company knows anything yet (knowledge base or corrections)."""


class Pipeline:
    """Routing, memory, model and logging for one customer message at a time (concurrently)."""

    def __init__(
        self,
        database: Database,
        service: GenerationBackend,
        memory: CorrectionMemory,
        config: PipelineConfig | None = None,
        *,
        compact_prompt: bool = False,
    ) -> None:
        self.database = database
        self.service = service
        self.memory = memory
        self.config = config or PipelineConfig()
        self.compact_prompt = compact_prompt
        # Questions and replies of concurrent chats are stored together, a batch per
        # transaction (storage/batching.py); each call still returns once its row is committed.
        self._questions = GroupCommit(database, self._receive, key=_chat_of)
        self._replies = GroupCommit(database, store_replies, key=_chat_of)

    async def start(self) -> None:
        await self.service.start()

    async def close(self) -> None:
        await self.service.close()

    async def __aenter__(self) -> Pipeline:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def answer(
        self,
        *,
        chat_id: int,
        customer_id: int | None,
        text: str,
        telegram_message_id: int | None = None,
        deadline: float | None = None,
    ) -> Reply:
        """Answer one message of a chat; ``chat_id``/``customer_id`` are database ids.

        ``deadline`` (a ``time.monotonic()`` value) bounds the model's time: the bot counts it
        from the message's arrival, so time spent queued is not given to the model again.
        """
        started = time.perf_counter()
        text = strip_controls(text)
        label = detect(text).label
        # Both database trips wait out a short outage (storage.retry): the question is stored
        # and answered once the server is back rather than lost.
        context = await self._questions.submit(
            Inbound(chat_id, customer_id, text, label, telegram_message_id)
        )
        policy, grounding = context.policy, context.grounding
        answer, source, flagged = "", "model", False
        generation: Generation | None = None
        prompt = ""
        if policy.note is not None:
            # A language we do not serve: the note offers a human, and agents see the chat.
            answer, source, flagged = policy.note, "system", True
        elif grounding.answer is not None and grounding.source is not None:
            answer, source = grounding.answer, grounding.source
        elif self._ask_model(grounding, context.known):
            await self.service.ready()  # a deferred service loads the model now
            prompt = self._prompt(text, policy, context.history, grounding)
            generation, answer = await self._generate(prompt, policy, deadline)
            if answer and reveals(answer, self._system(policy)):
                # Asked (or tricked) into repeating its instructions: an agent looks instead.
                log.warning("a model reply repeated the system prompt; sending the fallback")
                answer = ""
            if generation is None or not answer:
                answer, source, flagged = FALLBACKS[policy.language], "fallback", True
        else:
            answer, source, flagged = UNSURE_NOTES[policy.language], "unsure", True
        adapter = generation.adapter if generation is not None and source == "model" else None
        latency_ms = round((time.perf_counter() - started) * 1000, 1)
        reply_id, message_id = await self._replies.submit(
            Outbound(
                chat_id=chat_id,
                customer_id=customer_id,
                text=answer,
                # "bilingual" is not a routing label; such a reply has no single language.
                language=policy.language if policy.language in LABELS else None,
                question_message_id=context.question_message_id,
                source=source,
                prompt=prompt if self.config.store_prompts else "",
                adapter_id=adapter.id if adapter else None,
                latency_ms=latency_ms,
                prompt_tokens=generation.prompt_tokens if generation else 0,
                completion_tokens=generation.completion_tokens if generation else 0,
                flagged=flagged,
            )
        )
        return Reply(
            text=answer,
            language=label,
            reply_language=policy.language,
            source=source,
            adapter=adapter.version if adapter else None,
            adapter_id=adapter.id if adapter else None,
            latency_ms=latency_ms,
            reply_id=reply_id,
            message_id=message_id,
            question_message_id=context.question_message_id,
            flagged=flagged,
            prompt_tokens=generation.prompt_tokens if generation else 0,
            completion_tokens=generation.completion_tokens if generation else 0,
        )

    def _ask_model(self, grounding: Grounding, known: bool) -> bool:
        """Whether the model answers a question no stored answer fits (else ``unsure``)."""
        if not known or grounding.small_talk or self.config.unsure == "model":
            return True
        if not grounding.related:
            return False
        related = self.config.related
        if related == "auto":
            # A starter model was not trained to read retrieved entries: it would invent.
            related = "handoff" if self.compact_prompt else "model"
        return related == "model"

    def _prompt(
        self, text: str, policy: ReplyPolicy, history: list[Turn], grounding: Grounding
    ) -> str:
        return build_prompt(
            text,
            language=policy.language,
            history=history,
            tokenizer=self.service.tokenizer,
            config=self.config.prompt,
            compact=self.compact_prompt,
            knowledge=[(e.question, e.answer) for e in grounding.related],
        )

    def _system(self, policy: ReplyPolicy) -> str:
        return system_prompt(policy.language, self.config.prompt, compact=self.compact_prompt)

    async def _generate(
        self, prompt: str, policy: ReplyPolicy, deadline: float | None = None
    ) -> tuple[Generation | None, str]:
        timeout_s = None if deadline is None else max(0.0, deadline - time.monotonic())
        try:
            generation = await self.service.generate(prompt, timeout_s=timeout_s)
        except GenerationError as exc:
            log.warning("no model reply (%s); sending the %s fallback", exc, policy.language)
            return None, ""
        return generation, generation.text

    # --- database work (runs in a worker thread) --------------------------------------------

    def _receive(self, session: Any, questions: list[Inbound]) -> list[_Context]:
        """Store a batch of questions (one per chat) and ground each; one transaction."""
        received = receive_many(session, questions, history=self.config.history_messages)
        self.memory.check(session)  # once for the batch
        known = len(self.memory.index) > 0
        contexts = []
        for question, got in zip(questions, received, strict=True):
            policy = reply_policy(question.language, got.preferred_language, got.last_language)
            grounding = (
                self.memory.lookup(question.text, register=policy.language, checked=True)
                if policy.note is None
                else Grounding()
            )
            history = [
                Turn("user" if m.direction == "in" else "assistant", m.text) for m in got.history
            ]
            contexts.append(_Context(got.message_id, policy, history, grounding, known))
        return contexts


def _chat_of(item: Inbound | Outbound) -> int:
    return item.chat_id


#: Words in a row that a reply may share with the system prompt before it counts as revealing
#: it. Six is longer than any phrase a normal answer shares with it ("customer service").
REVEAL_WORDS = 6


def reveals(answer: str, system: str, *, words: int = REVEAL_WORDS) -> bool:
    """True when ``answer`` repeats ``words`` consecutive words of ``system`` (or all of it).

    Compared on :func:`model.memory.comparable` text (normalized, punctuation dropped), so
    changed case, spacing or punctuation does not hide a copy.
    """
    size, grams = _grams(system, words)
    if size == 0:
        return False
    said = comparable(answer).split()
    return any(tuple(said[i : i + size]) in grams for i in range(len(said) - size + 1))


@functools.lru_cache(maxsize=32)
def _grams(system: str, words: int) -> tuple[int, frozenset[tuple[str, ...]]]:
    """The n-gram size and the n-grams of a system prompt (a few fixed texts: kept)."""
    secret = comparable(system).split()
    size = min(words, len(secret))
    return size, frozenset(tuple(secret[i : i + size]) for i in range(len(secret) - size + 1))


def describe(reply: Reply) -> dict[str, Any]:
    """The reply as ``uttor chat --json`` prints it."""
    return {
        "text": reply.text,
        "language": reply.language,
        "source": reply.source,
        "adapter": reply.adapter,
        "latency_ms": reply.latency_ms,
    }
