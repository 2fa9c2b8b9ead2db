"""Customer-service words across scripts: one concept for the English, Banglish and Bengali words.

Transliteration (:mod:`model.text.translit`) already brings ``refund`` and ``রিফান্ড``
together; what it cannot do is tell that ``cancel`` is ``বাতিল``, ``when`` is ``kobe`` or
``how long`` is ``কত দিন``. These groups do: every spelling of one group maps to the group's
name, and retrieval compares those names besides the words. The groups hold the vocabulary of
an online shop's customer service (orders, delivery, payment, returns, wallet, account) and of
small talk, in the spellings customers use; keep them general, never tuned to one sentence.

Also here, for the reuse guards (:mod:`model.guards`): place names with the delivery region each
belongs to, and the payment instruments and kinds of goods that change an answer.
"""

from __future__ import annotations

__all__ = ["CONCEPTS", "GOODS", "INSTRUMENTS", "PLACES", "REGION_WORDS", "STOP_WORDS"]


def _groups(block: str) -> dict[str, tuple[str, ...]]:
    """``name: spelling, spelling…`` groups into a dict; a spelling may hold spaces, and a
    group may go on over indented lines that start without a name (a line that does not end
    with a comma goes on with the same spelling)."""
    text: dict[str, str] = {}
    name = ""
    for line in block.strip().splitlines():
        head, colon, rest = line.strip().partition(":")
        if colon and head.isidentifier():
            name, line = head, rest
            text[name] = line
            continue
        # A spelling wrapped over two lines ("ar" / "lagbe na") is one spelling.
        text[name] = f"{text[name]} {line.strip()}"
    return {n: tuple(s.strip() for s in t.split(",") if s.strip()) for n, t in text.items()}


