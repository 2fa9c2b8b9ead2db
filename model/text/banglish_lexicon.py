"""Word lists for routing Latin-script messages: romanized Bangla, English and the rest.

No off-the-shelf detector knows romanized Bangla ("Banglish"), so the detector looks words up
here. Five pairwise disjoint sets are exported, all lower case:

* :data:`BANGLISH` — words that mark a message as romanized Bangla. Built from the hand-written
  base list below plus systematic spelling variants (:func:`spelling_variants`), minus every
  word of the other four sets, so a variant can never turn an English sentence into Banglish.
* :data:`ENGLISH` — common English words of the customer-service register, with regular
  inflections generated, plus chat spellings (pls, thx, u).
* :data:`AMBIGUOUS` — words common in both languages ("to", "pay", "more", "age", "die",
  "hole"...). They are no evidence either way.
* :data:`NEUTRAL` — names that appear in every language: places, operators, payment brands,
  the currency, and the phone, electronics and shop brands and model words customers ask
  about (Samsung, Walton, Redmi, Pro, Max). "Do you deliver to Mirpur?" stays English
  because "mirpur" is neutral; "Samsung Galaxy A15 er dam" is Banglish by "er" and "dam".
* :data:`FOREIGN` — function words and greetings of other Latin-script languages (French,
  Spanish, Portuguese, Italian, German, Indonesian). Chosen to avoid Banglish homographs such
  as "ma", "mon", "de", "te", "apa". German "mein" and "wo" are Hindi words too and live in
  :mod:`model.text.hinglish_lexicon`; either way they route to ``other``.

Two tuples describe Bangla words no list holds: :data:`BANGLISH_ENDINGS` (verb endings and
plural markers only Bangla has: "kinteci", "porenai", "monitorgula") and
:data:`BANGLISH_SUFFIXES` / :data:`BANGLISH_NAME_SUFFIXES` (case endings and classifiers glued
to a known word or a name: "phoneta", "darazer", "bkashe").

Keep the lists general: add a word because customers write it, never to pass one test line.
"""

from __future__ import annotations

__all__ = [
    "AMBIGUOUS",
    "BANGLISH",
    "BANGLISH_ENDINGS",
    "BANGLISH_NAME_SUFFIXES",
    "BANGLISH_SUFFIXES",
    "ENGLISH",
    "FOREIGN",
    "NEUTRAL",
    "spelling_variants",
]


def _words(block: str) -> frozenset[str]:
    return frozenset(block.split())


