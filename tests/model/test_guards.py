"""Reuse guards: what changes an answer must agree, in every register (sentences written here)."""

from __future__ import annotations

import pytest

from model.guards import agree, looks_personal
from model.text.entities import goods, instruments, negations, numbers, places, regions

# (register, stored question, new question, reason the stored answer must not be reused)
REFUSED = [
    # negation
    ("bn", "পার্সেলটা হাতে পেয়েছি", "পার্সেলটা এখনো হাতে পাইনি", "negation"),
    ("bn", "অ্যাপে লগইন হচ্ছে", "অ্যাপে লগইন হচ্ছে না", "negation"),
    ("bn", "ডেলিভারি চার্জ আছে?", "ডেলিভারি চার্জ নেই?", "negation"),
    ("en", "The courier called me", "The courier never called me", "negation"),
    ("en", "My cashback was added", "My cashback wasn't added", "negation"),
    ("en", "Which items can I return?", "Which items can I not return?", "negation"),
    ("banglish", "parcel ta peyechi", "parcel ta pai nai ekhono", "negation"),
    ("banglish", "otp ashche", "otp asheni", "negation"),
    ("banglish", "card e payment hoy", "card e payment hoy na", "negation"),
    ("banglish", "order cancel korte parchi na", "order cancel korte chai na", "negation"),
    ("mixed", "Refund টা পেয়েছি", "Refund টা এখনো পাইনি", "negation"),
    ("mixed", "App এ login হচ্ছে", "App এ login হচ্ছে না", "negation"),
    ("mixed", "Promo code কাজ করছে", "Promo code কাজ করছে না", "negation"),
    # numbers: amounts, days, order ids, phone numbers
    ("bn", "১২ হাজার টাকার অর্ডারে ইএমআই হবে?", "২২ হাজার টাকার অর্ডারে ইএমআই হবে?", "number"),
    ("bn", "৪ দিন আগে পণ্য পেয়েছি, ফেরত হবে?", "১৪ দিন আগে পণ্য পেয়েছি, ফেরত হবে?", "number"),
    ("bn", "বিজি-৬১২৩৪৫৭৮ অর্ডার কোথায়?", "বিজি-৬১২৩৪৫৮৭ অর্ডার কোথায়?", "number"),
    ("en", "Free delivery on 2,200 taka?", "Free delivery on 1,200 taka?", "number"),
    ("en", "Where is BG-72001234?", "Where is BG-72001243?", "number"),
    ("en", "Is 01819876543 your number?", "Is 01819876534 your number?", "number"),
    ("banglish", "3 hajar takar jinish ferot dibo", "13 hajar takar jinish ferot dibo", "number"),
    ("banglish", "BG-81234567 er status ki?", "BG-81234576 er status ki?", "number"),
    ("banglish", "01712000111 e call den", "01712000222 e call den", "number"),
    ("mixed", "৭০০ টাকার cart এ free delivery?", "৭০০০ টাকার cart এ free delivery?", "number"),
    ("mixed", "BG-93456712 এর refund কবে?", "BG-93456721 এর refund কবে?", "number"),
    ("mixed", "OTP ৩ মিনিট আগে এসেছে", "OTP ১৩ মিনিট আগে এসেছে", "number"),
    # places (delivery regions)
    ("bn", "বনানীতে ডেলিভারি কত দিনে?", "রাজশাহীতে ডেলিভারি কত দিনে?", "place"),
    ("bn", "খুলনা শহরে পাঠাতে কত দিন?", "খুলনার এক গ্রামে পাঠাতে কত দিন?", "place"),
    ("en", "Do you deliver to Sylhet?", "Do you deliver to Dubai?", "place"),
    ("en", "Delivery fee for Gulshan?", "Delivery fee for Comilla?", "place"),
    ("banglish", "mirpur e delivery charge koto", "feni te delivery charge koto", "place"),
    ("banglish", "rajshahi shohore koydin lage", "rajshahi er remote upazila te koydin", "place"),
    ("mixed", "Uttara তে delivery কবে?", "Kushtia তে delivery কবে?", "place"),
    ("mixed", "ঢাকার ভেতরে charge কত?", "ঢাকার বাইরে charge কত?", "place"),
    # payment instruments and goods
    ("bn", "বিকাশে রিফান্ড কবে আসবে?", "কার্ডে রিফান্ড কবে আসবে?", "instrument"),
    ("bn", "শার্টটা ফেরত দেওয়া যাবে?", "লিপস্টিকটা ফেরত দেওয়া যাবে?", "goods"),
    ("en", "Can I top up with Rocket?", "Can I top up with a card?", "instrument"),
    ("en", "Can I return these sneakers?", "Can I return this honey?", "goods"),
    ("banglish", "nagad e refund kobe ashbe", "bkash e refund kobe ashbe", "instrument"),
    ("banglish", "laptop er warranty ache?", "perfume er warranty ache?", "goods"),
    ("mixed", "Nagad দিয়ে EMI হবে?", "Visa card দিয়ে EMI হবে?", "instrument"),
    ("mixed", "Jeans টা return করা যাবে?", "Gift voucher টা return করা যাবে?", "goods"),
    # a negation beside the point elsewhere in the question still counts when what it negates
    # is what the stored question speaks of
    ("banglish", "sms ashche kintu app khulche na", "sms ashe nai tai app khulche na", "negation"),
    ("bn", "কুরিয়ার চলে গেছে, ঠিকানা বদলানো যাবে?", "কুরিয়ার এখনো যায়নি, ঠিকানা বদলানো যাবে?", "negation"),
]

