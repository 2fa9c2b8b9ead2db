"""The small pieces under the handlers: splitting, the rate limit, token masking."""

from __future__ import annotations

import logging

import pytest

from bot.ratelimit import Verdict, judge
from bot.sending import split_text, utf16_len
from storage.inbox import RateWindow
from wiring.logs import MASK, install_token_masking, mask_tokens

TOKEN = "987654321:AAHx-very_secret_token_value_0123456789ab"


def test_short_text_is_one_chunk() -> None:
    assert split_text("  আমার অর্ডার কবে আসবে?  ") == ["আমার অর্ডার কবে আসবে?"]
    assert split_text("   ") == []


def test_long_text_splits_at_boundaries_within_the_limit() -> None:
    paragraph = "আপনার অর্ডারটি আগামীকাল পৌঁছাবে। " * 40
    text = "\n\n".join([paragraph.strip()] * 6)
    chunks = split_text(text)
    assert len(chunks) > 1
    assert all(utf16_len(chunk) <= 4096 for chunk in chunks)
    # Nothing lost or reordered: only the whitespace at the cuts is gone.
    assert " ".join(" ".join(chunks).split()) == " ".join(text.split())
    assert all(chunk.endswith("।") for chunk in chunks)  # cut between sentences


def test_emoji_count_double_and_words_without_spaces_are_cut_cleanly() -> None:
    emoji = "😀" * 3000  # 6000 UTF-16 units in 3000 characters
    chunks = split_text(emoji)
    assert [utf16_len(c) for c in chunks] == [4096, 6000 - 4096]
    word = "কি" * 3000  # no space anywhere: a hard cut, never between a letter and its sign
    chunks = split_text(word)
    assert "".join(chunks) == word
    assert all(not chunk.startswith("ি") for chunk in chunks)


def test_rate_limit_verdicts() -> None:
    # Counting the window is the inbox's (tests/storage/test_inbox.py); judging is this.
    assert judge(RateWindow(allowed=1, noted=False), per_minute=2) is Verdict.ALLOW
    assert judge(RateWindow(allowed=2, noted=False), per_minute=2) is Verdict.NOTE
    assert judge(RateWindow(allowed=2, noted=True), per_minute=2) is Verdict.DROP
    assert judge(RateWindow(allowed=0, noted=True), per_minute=2) is Verdict.ALLOW


def test_tokens_are_masked_in_messages_arguments_and_tracebacks(
    caplog: pytest.LogCaptureFixture,
) -> None:
    install_token_masking()
    log = logging.getLogger("tests.masking")
    with caplog.at_level(logging.INFO, logger="tests.masking"):
        log.info("POST https://api.telegram.org/bot%s/getMe", TOKEN)
        try:
            raise RuntimeError(f"request to /bot{TOKEN}/sendMessage failed")
        except RuntimeError:
            log.exception("network error")
    assert TOKEN not in caplog.text and TOKEN.split(":")[1] not in caplog.text
    assert caplog.text.count(MASK) >= 2
    assert mask_tokens("chat 123456: hello") == "chat 123456: hello"  # not everything is a token