CONCEPTS = _groups(
    """
    where: where, kothay, kothai, kothae, koi, কোথায়, কই, কোথা, location, status
    when: when, kobe, kokhon, কবে, কখন, date, tarikh, তারিখ
    quantity: how much, hw much, koto, kto, koy, কত, কয়, কতো, amount, poriman, পরিমাণ
    count: how many, hw many, how big, songkha, সংখ্যা, mot koto, মোট কত, koto gula, কত গুলো,
        koyta, কয়টা, কতগুলো, কতগুলি, koygula, total number, number of, মোট কয়টা, mot
        koyta, কয়টি, koyti
    duration: how long, hw long, how many days, koto din, koydin, কত দিন, কয় দিন, কতদিন,
        কতক্ষণ, kotokkhon, koto somoy, কত সময়, time, somoy, সময়, lage, lagbe, লাগে, লাগবে,
        take, takes, how soon, how fast, how quickly, koto taratari, কত তাড়াতাড়ি,
        kotokhoner moddhe, কতক্ষণের মধ্যে, koy dine, কয় দিনে, কয়দিনে, koydin e, deadline,
        time limit, timeline, time frame, timeframe, turnaround, by when, till when, until
        when
    day: day, days, din, দিন, dine, দিনে, working day, karjodibos, কার্যদিবস, business day
    hour: hour, hours, ghonta, ঘণ্টা, ঘন্টা
    minute: minute, minutes, min, minit, মিনিট
    how: how, kivabe, kibhabe, kibabe, kemne, kemon kore, কিভাবে, কীভাবে, কেমনে, process,
        procedure, way, ways, upay, উপায়, niyom, নিয়ম, rule, rules, policy, system
    cancel: cancel, cancellation, batil, বাতিল, cancle, call off, dont want, don't want, ar
        lagbe na, আর লাগবে না, lagbe na, লাগবে না, rakhte chai na, রাখতে চাই না, বাদ দেব, bad dibo,
        change my mind, changed my mind
    change: change, edit, update, modify, bodlano, bodlate, bodlabo, bodol, বদল, বদলানো, বদলাতে,
        বদলাব, পরিবর্তন, poriborton, thik kora, correct
    address: address, thikana, ঠিকানা, addres, adress
    home: home, basha, basa, basay, bashay, বাসা, বাসায়, বাসার, bari, barite, বাড়ি, বাড়িতে, ghore,
        ঘরে, house, at home
    return: return, returned, returning, ferot, firot, ফেরত, send back, sent back, take back,
        give back, send it back, sent it back, send them back, ship it back, exchange, bodle,
        replace
    refund: refund, money back, taka ferot, টাকা ফেরত, reimburse, return er taka, ferot er taka,
        ফেরতের টাকা, রিটার্নের টাকা, money from a return, reversal, reverse, reversed, ফেরত আসবে,
        ferot ashbe, ferot pabo, টাকা ফেরত পাব, ফেরত দেওয়া পণ্যের টাকা, ফেরত দেওয়া জিনিসের টাকা,
        ferot dewa jinisher taka, ferot deya jinish er taka, returned item's money, money for a
        returned item
    money: money, taka, tk, টাকা, ৳, bdt, poisa, পয়সা, balance, ব্যালান্স, ব্যালেন্স, amount
    fee: fee, fees, charge, charges, cost, costs, khoroch, খরচ, চার্জ, dam, দাম, price,
        shipping, shipping cost, extra, fine, jorimana, জরিমানা, penalty, how much is, how
        much for, ফি
    free: free, ফ্রি, ফ্রী, maf, মাফ, no charge, free of charge, binamulle, বিনামূল্যে, waive, waived,
        skip the fee, skip
    delivery: rowna, রওনা, dispatch, dispatched, on the way, delivery, deliver, delivered,
        delivary, shipping, ship, shipped, courier, ডেলিভারি, কুরিয়ার, পাঠানো, pathano, pathate,
        পাঠাতে, pathaben, পাঠাবেন, send, parcel, পার্সেল, porcel, package, pouchabe, পৌঁছাবে, reach,
        arrive, arrives, ashbe, আসবে, asbe
    receive: receive, received, get, got, pabo, pab, পাব, পাবো, paisi, peyechi, পেয়েছি, pai,
        পাই, hate pabo, হাতে, hate, in hand, expect it, expect my, expect the
    pay: pay, payment, paid, paying, porishodh, পরিশোধ, পেমেন্ট, dam dibo, transaction, lenden,
        লেনদেন
    cod: pay on delivery, pay at the door, ডেলিভারির সময় পরিশোধ, হাতে পেয়ে payment, hate peye,
        hate peye payment, হাতে পেয়ে, cash on delivery, cod, hate peye taka, হাতে পেয়ে টাকা, cash
    card: card, cards, কার্ড, credit card, debit card, visa, mastercard, master card, amex, bank
        card
    mfs: bkash, nagad, rocket, বিকাশ, নগদ, রকেট, mobile banking, মোবাইল ব্যাংকিং, mfs
    wallet: wallet, ওয়ালেট, bazarghor wallet
    cashback: cashback, cash back, ক্যাশব্যাক, bonus, reward, percent back, percentage back,
        back on every
    limit: cap, at most, biggest, largest, most, upper limit, sima, সীমা, উপরের সীমা, maximum,
        max, limit, highest, upto, up to, sorbochcho, সর্বোচ্চ, sobcheye beshi, সবচেয়ে বেশি,
        borojor, বড়জোর, লিমিট, ceiling, ঊর্ধ্বসীমা, sorbochcho sima, পর্যন্ত, porjonto, porjnto
    minimum: minimum, from how much, from what amount, koto taka theke, কত টাকা থেকে, min order,
        at least, least, need to spend, have to spend, must spend, kompokkhe, কমপক্ষে,
        ন্যূনতম, nunotom, lowest, or more, or above, ba tar beshi, বা তার বেশি, tar beshi,
        তার বেশি, or higher, starting from, theke shuru, থেকে শুরু
    percent: percent, percentage, %, parsent, শতাংশ, shotangsho, rate, হার, har, শতকরা, shotokora,
        shotkora
    district: district, districts, jela, jilla, zilla, জেলা, town, city, shohor, শহর, country,
        sara desh, সারা দেশ, all over, area, elaka, এলাকা, দেশজুড়ে, nationwide, all districts,
        every district, সব জেলায়, sob jela, sob district
    remote: remote, upazila, upojela, upozila, উপজেলা, village, gram, গ্রাম, durgom, দুর্গম,
        prottonto, প্রত্যন্ত, rural
    inside: inside, within, in dhaka, vitore, bhitore, vetore, ভিতরে, ভেতরে, moddhe, modhe,
        মধ্যে
    outside: outside, baire, bire, বাইরে, other district
    damaged: fata, ফাটা, cracked, crack, defect, not there, weren't there, wasn't there, chilo
        na, ছিল না, নেই, scratch, dent, wrong item, wrong color, arekta, অন্যটা, damaged,
        damage, broken, break, bhanga, vanga, ভাঙা, ভাঙ্গা, nosto, নষ্ট, defective, faulty,
        wrong, vul, bhul, ভুল, missing, torn, chera, ছেঁড়া, kharap product, shattered,
        smashed
    warranty: warranty, guarantee, ওয়ারেন্টি, গ্যারান্টি, warrenty, service center, repair
    promo: promo, promo code, coupon, voucher, discount, offer, char, ছাড়, কুপন, প্রোমো, প্রোমো
        কোড, coupon code
    emi: tenure, months, month, mash, মাস, masher, মাসের, period, periods, split my payment, split,
        split payment, mase mase, মাসে মাসে, monthly installment, emi, installment, instalment,
        installments, kisti, কিস্তি, ইএমআই, monthly payment
    otp: code i got, sms code, ফোনে আসা কোড, one-time code, otp, ওটিপি, verification code, one
        time password, login code, লগইন কোড, login er code, code, কোড, কোডের, কোডটা, কোডটি,
        one-time password, one-time code, one-time pin
    login: login, log in, sign in, signin, লগইন, dhukte, ঢুকতে, dukte, logout
    account: account, অ্যাকাউন্ট, একাউন্ট, profile, প্রোফাইল
    delete: off korte, account off, permanently, delete, remove, close, deactivate, muche, মুছে,
        muchte, মুছতে, মুছব, bondho, বন্ধ
    recharge: grameenphone, gp, robi, airtel, banglalink, teletalk, গ্রামীণফোন, রবি, এয়ারটেল,
        বাংলালিংক, টেলিটক, টপআপ, recharge, top up, topup, flexiload, রিচার্জ, data pack, internet
        pack, mb, minute pack
    bill: bill, বিল, electricity, biddut, বিদ্যুৎ, current bill, gas, গ্যাস, water, wasa,
        internet bill, utility
    pickup: pickup, pick up, pick-up, collect, collection point, tulte, তুলতে, tule,
        hub, counter, nije giye, নিজে গিয়ে, pickup location, pick-up location, collection,
        collection centre, collection center
    contact: helpline, হেল্পলাইন, হটলাইন, call center, কল সেন্টার, support number, customer
        care, contact, call, mail, dial, reach you, hotline, number, nombor, নম্বর, নাম্বার, email,
        ইমেইল, jogajog, যোগাযোগ, phone, ফোন, office, অফিস
    agent: agent, human, manush, মানুষ, person, representative, এজেন্ট, kotha bolte, কথা বলতে,
        talk, live chat, operator, your staff, support staff, service staff
    seller: seller, marketplace, মার্কেটপ্লেস, mal tulte, মাল তুলতে, list my products, sale,
        sales, sell, selling, bikri, বিক্রি, বিক্রেতা, shop, dokan, দোকান, merchant, vendor, becha,
        বেচা, business, babsa, ব্যবসা
    invoice: invoice, download bill, bill download, bill copy, বিল কপি, vat, ভ্যাট, receipt,
        রসিদ, roshid, memo, মেমো, challan, ইনভয়েস
    stock: back in stock, abar pawa gele, আবার পাওয়া গেলে, sold out, stock out, শেষ হয়ে গেছে,
        shesh hoye geche, sesh hoye gese,
        stock, out of stock, স্টক, স্টকে, preorder, pre-order, pre order, প্রি-অর্ডার, প্রি অর্ডার,
        available, pawa jabe, পাওয়া যাবে, notify me, restock, ashbe kobe
    complaint: complain, complaint, obhijog, অভিযোগ, rude, behaviour, behavior, kharap, খারাপ,
        baje, বাজে, report, nalish, নালিশ
    greet: how are you, kemon achen, kemon acho, কেমন আছেন, কেমন আছো, hi, hello, hey, helo, hlw,
        হ্যালো, হাই, assalamu alaikum, assalamualaikum, salam, সালাম, আসসালামু আলাইকুম, আসসালামু,
        good morning, good evening, শুভ সকাল, শুভ সন্ধ্যা, nomoskar, নমস্কার, adab, আদাব, anyone
        there, keu achen, কেউ আছেন
    thank: helpful, kaje laglo, কাজে লাগল, শুকরিয়া, shukria, talk later, pore kotha hobe, পরে
        কথা হবে, good night, shuvo ratri, শুভ রাত্রি, thanks, thank you, thank u, thx, tnx, ty,
        dhonnobad, dhonnobaad, ধন্যবাদ, shukriya, bye, goodbye, বিদায়, allah hafez, আল্লাহ হাফেজ,
        khoda hafez, খোদা হাফেজ, take care
    keep: keep, kept, hold, holds, held, wait, waits, rakhe, রাখে, রাখা, রাখবে, rakhbe, opekkha,
        অপেক্ষা, store,
        stays
    deducted: deducted, deduct, deducts, debited, cut, kete nise, kete geche, kete gese, কেটে
        নিয়েছে, কেটে গেছে, কেটেছে, kome geche, কমে গেছে, charged twice, taka gese, money is
        gone, money gone, money went, money left, taka gone, money has gone, taka chole
        geche, taka chole gese, টাকা চলে গেছে, কাটা, কাটার, kata, katar, kata hoyeche, কাটা
        হয়েছে, charged but, was charged, got charged, debit sms
    failed: failed, fail, fails, ফেইল, ব্যর্থ, didn't go through, did not go through, unsuccessful,
        never went through, didn't go thru, never went thru, did not go thru, error, erorr, এরর
    holiday: weekend, weekends, holiday, holidays, chuti, chutir din, ছুটি, ছুটির দিন, friday,
        fridays, shukrobar, শুক্রবার, eid, ঈদ, puja, পূজা
    valid: expires, last, lasts, meyad koto, valid, validity, expire, expiry, expired, meyad,
        মেয়াদ, active, chalu, চালু, kaj kore, কাজ করে, thake, থাকে
    company: bazarghor, বাজারঘর, apnader, আপনাদের, your company
    app: app, অ্যাপ, অ্যাপে, apps, website, site, ওয়েবসাইট, web
    order: order, orders, অর্ডার, kena, কেনা, kinechi, কিনেছি, kinsi, purchase, bought, buy,
        kinte, কিনতে
    """
)

