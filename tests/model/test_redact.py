"""Personal data becomes typed placeholders; everything else stays exactly as written."""

from __future__ import annotations

import pytest

from training.redact import find_pii, luhn_ok, redact


@pytest.mark.parametrize(
    "text",
    [
        "call 01711223344",
        "call 01711-223344",
        "call 0171 122 3344",
        "call +8801911223344",
        "call 8801511223344",
        "call 008801811223344",
        "call +88 01711223344",
        "কল করুন ০১৭১১২২৩৩৪৪",
        "কল করুন +৮৮০১৯১১২২৩৩৪৪",
        "নম্বর ০১৭১১-২২৩৩৪৪ তে",
    ],
)
def test_bangladeshi_mobile_numbers(text: str) -> None:
    result = redact(text)
    assert result.counts == {"<PHONE>": 1}, result
    assert "<PHONE>" in result.text
    assert not any(c.isdigit() for c in result.text)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("card 4111 1111 1111 1111 please", "<CARD>"),
        ("card 4111-1111-1111-1111", "<CARD>"),
        ("card 4111111111111111", "<CARD>"),
        ("amex 3782 822463 10005", "<CARD>"),
        ("কার্ড ৪১১১১১১১১১১১১১১১", "<CARD>"),
        ("mail rahim.k+shop@gmail.com now", "<EMAIL>"),
        ("NID 1234567890", "<NID>"),
        ("NID 19901234567890123", "<NID>"),
        ("এনআইডি ১৯৯০১২৩৪৫৬৭৮৯", "<NID>"),
        ("TrxID 9C4DXR7A2B", "<TRXID>"),
        ("trx id: 8N7A6D5C4B", "<TRXID>"),
        ("transaction number is 7HG5K3L2", "<TRXID>"),
        ("ট্রানজেকশন আইডি 8N7A6D5C", "<TRXID>"),
        ("paid, ref 9C4DXR7A2B", "<TRXID>"),
    ],
)
def test_each_kind_gets_its_placeholder(text: str, kind: str) -> None:
    result = redact(text)
    assert result.counts == {kind: 1}, result
    assert kind in result.text


def test_card_followed_by_more_digits_is_found_at_its_length() -> None:
    result = redact("card 4111 1111 1111 1111 2 pcs")
    assert result.text == "card <CARD> 2 pcs"


def test_luhn() -> None:
    assert luhn_ok("4111111111111111")
    assert luhn_ok("378282246310005")
    assert not luhn_ok("4111111111111112")


@pytest.mark.parametrize(
    "text",
    [
        "Order BG-10002345 is on the way",
        "Hotline 16789, 9 am to 9 pm",
        "৫,০০০ টাকার বেশি অর্ডারে ০% EMI",
        "Free delivery on 2,000 taka or more",
        "Refund in 7-10 working days; call 16789",
        "amar 2 ta order 25/11/2025 e dichilam",
        "transaction id please",
        "ORDERNOW campaign",
        "4111111111111112 is not a card",
    ],
)
def test_ordinary_text_is_untouched(text: str) -> None:
    assert redact(text).text == text


def test_allowlisted_strings_stay() -> None:
    text = "write to support@bazarghor.example or rahim@gmail.com"
    result = redact(text, allow=frozenset({"support@bazarghor.example"}))
    assert result.text == "write to support@bazarghor.example or <EMAIL>"


def test_several_kinds_in_one_message_keep_the_rest() -> None:
    text = "আমার নম্বর ০১৭১১২২৩৩৪৪, mail a@b.co, TrxID 9C4DXR7A2B — অর্ডার BG-10002345"
    result = redact(text)
    assert result.text == "আমার নম্বর <PHONE>, mail <EMAIL>, TrxID <TRXID> — অর্ডার BG-10002345"
    assert [kind for kind, _ in find_pii(text)] == ["<PHONE>", "<EMAIL>", "<TRXID>"]
