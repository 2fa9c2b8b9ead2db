"""The word lists routing reads besides Banglish: English, shared words, names, other languages.

Split from :mod:`model.text.banglish_lexicon` (which builds the final, pairwise disjoint
sets and explains them) so each file stays readable. All words are lower case.
"""

from __future__ import annotations

__all__ = ["AMBIGUOUS", "ENGLISH_BASE", "FOREIGN", "NEUTRAL", "swap_variants", "words"]


def words(block: str) -> frozenset[str]:
    """A whitespace-separated block of words as a set."""
    return frozenset(block.split())


def swap_variants(word: str, rules: tuple[tuple[str, str], ...]) -> set[str]:
    """``word`` with one rule swapped either way, then a second swapped forward, everywhere.

    At most two rules are combined: that covers the common mixtures of romanized spellings
    (Banglish and Hindi alike) without exploding.
    """
    first = {word} | {_swap(word, a, b) for a, b in rules} | {_swap(word, b, a) for a, b in rules}
    second: set[str] = set()
    for w in first:
        second |= {_swap(w, a, b) for a, b in rules}
    return first | second


def _swap(word: str, old: str, new: str) -> str:
    return word.replace(old, new) if old in word else word


# Words common in both English and Banglish. They count for neither language.
AMBIGUOUS: frozenset[str] = words(
    """
    to are age more take pay die den hole mane bar dam bad go re pore niche din mash name
    tar jan dine mal o r n nah je por
    """
)

# Names used unchanged in every language: places, operators, brands, currency.
NEUTRAL: frozenset[str] = words(
    """
    dhaka mirpur dhanmondi gulshan banani uttara mohakhali motijheel badda rampura
    bashundhara mohammadpur tejgaon farmgate savar tongi gazipur narayanganj keraniganj
    chittagong chattogram ctg sylhet khulna rajshahi barishal barisal rangpur mymensingh
    comilla cumilla bogura bogra jessore jashore noakhali feni kurigram dinajpur pabna
    tangail faridpur cox coxs cox's kushtia jamalpur sirajganj
    bangladesh bd bdt taka tk
    bkash nagad rocket upay gp grameenphone robi airtel banglalink teletalk
    desco dpdc titas wasa nesco bpdb
    bazarghor visa mastercard amex pathao daraz foodpanda redx steadfast sundarban
    eid ramadan ramzan puja
    hmm hmmm hm haha hahaha lol
    samsung xiaomi redmi poco realme oppo vivo tecno infinix itel walton iphone ipad macbook
    airpods oneplus huawei nokia motorola lenovo asus acer dell msi sony lg anker baseus jbl
    jamuna marcel facebook fb whatsapp imo youtube google android ios miui hyperos evaly
    chaldal rokomari pickaboo ryans startech flipkart galaxy pro max ultra lite mini neo
    narzo nord pova camon primo bata apex aarong
    """
)

# Words of other Latin-script languages that neither English nor Banglish writers use.
FOREIGN: frozenset[str] = words(
    """
    vous nous est suis pas avec pour mais oui merci bonjour bonsoir salut où quand
    toujours voudrais être avoir votre vos mes très beaucoup s'il plaît c'est qu'est
    el los las gracias hola dónde donde está cuándo cuando quiero puedo necesito
    usted muchas buenos buenas días señor porque también
    onde obrigado obrigada não você meu minha olá bom
    dov'è il mio grazie ciao della buongiorno
    ich möchte meine ist danke vielen für ihre hilfe und nicht guten bitte
    saya terima kasih tidak bisa selamat pagi
    """
)