#: Words that say nothing of what is asked (pronouns, particles, auxiliaries, politeness), in
#: the three scripts; their spellings and skeletons are no features (concepts still see them).
STOP_WORDS = """
    i me my mine you your we our us he she it its they them this that these those a an the to
    of for in on at by with from and or but is are am was were be been do does did can could
    will would shall should may might must have has had please pls plz want need like just so
    also too very some any there here then than if about as what which who whom whose
    ami amar amr amake apni apnar apnara apnader apnake tumi tomar amra amader ki ke ta ti to
    e er r re te theke kore korte korbo korben kora chai chaile hobe jabe jay ache ase ashe
    vai bhai vaia bhaia ji jee ekta eta oi ei sei jonno niye diye ar o tai naki kintu
    korle dile hole nile করলে দিলে হলে নিলে
    আমি আমার আমাকে আপনি আপনার আপনারা আপনাদের আপনাকে তুমি তোমার আমরা আমাদের কি কী কে টা টি তো
    এ এর র তে থেকে করে করতে করব করবো করবেন করা চাই চাইলে হবে যাবে যায় আছে ভাই জি একটা এটা ওই এই
    সেই জন্য নিয়ে দিয়ে আর ও তাই নাকি কিন্তু একটু
"""

#: Place spelling -> (place, delivery region). One line per place, its spellings separated by
#: spaces (the first names it); regions: ``dhaka`` (the city's areas), ``district`` (anywhere
#: else in Bangladesh), ``abroad`` (we do not deliver there). Bengali spellings are listed
#: because transliteration alone does not always meet the Latin one (সিলেট, sylhet).
_PLACE_LINES = {
    "dhaka": """
        dhaka ঢাকা
        mirpur মিরপুর
        uttara উত্তরা
        banani বনানী
        gulshan গুলশান
        dhanmondi ধানমন্ডি
        mohammadpur মোহাম্মদপুর
        basabo বাসাবো
        mohakhali মহাখালী
        jatrabari যাত্রাবাড়ী
        motijheel মতিঝিল
        badda বাড্ডা
        rampura রামপুরা
        tejgaon তেজগাঁও
        farmgate ফার্মগেট
        khilgaon খিলগাঁও
        shyamoli শ্যামলী
        bashundhara বসুন্ধরা
        wari ওয়ারী
        lalbagh লালবাগ
        malibagh মালিবাগ
        moghbazar মগবাজার
        shahbag শাহবাগ
        paltan পল্টন
        khilkhet খিলক্ষেত
        baridhara বারিধারা
        agargaon আগারগাঁও
        """,
    "district": """
        chattogram chittagong চট্টগ্রাম ctg
        sylhet সিলেট
        khulna খুলনা
        rajshahi রাজশাহী
        barishal barisal বরিশাল
        rangpur রংপুর
        mymensingh ময়মনসিংহ
        cumilla comilla কুমিল্লা
        gazipur গাজীপুর
        narayanganj নারায়ণগঞ্জ
        bogura bogra বগুড়া
        jashore jessore যশোর
        coxsbazar coxs cox কক্সবাজার
        noakhali নোয়াখালী
        feni ফেনী
        bhola ভোলা
        dinajpur দিনাজপুর
        pabna পাবনা
        tangail টাঙ্গাইল
        kushtia কুষ্টিয়া
        faridpur ফরিদপুর
        sirajganj সিরাজগঞ্জ
        jamalpur জামালপুর
        brahmanbaria ব্রাহ্মণবাড়িয়া
        chandpur চাঁদপুর
        lakshmipur লক্ষ্মীপুর
        patuakhali পটুয়াখালী
        satkhira সাতক্ষীরা
        bagerhat বাগেরহাট
        habiganj হবিগঞ্জ
        moulvibazar মৌলভীবাজার
        sunamganj সুনামগঞ্জ
        kishoreganj কিশোরগঞ্জ
        netrokona নেত্রকোনা
        sherpur শেরপুর
        natore নাটোর
        naogaon নওগাঁ
        chapainawabganj চাঁপাইনবাবগঞ্জ
        thakurgaon ঠাকুরগাঁও
        panchagarh পঞ্চগড়
        nilphamari নীলফামারী
        lalmonirhat লালমনিরহাট
        kurigram কুড়িগ্রাম
        gaibandha গাইবান্ধা
        joypurhat জয়পুরহাট
        magura মাগুরা
        jhenaidah ঝিনাইদহ
        narail নড়াইল
        chuadanga চুয়াডাঙ্গা
        meherpur মেহেরপুর
        rajbari রাজবাড়ী
        madaripur মাদারীপুর
        gopalganj গোপালগঞ্জ
        shariatpur শরীয়তপুর
        munshiganj মুন্সীগঞ্জ
        manikganj মানিকগঞ্জ
        narsingdi নরসিংদী
        pirojpur পিরোজপুর
        jhalokathi ঝালকাঠি
        barguna বরগুনা
        khagrachari খাগড়াছড়ি
        rangamati রাঙামাটি
        bandarban বান্দরবান
        savar সাভার
        keraniganj কেরানীগঞ্জ
        tongi টঙ্গী
        """,
    "abroad": """
        kolkata কলকাতা
        india ভারত
        dubai দুবাই
        saudi সৌদি
        malaysia মালয়েশিয়া
        singapore সিঙ্গাপুর
        qatar কাতার
        oman ওমান
        kuwait কুয়েত
        london লন্ডন
        usa america আমেরিকা
        canada কানাডা
        australia অস্ট্রেলিয়া
        italy ইতালি
        nepal নেপাল
        bhutan ভুটান
        myanmar মিয়ানমার
        pakistan পাকিস্তান
        abroad bidesh বিদেশ
        """,
}
PLACES: dict[str, tuple[str, str]] = {
    spelling: (line.split()[0], region)
    for region, block in _PLACE_LINES.items()
    for line in block.strip().splitlines()
    for spelling in line.split()
}