# (register, stored question, new question): a negation in one question about something the
# other never speaks of (the customer's circumstances) leaves the question the same.
INCIDENTAL = [
    (
        "banglish",
        "exchange korar shomoy koto din?",
        "size ta mile nai, exchange korar shomoy koto din",
    ),
    ("bn", "পয়েন্ট থেকে নিলে কত খরচ?", "অফিসে না পাঠিয়ে কাছের পয়েন্ট থেকে নিলে কত খরচ"),
    (
        "en",
        "How long does a refund take?",
        "The colour wasn't what I expected. How long does a refund take?",
    ),
    ("mixed", "Warranty claim কীভাবে করব?", "Phone টা চালু হচ্ছে না, warranty claim কীভাবে করব?"),
    # A Bangla negation ends its clause, comma or not: "kobe ferot pabo" is a new statement.
    (
        "banglish",
        "payment fail hole taka ferot pete koto din lage?",
        "taka kete nise order hoy nai kobe ferot pabo",
    ),
    # Two-letter skeletons do not meet by their beginnings: পেয়েছি ("pc") is not পছন্দ ("pcnd").
    ("mixed", "Color পছন্দ হয়নি, return করা যাবে?", "Parcel টা পেয়েছি, return করা যাবে?"),
]

# (register, stored question, new question): rephrasings whose stored answer is right.
AGREED = [
    ("bn", "রিফান্ড কবে পাব?", "আমার রিফান্ড কবে পাব ভাই?"),
    ("bn", "১৮ হাজার টাকার অর্ডারে কি ক্যাশ অন ডেলিভারি হবে?", "১৮০০০ টাকার অর্ডারে ক্যাশ অন ডেলিভারি হবে?"),
    ("bn", "ঢাকায় ডেলিভারি চার্জ কত?", "ঢাকাতে ডেলিভারি চার্জ কত?"),
    ("en", "I haven't received my parcel", "I have not received my parcel"),
    ("en", "Is a 19,000 taka order ok for COD?", "Is a 19000 tk order ok for COD?"),
    ("en", "Where is BG-10002345?", "where is my order bg-10002345"),
    ("banglish", "parcel ashe nai", "parcel ekhono asheni"),
    ("en", "I don't want the order", "I do not want the order"),
    ("banglish", "17 hajar takar order e cod hobe?", "17000 tk er order e cod hobe?"),
    ("banglish", "dhakay delivery charge koto", "dhaka te delivery charge koto"),
    ("mixed", "Refund আসেনি এখনো", "এখনো refund আসেনি"),
    ("mixed", "BG-10664203 কোথায়?", "BG-১০৬৬৪২০৩ কোথায়?"),
    ("mixed", "bKash এ refund কবে?", "বিকাশে refund কবে?"),
    # One negation said two ways: "no X was placed" negates X, "X not placed" the verb.
    ("en", "No order was placed but my card was charged", "Card charged, order not placed"),
]


@pytest.mark.parametrize(("register", "stored", "asked", "reason"), REFUSED)
def test_a_difference_that_changes_the_answer_is_refused(
    register: str, stored: str, asked: str, reason: str
) -> None:
    verdict = agree(asked, stored)
    assert not verdict and verdict.reason == reason, (register, verdict)
    assert not agree(stored, asked)  # both ways
    assert not agree(asked, stored, general=True) or reason in ("place", "instrument", "goods")


@pytest.mark.parametrize(("register", "stored", "asked"), AGREED)
def test_rephrasings_agree(register: str, stored: str, asked: str) -> None:
    assert agree(asked, stored), (register, agree(asked, stored))


@pytest.mark.parametrize(("register", "stored", "asked"), INCIDENTAL)
def test_a_negation_beside_the_point_agrees(register: str, stored: str, asked: str) -> None:
    assert agree(asked, stored), (register, agree(asked, stored))
    assert agree(stored, asked), register  # both ways