# Base spellings of romanized Bangla, grouped by kind. Common variants are written out where
# the rules in spelling_variants() cannot derive them (dropped vowels, -se/-che endings).
_BANGLISH_BASE = _words(
    """
    ami amar amr amare amake amk amay amra amader amadr amio
    tumi tomar tmr tomake tmk tomra tomader tui tor toke tora
    apni apnar apnr apner apnake apnk apnara apnader apnadr apnio
    se shey tar tader tadr tini tar unar uni ora oder onara
    eta eita ota oita seta sheta eigula egula oigula ogula eita eishob eisob
    ei oi sei shei ekhane akhane okhane sekhane hekhane
    kichu kisu kicu kicchu kichui kisui keu kew kauke kaoke karo kar kake kader
    nijer nijei
    ki kii kno keno kn kobe kbe kokhon kokhn kothay kothai kotha kuthay koi kivabe kibhabe
    kibabe kemne kemon kmn kmon koto kto koyta koyta koita kon konta konti konodin kototaka
    na nai nei nay naki nki naa ta ti tai tao toh tobe tahole tahle taile kintu
    ar aro abar abr arekta shudhu sudhu sob shob shobai sobai sobar shobar
    ekhon ekhn akhon ekhono ekhno akhono akhno ajke aj aaj ajk kal kalke kaal porshu porsu
    gotokal gotokalke agami agamikal
    ekta ekti akta duita duto dui tinta tin char pach
    ekdom onek onk khub khubi kub ektu aktu ektuo beshi besi bashi kom jodi jeno jate hoyto
    mone monehoy
    hoy hoi hobe hbe hoibo hobo hoini hoyni hoyna hoyna hoise hoiche hoyeche hoyse
    hoyechhe hoisilo hoyechilo hoichilo holo hlo hoilo hocche hochhe hosse hoitese hoitase
    hoche hoye hoiye hoyei hole holeo
    chilo silo cilo chila chilam silam chilen silen thake thakbe thaki thaklam thakben
    thik thk accha acha achha acca accha asa
    ache ase achi asi achen asen achhe acche
    kori kor koro koren korun korbo krbo korbe korben krben korte krte korlam korlm korchi
    korsi korci kortesi kortechi kortasi korechi korecho korse korche korsen korchen
    korechen korsilam korchilam korle korlei kore kre kortese kortase korteche korlen
    korsis korish korba korbi kortacche korben kora korar korano korai koray koranor
    shono sono shunen sunen shunun shunlam
    jabe jabo jay jai jacche jaitese jaitase gese geche gechi gesi gelam gelo gele jan jaben
    jete jeye
    dibo diben dibe diye diya dilam dilen disi dichi diyechi dise diche diyeche dite dao dey
    dei dewa deoa deya doa dicchen dicche dicchi diten dichen disen dichhen dicchen diyechen
    pabo pamu paben pabe pai pailam paisi paichi peyechi peyesi peye pelam pele pawa paoa
    paowa paina pabona pacchi pacchina paiteci paitesi paitechi paiche paise
    ashbe asbe ashe ase ashche asche ashse ashlo aslo ashlam eshe esheche eshechi asen
    ashen ashben asben ashte aste ashtese astese ashtase ashteche asteche ashena asena
    lage lagbe lagse lagche lagtese lagteche laglo lagbena
    chai cai chaai chaisi chaichi chaiche chaise chailam chaile chaiso chan chaitesi
    bolen bolben bolbo bolte bolchi bolsi bolo bole bollam bolsilam bolun bolsen bolche
    bujhi bujhsi bujhlam bujhtesi bujhtechi bujhchi bujhte bujhi bujhina bujhsen bujhen
    janaben janan janabo jani jante janina janen janai janiye janale janben
    dekhen dekhi dekhbo dekhte dekhsi dekhchi dekhlam dekhay dekhacche dekhaitese dekhan
    dekhun dekho dekhse dekhche dekhaise dekhaiche dekhaitase
    nibo niben nilam nisi niyechi nise niche niyeche nite ney nen nin nicchi nicche
    niye nisilam
    pathan pathaben pathabo pathaisi pathiyechi pathaise pathiyeche pathano pathate
    pathailam pathalam pathiye pathaisen pathaichen pathay pathacchi
    kinbo kinsi kinechi kinlam kinte kinle kena kinsilam kinechilam kinben kinchi kinlm
    parbo parben parchi partesi partechi pari parina parlam parsi parchina parteci
    ferot ferat fert ferod feroth
    dhonnobad dhonnobaad dhonyobad dhanyabad donnobad dhonnobd dhonnobaad dhonnobadh
    bhai vai bhaiya vaiya vaia bhaia bhaijan vaijan apu apumoni vabi bhabi apa
    ji jee jii hae hea hya hyan ha haa
    valo bhalo balo bhaloi valoi kharap kharab baje
    obostha obosta obostha khobor khbr somossa somosha shomossha somossha
    deri dery taratari tarataari jaldi druto
    diner mash mas soptaho shoptah saptaho soptah ghonta ghonte ghontay
    bari barite basa basay bashay ghor
    jama juta jutar jinish jinis daam
    kache kase kaache sathe shathe moddhe moddhe vitore bhitore baire bahire upore upor
    theke jonno jonne jnno hisebe hishebe moto moton
    kono konoi kokhono kakhono kokhno kkhono
    eto oto joto koto
    salam assalamualaikum asslamualaikum assalamu assalam alaikum walaikum walaikumassalam
    alhamdulillah alhamdulilah inshallah insha mashallah
    naam nam ferot obhiggota ovijog ovijoger obhijog shomadhan somadhan
    kotha kothar kotay ghurte
    bikri bikrir bikroy
    khushi khushi khusi
    keo keu
    chinta chintar
    nokol asol ashol
    chobi chobir chobite
    dokan dokane
    gramer
    jela jelay jelar
    shukrobar sukrobar shonibar sonibar robibar
    ajker kalker
    upokar upokar
    tobuo tobu tao tau
    noile naile noyto
    rag raag rag
    mamla
    hotash
    byabohar bebohar
    maf
    vul bhul vool
    bhanga vanga
    naki
    taile tahole
    jinishta productta orderta parcelta
    sharee
    ammu abbu amma abba
    rekhe rakhen rakhe rakhbo rakhi rakha
    pasher pashe
    dorjay dorja
    khuchra
    mil mile milse mileni
    khabar
    meyad
    tolaite
    shuru suru
    ashol
    pouchabe pouchay pouchaise poushabe
    kata kate kete katse katlo kateche keteche ketese katche katbe
    sokal sokale bikal bikel bikele shondha rater ratre shuvo subho
    kire kiree kirre
    amago tomago apnago hegor tagor amgo tmgo
    pola polapain maiya meye chele manush lok
    faltu bekar ajaira fatafati jhamela dhur bapre oshadharon osadharon darun joss
    shala biral kukur
    chalu
    vanga
    eshob esob
    """
) | _words(
    # Postpositions and classifiers written as words of their own ("Walton er monitor",
    # "Dhaka board e", "phone gula"): with brand and model names around them they are often the
    # only Bangla words left. "o" and "r" stay ambiguous (English "o", chat "r" for "are").
    """
    er e te ke der gula gulo guli gular gulor gulay gulate gulir
    kaj kaaj kajer kaje shesh sheshe noshto nosto matha shotti mittha sara ghure
    thakle thakte thakis thakbona shera dai hoile hoilo hoito hoibo hoiya hoitese hobena
    paren paro pare parbe parte parle parlo jabena jaina hoynai hoyni ashenai dilo dile
    nilo baki bakir dorkar dorkari vabe bhabe bhabo bhabchi bhabtesi shuni shunsi
    prai onno onnek duijon boro choto notun nuton puran purano oneker ekdin duidin
    koydin kotodin koyekdin porjonto korlo korena korbena khola khulse khule bondho
    choltese cholche chole cholbe cholena cholse rakhun nao tumio agun gorom thanda
    pani emon emni emne amni arki bochor tarikh shomoy besh komse kome bere barse barche
    bariye kemne niyechi lagano lagaite lagate bhorte bhora bhorse jaite jaitesi dekhaite
    dhorse dhore dhorte dhoren dhorben kinbo kinar bhallage bhallagena bhallagse
    valolage payni pabona deyna hoye korsen koira koiren koiso koisi koilam obdi
    sundor shundor chomotkar moja mojar koshto dukkho birokto biroktikor pagol
    rasta gari samne shamne pichone dike protidin protibar barbar kom hishab
    """
)