#: Words that narrow a place to the remote part of a district or to Dhaka's outside.
REGION_WORDS: dict[str, str] = {
    word: kind
    for kind, block in {
        "remote": """remote upazila upojela upozila উপজেলা প্রত্যন্ত prottonto durgom দুর্গম
            village gram গ্রাম rural""",
        "outside": "outside baire বাইরে",
    }.items()
    for word in block.split()
}

#: Payment instruments; an answer about one is not an answer about another.
INSTRUMENTS: dict[str, str] = {
    name: kind
    for kind, block in {
        "bkash": "bkash বিকাশ",
        "nagad": "nagad নগদ",
        "rocket": "rocket রকেট",
        # "debit"/"credit" alone are no card: "a debit SMS" came from bKash too.
        "card": "card কার্ড visa ভিসা mastercard master amex",
        "bank": "bank ব্যাংক transfer ট্রান্সফার",
        "wallet": "wallet ওয়ালেট",
        # Ways the company may not take: a question about one is not answered by the list of
        # the ones it takes as if it were among them.
        "foreign": "paypal পেপ্যাল payoneer পেওনিয়ার crypto bitcoin বিটকয়েন",
    }.items()
    for name in block.split()
}

#: Kinds of goods whose return or warranty rules differ (FAQ answers name them).
GOODS: dict[str, str] = {
    name: kind
    for kind, block in {
        "food": """food khabar খাবার grocery groceries মুদি mudi rice chal চাল dal ডাল honey modhu মধু
            oil tel তেল chocolate চকলেট biscuit বিস্কুট fruit fol ফল milk dudh দুধ sugar chini চিনি""",
        "innerwear": "innerwear underwear অন্তর্বাস bra panty undergarment",
        "cosmetics": """cosmetics cosmetic প্রসাধনী lipstick লিপস্টিক cream ক্রিম facewash face-wash
            makeup মেকআপ perfume পারফিউম lotion লোশন""",
        "voucher": "voucher ভাউচার gift-card giftcard",
        "clothing": """shirt শার্ট tshirt t-shirt pant প্যান্ট jeans জিন্স genji গেঞ্জি jama জামা
            saree sari শাড়ি panjabi পাঞ্জাবি kurti কুর্তি dress ড্রেস kapor কাপড় cloth clothes""",
        "shoes": "shoe shoes juta জুতা জুতো sandal স্যান্ডেল sneaker sneakers",
        "electronics": """laptop ল্যাপটপ tv টিভি fridge ফ্রিজ blender ব্লেন্ডার
            headphone হেডফোন earphone lamp ল্যাম্প watch ঘড়ি fan ফ্যান""",
        "book": "book books boi বই storybook",
    }.items()
    for name in block.split()
}