def test_every_register_is_covered_by_both_tables() -> None:
    for table in (REFUSED, AGREED, INCIDENTAL):
        assert {row[0] for row in table} == {"bn", "en", "banglish", "mixed"}
    assert {row[3] for row in REFUSED} == {"negation", "number", "place", "instrument", "goods"}


def test_a_general_knowledge_question_covers_a_specific_one() -> None:
    # "ডেলিভারি চার্জ কত?" is answered with every fee: it answers a question naming a town.
    assert agree("খুলনায় ডেলিভারি চার্জ কত?", "ডেলিভারি চার্জ কত?", general=True)
    assert not agree("খুলনায় ডেলিভারি চার্জ কত?", "ডেলিভারি চার্জ কত?")  # a correction
    # A stored question naming several instruments covers one of them, not another.
    assert agree("rocket e refund kobe?", "bkash, nagad ba rocket e refund kobe?")
    assert not agree("card e refund kobe?", "bkash, nagad ba rocket e refund kobe?")
    # The general rule covers an amount too: "emi hobe?" is answered with the EMI rule. It
    # does not lift a negation, nor a different amount, and a correction needs the same ones.
    assert agree("5000 takar order e emi?", "emi hobe?", general=True)
    assert not agree("5000 takar order e emi?", "emi hobe?")
    assert not agree("5000 takar order e emi?", "3000 takar order e emi hobe?", general=True)
    assert not agree("emi hobe na?", "emi hobe?", general=True)


def test_a_negated_circumstance_told_before_the_question_does_not_change_it() -> None:
    # A statement, then a question of its own: the negation tells the customer's situation.
    told = "I can't find the EMI option on my cart page. What is the minimum amount for EMI?"
    assert agree(told, "What's the minimum order amount for EMI?")
    assert agree(told.replace(". W", ", w"), "What's the minimum order amount for EMI?")
    assert agree("পয়েন্টে যেতে পারব না, পার্সেল কত দিন রাখে?", "পার্সেল কত দিন রাখে?")
    # Not in one clause, not when the stored question uses the negated word, not when it is
    # itself more than one plain clause.
    assert not agree("EMI option dekhay na minimum koto?", "EMI minimum koto?")
    assert not agree("I never got my refund. What now?", "I got my refund, what now?")
    assert not agree(
        "I don't want to cancel my order. What should I do?",
        "I want to cancel my order. What should I do?",
    )
    assert not agree(
        "amar order ta cancel korte chai na. ki korbo?", "cancel korte chai, ki korbo?"
    )


def test_an_agents_answer_keeps_its_place_names() -> None:
    # Same region, different area: a correction written for Mirpur is not reused for Badda.
    assert not agree("Badda te parcel kobe?", "Mirpur e parcel kobe?")
    assert agree("Badda te parcel kobe?", "Mirpur e parcel kobe?", general=True)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("১৮ হাজার টাকা", ["18000"]),
        ("17 hajar", ["17000"]),
        ("5k taka", ["5000"]),
        ("1,00,000 tk", ["100000"]),
        ("২ লাখ", ["200000"]),
        ("দুই দিন আগে", ["2"]),
        ("five days ago", ["5"]),
        ("ekta parcel, a parcel", []),
        ("বিজি-১০৪৮২৭৫৬", ["10482756"]),
        ("call 01711-223344", ["1711", "223344"]),
    ],
)
def test_numbers(text: str, expected: list[str]) -> None:
    assert numbers(text) == sorted(expected)


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("আমি পাইনি", 1),
        ("ফেরত দেওয়া যাবে কিনা জানাবেন", 0),  # "কিনা" is "whether"
        ("কেনা জুতাটা পছন্দ হয়নি", 1),  # "কেনা" is "bought"
        ("চিনি ফেরত দেওয়া যায়?", 0),  # "চিনি" is sugar
        ("I don't know and I never asked", 2),
        ("order no 5 please", 0),  # "no" before a number is "number"
        ("ashe nai, parchi na", 2),
        ("parbona", 1),
        ("company theke call dise", 0),
    ],
)
def test_negations(text: str, count: int) -> None:
    assert negations(text) == count


