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

from model.text.english_lexicon import (
    AMBIGUOUS,
    ENGLISH_BASE,
    FOREIGN,
    NEUTRAL,
    swap_variants,
    words,
)

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


# Base spellings of romanized Bangla, grouped by kind. Common variants are written out where
# the rules in spelling_variants() cannot derive them (dropped vowels, -se/-che endings).
_BANGLISH_BASE = words(
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
) | words(
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
    """
    return swap_variants(word, _VARIANT_RULES)


def _english() -> frozenset[str]:
    words = set(ENGLISH_BASE)
    for w in ENGLISH_BASE:
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
