"""Which agents' answers are for one customer only (the default of a correction's flag)."""

from __future__ import annotations

import pytest

from model.text.personal import personal_reasons

COMPANY = frozenset({"support@bazarghor.example"})


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        ("Your order BG-10002345 left our warehouse today.", ["an order id"]),
        ("আপনার অর্ডার নং ৪৫২১৩ পাঠানো হয়েছে।", ["an order id"]),
        ("Dear Rahim, the parcel is on its way.", ["a name"]),
        ("Mr. Hasan, we have sent the replacement.", ["a name"]),
        ("Salma apu, apnar refund process hocche.", ["a name"]),
        ("প্রিয় সালমা, আপনার রিফান্ড প্রক্রিয়াধীন।", ["a name"]),
        ("রহিম ভাই, কাল ডেলিভারি হবে।", ["a name"]),
        ("We refunded Tk 1,250 to your bKash.", ["an amount"]),
        ("আপনার ৫০০ টাকা ফেরত পাঠানো হয়েছে।", ["an amount"]),
        ("500/- cashback apnar account e jabe.", ["an amount"]),
        ("Delivery costs 60 taka inside Dhaka.", ["an amount"]),
        ("We will call you at 01711-223344 tomorrow.", ["a phone number"]),
        ("Write to rahim.uddin@gmail.com for the invoice.", ["an e-mail address"]),
    ],
)
def test_personal_texts(text: str, kinds: list[str]) -> None:
    assert [r.kind for r in personal_reasons(text, allow=COMPANY)] == kinds


@pytest.mark.parametrize(
    "text",
    [
        "Open Settings, then Account, then Reset password.",
        "Yes, cash on delivery is available everywhere.",
        "Hi there, returns are accepted within 7 days of delivery.",
        "Dear customer, our hotline 16789 is open 9am to 9pm.",
        "প্রিয় গ্রাহক, আমাদের হটলাইন ১৬৭৮৯।",
        "জি ভাই, ক্যাশ অন ডেলিভারি আছে।",
        "Ok bhai, order track korte app e My Orders e jan.",
        "Thanks Bhai, apnar feedback amra dekhbo.",
        "Write to support@bazarghor.example with a photo of the product.",
        "Delivery takes 2-3 days outside Dhaka.",
    ],
)
def test_general_texts(text: str) -> None:
    assert personal_reasons(text, allow=COMPANY) == []


def test_the_customers_own_name_makes_it_personal() -> None:
    text = "karim, apnar parcel ready ache."
    assert personal_reasons(text) == []
    (reason,) = personal_reasons(text, customer_names=["Karim Uddin", "karim_88"])
    assert (reason.kind, reason.text) == ("a name", "karim")
    # Short name parts ("Md") would match inside ordinary words, so they do not count.
    assert personal_reasons("Md order status", customer_names=["Md Ali"]) == []