def test_places_instruments_and_goods() -> None:
    assert places("Dhaka-তে থাকি") == {"dhaka"} == places("ঢাকায় থাকি") == places("dhakay thaki")
    assert places("Chittagong") == places("চট্টগ্রাম") == {"chattogram"}
    # A name that ends like a case ending keeps it under the one glued on ("উত্তরা-য়").
    assert places("উত্তরায় থাকি") == {"uttara"} == places("uttaray thaki")
    assert regions("রামপুরায় অফিস") == {"dhaka"}
    assert regions("ঢাকার বাইরে") == {"district"} == regions("Sylhet")
    assert regions("a remote upazila of Bogura") == {"remote"}
    assert regions("Kolkata") == {"abroad"}
    assert instruments("বিকাশ বা Nagad") == {"bkash", "nagad"}
    assert instruments("credit card") == {"card"} == instruments("ডেবিট কার্ড")
    # A debit SMS or a cashback credited is no card.
    assert not instruments("bKash sent a debit SMS") - {"bkash"}
    assert not instruments("the cashback was credited")
    # A bank beside a card issued or charged it; alone it is a bank transfer.
    assert instruments("partner bank er card e kisti") == {"card"}
    assert instruments("ডেবিট কার্ডে দিলাম, ব্যাংক টাকা কেটে নিল") == {"card"}
    assert instruments("bank transfer kore dite pari?") == {"bank"}
    assert goods("golper boi") == {"book"} and goods("chal") == {"food"}
    assert goods("When will my order arrive?") == set()  # "will" is no "oil"


@pytest.mark.parametrize(
    ("answer", "personal"),
    [
        ("Rahim bhai, apnar BG-10002345 order kal pouchabe.", True),
        ("আপনার নম্বর ০১৭১১২২৩৩৪৪ এ কল করা হবে।", True),
        ("We emailed rahim.uddin@gmail.com the invoice.", True),
        ("Delivery inside Dhaka costs 60 taka.", False),
        ("হটলাইন ১৬৭৮৯-এ কল করুন।", False),
        ("Dear Nasrin, your parcel left the hub today.", True),
        ("COD chole 20,000 taka porjonto order e.", False),
    ],
)
def test_personal_answers_are_recognised(answer: str, personal: bool) -> None:
    assert looks_personal(answer) is personal


def test_the_companys_own_contacts_are_not_personal() -> None:
    answer = "Write to help@bazarghor.example and we will sort it out."
    assert looks_personal(answer)
    assert not looks_personal(answer, allow=frozenset({"help@bazarghor.example"}))


def test_a_yes_or_no_is_dropped_where_the_two_questions_differ_in_negation() -> None:
    from model.guards import without_polar_opening

    stored = "Is there any district where you don't deliver?"
    answer = "No, Bazarghor delivers to all 64 districts."
    assert without_polar_opening("Do you deliver to every district?", stored, answer) == (
        "Bazarghor delivers to all 64 districts."
    )
    assert without_polar_opening("Any district you do not deliver to?", stored, answer) == answer
    bn = "না, বাজারঘর দেশের ৬৪টি জেলাতেই ডেলিভারি দেয়।"
    asked = "সব জেলায় কি পাঠান?"
    assert without_polar_opening(asked, "কোনো জেলা আছে যেখানে দেন না?", bn) == bn[3:].lstrip()
    # A yes or no given for no amount is no answer for one ("Yes" to a 35,000 taka COD order).
    cod = "Yes, cash on delivery is available for orders up to 20,000 taka."
    assert without_polar_opening("COD for a 35,000 taka fridge?", "Is COD available?", cod) == (
        "Cash on delivery is available for orders up to 20,000 taka."
    )
    assert without_polar_opening("Is COD available?", "Can I pay COD?", cod) == cod
    # An answer that does not open with yes or no stays as it is.
    plain = "Bazarghor delivers to all 64 districts."
    assert without_polar_opening("Do you deliver everywhere?", stored, plain) == plain


def test_zero_percent_names_an_offer_not_an_amount() -> None:
    from model.text.entities import numbers

    assert numbers("what tenures do you offer for 0% emi") == []
    assert numbers("০% ইএমআই কত মাসের?") == []
    assert numbers("2% cashback") == ["2"] and numbers("0 taka") == ["0"]
    assert agree("0% installment plan e koto masher option?", "EMI koto masher?", general=True)


def test_a_payment_that_did_not_go_through_is_a_failure_not_a_negation() -> None:
    from model.text.entities import negations

    assert negations("bKash charged me but the order never went through") == 0
    assert negations("payment didn't go thru") == 0
    assert negations("I did not get it") == 1


def test_a_negated_order_is_a_failed_one() -> None:
    # "order confirm hoyni" and "order fail" say one thing; "fail hoy nai" says the opposite.
    stored = "card theke taka katse, order confirm hoyni. taka kobe ferot pabo?"
    assert agree("card theke taka katse kintu order fail, kobe ferot ashbe?", stored, general=True)
    assert not agree("payment fail hoy nai", "payment fail hoise")
    assert not agree("order hoyni", "order hoise")
