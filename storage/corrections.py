"""Agents' corrections and approvals of bot replies (handoffs are :mod:`storage.handoffs`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, aliased

from storage.conversations import reply_texts
from storage.errors import Conflict, InvalidValue, NotFound
from storage.models import MAX_ROW_ID, AuditLog, BotReply, Correction, Message
from storage.staff import audit

# Longer corrections are refused: an answer that long is a paste accident, not an answer.
MAX_CORRECTION_CHARS = 4000
#: Replies that are fixed notes, not answers: approving one would train the model to give the
#: note instead of answering.
UNAPPROVABLE_SOURCES = ("fallback", "system", "unsure")
PERSONAL_ACTION = "correction.personal"


@dataclass(frozen=True)
class CorrectedPair:
    """A question and the answer an agent wants instead; what memory and export read."""

    correction_id: int
    reply_id: int
    question: str
    answer: str
    language: str | None
    agent_user_id: int
    created_at: datetime
    personal: bool = False
    """For that reply only: retrieval never gives it to another customer; export still trains
    on it (redacted)."""


def add_correction(
    session: Session, *, reply_id: int, agent_user_id: int, text: str, personal: bool = False
) -> Correction:
    """Store an agent's corrected answer; earlier active corrections become superseded.

    ``personal``: the answer is for that customer only (their order, name, amount) and is never
    reused for another one; the bot decides the default from the text, the agent may overrule.
    """
    text = text.strip()
    if not text:
        raise InvalidValue("a correction needs the corrected answer text")
    if len(text) > MAX_CORRECTION_CHARS:
        raise InvalidValue(f"a correction is at most {MAX_CORRECTION_CHARS} characters")
    reply = session.get(BotReply, reply_id)
    if reply is None:
        raise NotFound(f"no reply with id {reply_id}")
    session.execute(
        update(Correction)
        .where(Correction.reply_id == reply_id, Correction.status == "active")
        .values(status="superseded")
    )
    correction = Correction(
        reply_id=reply_id, agent_user_id=agent_user_id, text=text, personal=personal
    )
    session.add(correction)
    reply.review = "corrected"
    session.flush()
    audit(
        session,
        actor_user_id=agent_user_id,
        action="correction.add",
        target_type="reply",
        target_id=str(reply_id),
        detail={"correction_id": correction.id, "chars": len(text), "personal": personal},
    )
    return correction


def set_personal(
    session: Session, *, correction_id: int, personal: bool, actor_user_id: int | None
) -> Correction:
    """Mark a correction personal (that reply only) or general (reusable); audited.

    The audit line is also what :func:`active_corrections_stamp` watches, so retrieval in
    every process drops or takes up the answer before the next question.
    """
    correction = session.get(Correction, correction_id) if correction_id <= MAX_ROW_ID else None
    if correction is None:
        raise NotFound(f"no correction with id {correction_id}")
    if correction.personal != personal:
        correction.personal = personal
        session.flush()
        audit(
            session,
            actor_user_id=actor_user_id,
            action=PERSONAL_ACTION,
            target_type="correction",
            target_id=str(correction_id),
            detail={"personal": personal, "reply_id": correction.reply_id},
        )
    return correction


@dataclass(frozen=True)
class Rejection:
    """What rejecting a correction changed."""

    correction_id: int
    reply_id: int
    agent_user_id: int
    was_active: bool
    """It was the answer in use: the reply is back in review (unreviewed and flagged)."""
    trained_in_run: int | None
    """The retrain run that already used the rejected correction, if any."""


def reject_correction(
    session: Session, *, correction_id: int, actor_user_id: int | None, reason: str = ""
) -> Rejection:
    """Withdraw a (for example poisoned) correction from memory and from future training.

    When it was its reply's active correction, the reply goes back to review (unreviewed and
    flagged) so that it shows up in ``/pending`` for an agent to answer again. Earlier,
    superseded corrections stay superseded: an agent decided against them once.
    """
    correction = session.get(Correction, correction_id) if correction_id <= MAX_ROW_ID else None
    if correction is None:
        raise NotFound(f"no correction with id {correction_id}")
    if correction.status == "rejected":
        raise Conflict(f"correction {correction_id} is already rejected")
    was_active = correction.status == "active"
    correction.status = "rejected"
    reply = session.get(BotReply, correction.reply_id)
    if was_active and reply is not None:
        reply.review, reply.flagged = "unreviewed", True
    session.flush()
    result = Rejection(
        correction_id=correction.id,
        reply_id=correction.reply_id,
        agent_user_id=correction.agent_user_id,
        was_active=was_active,
        trained_in_run=correction.retrain_run_id,
    )
    audit(
        session,
        actor_user_id=actor_user_id,
        action="correction.reject",
        target_type="correction",
        target_id=str(correction_id),
        detail={
            "reason": reason,
            "reply_id": result.reply_id,
            "agent_user_id": result.agent_user_id,
            "was_active": was_active,
        },
    )
    return result


@dataclass(frozen=True)
class AuditedCorrection:
    """A correction as the audit log recorded it, with its current state."""

    correction_id: int
    reply_id: int
    agent_user_id: int | None
    """Who wrote it, per the audit log."""
    created_at: datetime
    status: str
    text: str
    question: str
    trained_in_run: int | None
    personal: bool = False


def audited_corrections(
    session: Session,
    *,
    agent_user_id: int | None = None,
    status: str | None = None,
    limit: int = 20,
) -> list[AuditedCorrection]:
    """Corrections found through the audit log (``correction.add``), newest first.

    ``agent_user_id`` keeps one author's; ``status`` one state (``active``, ``superseded``,
    ``rejected``). The audit line names the author even if the correction row were altered.
    """
    query = (
        select(AuditLog)
        .where(AuditLog.action == "correction.add")
        .order_by(AuditLog.id.desc())
        .execution_options(yield_per=200)
    )
    if agent_user_id is not None:
        query = query.where(AuditLog.actor_user_id == agent_user_id)
    found: list[AuditedCorrection] = []
    for line in session.scalars(query):
        correction_id = (line.detail or {}).get("correction_id")
        correction = session.get(Correction, correction_id) if correction_id else None
        if correction is None or (status is not None and correction.status != status):
            continue
        question, _ = reply_texts(session, reply_id=correction.reply_id)
        found.append(
            AuditedCorrection(
                correction_id=correction.id,
                reply_id=correction.reply_id,
                agent_user_id=line.actor_user_id,
                created_at=line.created_at,
                status=correction.status,
                text=correction.text,
                question=question,
                trained_in_run=correction.retrain_run_id,
                personal=correction.personal,
            )
        )
        if len(found) >= limit:
            break
    return found


def approve_reply(session: Session, *, reply_id: int, agent_user_id: int) -> BotReply:
    """Mark a reply as a good answer (it becomes training material).

    Refused (Conflict) for a fixed note (fallback, system, unsure: not an answer to learn) and
    for a corrected reply (its wrong answer would become training data next to the fix).
    """
    reply = session.get(BotReply, reply_id) if reply_id <= MAX_ROW_ID else None
    if reply is None:
        raise NotFound(f"no reply with id {reply_id}")
    if reply.source in UNAPPROVABLE_SOURCES:
        raise Conflict(
            f"reply #{reply_id} is a fixed {reply.source} note, not an answer to approve; "
            f"correct it with the answer instead"
        )
    if reply.review == "corrected":
        raise Conflict(f"reply #{reply_id} has a correction already; nothing changed")
    reply.review = "approved"
    reply.flagged = False
    session.flush()
    audit(
        session,
        actor_user_id=agent_user_id,
        action="reply.approve",
        target_type="reply",
        target_id=str(reply_id),
    )
    return reply


def active_corrections(session: Session) -> list[CorrectedPair]:
    """Every active correction with the question it answers, oldest first."""
    question = aliased(Message)
    rows = session.execute(
        select(Correction, question.text, question.language)
        .join(BotReply, BotReply.id == Correction.reply_id)
        .join(question, question.id == BotReply.question_message_id)
        .where(Correction.status == "active")
        .order_by(Correction.created_at, Correction.id)
    ).all()
    return [
        CorrectedPair(
            correction_id=c.id,
            reply_id=c.reply_id,
            question=text,
            answer=c.text,
            language=language,
            agent_user_id=c.agent_user_id,
            created_at=c.created_at,
            personal=c.personal,
        )
        for c, text, language in rows
    ]


def mark_corrections_used(session: Session, *, correction_ids: Sequence[int], run_id: int) -> int:
    """Record which retrain run trained on (or tested with) these corrections."""
    if not correction_ids:
        return 0
    result = session.execute(
        update(Correction).where(Correction.id.in_(correction_ids)).values(retrain_run_id=run_id)
    )
    return int(result.rowcount or 0)


def approved_pairs(session: Session) -> list[tuple[str, str, str | None]]:
    """(question, answer, language) of replies agents approved."""
    question, answer = aliased(Message), aliased(Message)
    rows = session.execute(
        select(question.text, answer.text, question.language)
        .select_from(BotReply)
        .join(question, question.id == BotReply.question_message_id)
        .join(answer, answer.id == BotReply.message_id)
        .where(BotReply.review == "approved")
        .order_by(BotReply.id)
    ).all()
    return [(q, a, lang) for q, a, lang in rows]


def active_corrections_stamp(session: Session) -> tuple[int, int, int]:
    """(count, highest id, latest personal/general change) of active corrections.

    Corrections only ever leave the active state and new ones get higher ids, so count and
    highest id change with the active set; a correction marked personal or general in place
    changes neither, so the newest such audit line is part of the stamp too. Retrieval
    compares it before each question and reloads on a change.
    """
    count, top, flip = session.connection().execute(_STAMP).one()
    return int(count), int(top or 0), int(flip or 0)


# Built once: the stamp is read for every batch of questions answered.
_STAMP = select(
    func.count(Correction.id),
    func.max(Correction.id),
    select(func.max(AuditLog.id)).where(AuditLog.action == PERSONAL_ACTION).scalar_subquery(),
).where(Correction.status == "active")


def count_untrained_corrections(session: Session) -> int:
    """Active corrections no retrain run has used yet (waiting for the next retrain)."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(Correction)
            .where(Correction.status == "active", Correction.retrain_run_id.is_(None))
        )
        or 0
    )