ENGLISH_BASE = words(
    """
    a an the i me my mine myself you your yours yourself we us our ours they them their
    he him his she her it its this that these those there here who whom whose which what
    where when why how all any some no not none nothing something anything everything
    each every both either neither other another such only own same than too very just
    also still yet already even ever never always often again soon now then today tomorrow
    yesterday tonight later early late before after since until while during
    and or but if because so though although however unless whether
    in on at by for from with without about into onto over under up down out off through
    between among against around near via per across within
    am is are was were be been being have has had having do does did doing done
    will would shall should can could may might must
    don't doesn't didn't can't cannot won't wouldn't shouldn't couldn't isn't aren't wasn't
    weren't haven't hasn't hadn't i'm i've i'll i'd you're you've you'll it's that's
    what's where's there's let's he's she's we're they're
    yes yeah yep no nope okay ok okey okk kk k sure fine great good nice perfect cool
    hi hello hey helo dear welcome bye goodbye thanks thank thx tnx thanku ty please pls
    plz sorry excuse morning evening afternoon night
    sir madam maam ma'am bro brother sister friend team guys
    u ur msg asap idk btw fyi
    one two three four five six seven eight nine ten first second third half
    day days week weeks month months year hour hours minute minutes time times
    monday tuesday wednesday thursday friday saturday sunday weekend holiday
    order orders ordered item items product products parcel package packet box
    delivery deliver delivered deliveries courier rider man boy guy person people
    address location area city district village town home house office shop store
    showroom branch outlet warehouse gate guard door building road street
    phone number mobile call calls message messages sms email mail app apps website
    site link page account password login log otp code pin profile settings
    payment pay paid money cash card cards credit debit bank banks wallet balance
    refund refunds return returns replace replacement exchange cancel cancelled canceled
    cancellation charge charges charged fee fees cost price prices discount offer offers
    coupon coupons promo voucher vouchers cashback bonus point points pickup
    invoice receipt bill bills electricity gas water internet postpaid prepaid recharge
    topup top data pack packs bundle minutes validity sim operator network
    emi installment interest partner
    warranty guarantee claim repair service services support help agent human customer
    customers seller sellers commission payout payouts register registration licence
    license
    complaint complaints complain problem problems issue issues question questions query
    update updates status tracking track information info details
    size sizes color colour colors small medium large big short long new old used
    original fake wrong right correct broken damaged cracked missing lost stolen
    late fast quick quickly slow slowly urgent urgently asap
    stock available unavailable pre preorder notify back
    shirt shirts dress shoe shoes saree fridge tv laptop screen charger phone watch
    food grocery groceries cosmetics innerwear gift gifts
    worst best better bad terrible awful poor excellent amazing happy unhappy sad angry
    disappointed satisfied frustrated upset rude polite helpful useless
    get got give gave given take took taken make made send sent receive received
    want wanted need needed like liked know knew known think thought tell told ask asked
    say said see saw seen look looking check checked try tried work worked working
    come came coming go going went gone wait waited waiting keep kept leave left
    find found buy bought sell sold use used change changed open opened close closed
    show shown shows start started stop stopped help helped call called reply replied
    answer answered connect connected talk talked speak spoke arrive arrived arrives
    reach reached ship shipped shipping dispatch dispatched confirm confirmed
    accept accepted deduct deducted charge download downloaded install crash crashes
    crashing fail failed failing failure verify verified delete deleted remove removed
    forget forgot forgotten block blocked solve solved fix fixed file filed drop
    pick picked let put set hold held stay stayed mean meant guess hope understand
    understood happen happened expect expected promise promised waste wasted
    many much lot lots few little less least most more enough several
    every everyone everybody anyone anybody someone somebody nobody noone
    not really actually exactly almost maybe perhaps probably definitely
    again already instead otherwise anyway
    able possible impossible
    total amount extra free full partial whole
    inside outside above below between
    rights consumer court police legal
    thing things way ways kind type part reason case fact name
    looks nothing anything picture photo photos image screenshot video
    weekly daily
    directly soon moment second
    bot robot
    correct confirmed
    twice once
    worked lot
    never mind see
    share shared sharing car cars nvm regular promote sincere sincerely unite theme
    """
)
