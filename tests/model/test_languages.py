"""The language set is spelled once for the code above storage/, and storage's copy matches it."""

from __future__ import annotations

from typing import get_args

from model.text import langid, policy
from model.text.languages import LABELS, PREFERRED, REGISTERS, Label, Preferred, Register
from storage import models


def test_the_sets_nest_in_the_documented_order() -> None:
    assert LABELS == ("bn", "en", "banglish", "mixed", "other", "und")
    assert LABELS[:4] == REGISTERS
    assert REGISTERS[:3] == PREFERRED
    assert (get_args(Label), get_args(Register), get_args(Preferred)) == (
        LABELS,
        REGISTERS,
        PREFERRED,
    )


def test_storage_keeps_the_same_labels() -> None:
    # storage/ imports nothing of ours, so it spells the set itself; the two must not drift.
    assert models.LANGUAGES == LABELS
    assert models.REGISTERS == REGISTERS
    assert models.PREFERRED_LANGUAGES == PREFERRED


def test_routing_and_the_reply_policy_use_the_same_labels() -> None:
    assert langid.LANGS == LABELS and get_args(langid.Lang) == LABELS
    assert policy.PREFERENCES[1:] == PREFERRED and policy.PREFERENCES[0] == "auto"
    assert get_args(policy.ReplyLang) == (*REGISTERS, "bilingual")
    assert set(policy.INSTRUCTIONS) == {*REGISTERS, "bilingual"}
