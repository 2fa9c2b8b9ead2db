"""Database pairs with what the customer was served: the stored prompt, or what serving would
have built.

Training on a history-free prompt rebuilt from the question (with a language detected afresh)
teaches the adapter a different input from the one it answers at serving time: there the
prompt carries the chat's recent turns, the reply-language instruction the policy chose (a
customer's preference included) and, once retrieval feeds the model, retrieved entries.
So every database pair carries:

* ``prompt`` — the prompt the model was actually given (``bot_replies.prompt``, stored when
  ``store_prompts`` is on), for approved model replies and corrections of them;
* ``reply_language`` — the reply language stored with the answer (never detected again from
  the question), and ``history`` — the chat's turns before the question, as serving reads
  them. A reply that had no model prompt (memory, knowledge, a fixed note) and an agent's
  answer during a handoff get the prompt serving would have built from these two
  (:func:`training.train.example_prompt` builds it with the training tokenizer).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from model.config import PipelineConfig
from model.prompting import Turn
from model.text.langid import detect
from model.text.languages import LABELS, REGISTERS
from model.text.policy import reply_policy
from storage.corrections import UNAPPROVABLE_SOURCES, active_corrections
from storage.handoffs import handoff_answers
from storage.models import BotReply, Message

__all__ = ["Taught", "taught_pairs"]


@dataclass(frozen=True)
class Taught:
    """A question and the answer agents stand behind, with what the customer was served."""

    question: str
    answer: str
    source: str
    """``approved``, ``handoff`` or ``correction``."""
    language: str | None
    """Routed label of the question, as stored."""
    reply_language: str
    """The reply language of the answer as served (``bn``…``mixed`` or ``bilingual``)."""
    prompt: str
    """The prompt the model was given; empty when the reply had none (or none was stored)."""
    history: tuple[Turn, ...]
    """The chat's turns before the question, oldest first."""
    correction_id: int | None = None


def taught_pairs(session: Session, *, history_messages: int | None = None) -> list[Taught]:
    """Approved replies, handoff answers, then active corrections, each oldest first."""
    limit = PipelineConfig().history_messages if history_messages is None else history_messages
    pairs = _approved(session, limit)
    for answer in handoff_answers(session):
        pairs.append(
            Taught(
                question=answer.question,
                answer=answer.answer,
                source="handoff",
                language=answer.question_language,
                reply_language=_reply_language(
                    answer.answer_language, answer.question_language, answer.question
                ),
                prompt="",
                history=_history(session, answer.question_message_id, limit),
            )
        )
    for correction in active_corrections(session):
        reply = session.get(BotReply, correction.reply_id)
        said = session.get(Message, reply.message_id) if reply is not None else None
        question_id = reply.question_message_id if reply is not None else None
        pairs.append(
            Taught(
                question=correction.question,
                answer=correction.answer,
                source="correction",
                language=correction.language,
                reply_language=_reply_language(
                    said.language if said is not None else None,
                    correction.language,
                    correction.question,
                ),
                prompt=reply.prompt if reply is not None else "",
                history=_history(session, question_id, limit) if question_id else (),
                correction_id=correction.correction_id,
            )
        )
    return pairs


def _approved(session: Session, limit: int) -> list[Taught]:
    question, answer = aliased(Message), aliased(Message)
    rows = session.execute(
        select(
            question.id, question.text, question.language, answer.text, answer.language, BotReply
        )
        .select_from(BotReply)
        .join(question, question.id == BotReply.question_message_id)
        .join(answer, answer.id == BotReply.message_id)
        # Fixed notes are not answers: storage refuses to approve them, and even an approval an
        # old database still holds never trains.
        .where(BotReply.review == "approved", BotReply.source.not_in(UNAPPROVABLE_SOURCES))
        .order_by(BotReply.id)
    ).all()
    return [
        Taught(
            question=q_text,
            answer=a_text,
            source="approved",
            language=q_language,
            reply_language=_reply_language(a_language, q_language, q_text),
            prompt=reply.prompt,
            history=_history(session, q_id, limit),
        )
        for q_id, q_text, q_language, a_text, a_language, reply in rows
    ]


def _history(session: Session, question_message_id: int, limit: int) -> tuple[Turn, ...]:
    """The ``limit`` messages of the chat before the question, as serving reads them.

    Serving reads the chat's last messages just before it stores the question
    (:mod:`model.pipeline`); ids grow with time, so "before" is a smaller id.
    """
    question = session.get(Message, question_message_id)
    if question is None or limit <= 0:
        return ()
    earlier = session.scalars(
        select(Message)
        .where(Message.chat_id == question.chat_id, Message.id < question.id)
        .order_by(Message.id.desc())
        .limit(limit)
    ).all()
    return tuple(
        Turn("user" if m.direction == "in" else "assistant", m.text) for m in reversed(earlier)
    )


def _reply_language(answer: str | None, question: str | None, text: str) -> str:
    """The stored reply language; else the policy's choice for the stored question label.

    Serving stores the reply language on the answer message (a ``bilingual`` reply has no
    single label and stores none); only a question stored without a label is detected again.
    """
    if answer in REGISTERS:
        return answer
    label = question if question in LABELS else detect(text).label
    return reply_policy(label).language