# Words common in both English and Banglish. They count for neither language.
AMBIGUOUS: frozenset[str] = _words(
    """
    to are age more take pay die den hole mane bar dam bad go re pore niche din mash name
    tar jan dine mal o r n nah je por
    """
)

# Names used unchanged in every language: places, operators, brands, currency.
NEUTRAL: frozenset[str] = _words(
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
FOREIGN: frozenset[str] = _words(
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

_ENGLISH_BASE = _words(
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

# Endings that only Bangla words have, for words no list knows (spellings the lists lack:
# "kinteci", "ashtesilam", "porenai", "monitorgula"). Progressive -tese/-teche, past
# -chilo/-silam/-lam, future -ben, negated -bena/-bona, present -cche/-sse, glued negation
# -nai, plural -gula. Not "-gular": "regular", "angular".
BANGLISH_ENDINGS: tuple[str, ...] = (
    "tesi",
    "tese",
    "teci",
    "tase",
    "tasi",
    "teche",
    "techi",
    "techen",
    "tesen",
    "chilo",
    "chilam",
    "chilen",
    "silo",
    "silam",
    "silen",
    "cilo",
    "cilam",
    "lam",
    "ben",
    "bena",
    "bona",
    "cche",
    "cchi",
    "cchen",
    "chhe",
    "chhi",
    "sse",
    "ssi",
    "ssen",
    "nai",
    "gula",
    "gulo",
    "guli",
    "gulay",
    "gulor",
)
# Case endings and classifiers glued to a word that is itself known ("phoneta", "bkashe",
# "darazer"), as (suffix, shortest stem). The stem must be a known English word or name (or,
# for the longer suffixes, a Banglish word): an unknown English word ending so ("data",
# "user") is not taken for Bangla, and short stems are not tried ("broke" = "bro" + "ke").
BANGLISH_SUFFIXES: tuple[tuple[str, int], ...] = (
    ("tar", 4),
    ("tay", 4),
    ("tai", 4),
    ("tao", 4),
    ("ta", 4),
    ("ti", 4),
    ("der", 4),
    ("er", 4),
    ("te", 4),
    ("ke", 4),
    ("re", 4),
)
# A bare vowel only after a name ("bkashe", "mirpure", "dhakao"): after English stems it
# makes Spanish and Italian ("urgente", "directo") and English ("theme") look like Bangla.
BANGLISH_NAME_SUFFIXES: tuple[str, ...] = ("e", "o")

# Verbs and nouns above that take regular endings in customers' messages.
_ENGLISH_SUFFIXES = ("s", "es", "ed", "d", "ing", "er", "ers", "ly")

_VARIANT_RULES: tuple[tuple[str, str], ...] = (
    # Each pair is applied in both directions: writers swap these freely.
    ("bh", "v"),
    ("sh", "s"),
    ("chh", "ch"),
    ("ch", "s"),
    ("ch", "c"),
    ("ee", "i"),
    ("oo", "u"),
    ("aa", "a"),
    ("j", "z"),
    ("w", "o"),
    ("kh", "k"),
)


def spelling_variants(word: str) -> set[str]:
    """Spellings customers use for ``word``: one swap from each rule, applied everywhere.

    Example: ``bhalo`` gives ``valo``; ``ashche`` gives ``asche``, ``ashse``, ``asse``.
    At most two rules are combined, which covers the common mixtures without exploding.
    """
    first = (
        {word}
        | {_swap(word, a, b) for a, b in _VARIANT_RULES}
        | {_swap(word, b, a) for a, b in _VARIANT_RULES}
    )
    second: set[str] = set()
    for w in first:
        second |= {_swap(w, a, b) for a, b in _VARIANT_RULES}
    return first | second


def _swap(word: str, old: str, new: str) -> str:
    return word.replace(old, new) if old in word else word


def _english() -> frozenset[str]:
    words = set(_ENGLISH_BASE)
    for w in _ENGLISH_BASE:
        if len(w) >= 3 and w.isalpha():
            words.update(w + suffix for suffix in _ENGLISH_SUFFIXES)
            if w.endswith("e"):
                words.update((w[:-1] + "ing", w[:-1] + "ed"))
    return frozenset(words)


ENGLISH: frozenset[str] = _english() - AMBIGUOUS - NEUTRAL - FOREIGN


def _banglish() -> frozenset[str]:
    words: set[str] = set()
    for w in _BANGLISH_BASE:
        words |= spelling_variants(w)
    # A variant that is an English word ("cor"+"e" style accidents) must not flip English.
    return frozenset(words - ENGLISH - AMBIGUOUS - NEUTRAL - FOREIGN)


BANGLISH: frozenset[str] = _banglish()
