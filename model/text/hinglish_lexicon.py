"""Word lists that tell romanized Hindi and Urdu ("Hinglish") from romanized Bangla.

Hindi and Urdu written in Latin letters look like Banglish to a lexicon that only knows
Bangla and English: same script, same loanwords, even some of the same words. What tells them
apart is grammar, so the lists here are grammar words, not vocabulary:

* :data:`HINGLISH` — function words and verb forms that romanized Hindi and Urdu use and
  romanized Bangla does not: the copula and auxiliaries (hai, hain, tha, raha, gaya, hoga),
  postpositions (ka, ko, mein, tak, pe, ke liye), pronouns (mera, mujhe, tum, aap, hum),
  question words (kya, kyun, kab, kahan, kitna), negation (nahi, nahin), conjunctions (aur,
  lekin, bhi) and common verb forms (karna, chahiye, milega, bhejo), with the Urdu chat
  spellings (hy, mujhy, kr, ap). Their Bangla counterparts differ: ache/hoy, er/ke/te,
  amar/amake/tumi/apni, ki/kobe/kothay/koto, na/nai, ar/o, dorkar, pabo, pathan.
  Built from the hand-written base below plus spelling variants (:func:`spelling_variants`),
  minus every word of the Banglish lexicon's five lists and :data:`SHARED`, so a Hindi
  variant can never be an English or a Banglish word.
* :data:`SHARED` — words both languages write the same way: kinship and politeness (bhai,
  bhaiya, ji, haan), particles (na, ki, ke, se, toh), Islamic greetings, and verb forms that
  happen to coincide (diya, diye, bolo, dekho, rakho, mile). A shared word is South Asian
  evidence against English but no evidence in the Hindi-versus-Bangla decision.

Both sets are lower case; :data:`WEAK` marks the Hindi words that are English words too.
:data:`HINDI_ENDINGS` are verb endings found only in Hindi and Urdu (the future
-ega/-egi/-oge/-unga and the polite -ijiye), used on words no list knows.

Left out on purpose, because English or Banglish writers use the same spelling for something
else: main (main gate), me, hi, to, the, do, so, log, mat (yoga mat), tab, bas, ya and yeh
(chat spellings of yeah), yaar and dost (tags that ride on English sentences too), ne (the
Bangla imperative "take"), chai (Bangla "want"), kam/kom, bata (the shoe brand).
"""

from __future__ import annotations

from model.text.banglish_lexicon import AMBIGUOUS, BANGLISH, ENGLISH, FOREIGN, NEUTRAL
from model.text.english_lexicon import swap_variants, words

__all__ = [
    "HINDI_ENDINGS",
    "HINGLISH",
    "LIGHT_VERBS",
    "LIGHT_VERB_STEMS",
    "SHARED",
    "WEAK",
    "spelling_variants",
]


_HINGLISH_BASE = words(
    """
    hai hain hy hn hoon hun hu tha thi thay thee
    raha rahi rahe rha rhi rhe rahta rahti rahte rehta rehti rehte reh rehna rehne
    gaya gayi gaye gya gyi gye gayaa gai gae
    hua hui hue huye huwa hoa hoga hogi honge hoge hota hoti hote hona hone hoke hokar
    hogaya hogya hogayi hogyi hogai ho
    mera meri mere mujhe mujhko mujhse mujh muje mjhe mujhy mjhy mujhay mujy mjy
    hum hamara hamari hamare humara humari humare hume humein hamein hamen humko humse
    hamse tum tumhara tumhari tumhare tumhe tumhein tumko tumse tumhy tera teri tere tujhe
    tujhse aap aapka aapki aapke aapko aapse apka apki apke apko apse ap apna apne
    inka inki inke unka unki unke unko usko isko iska iski iske uska uski uske ise usse
    isse inhe unhe unhone maine mene tumne aapne humne usne kisi kisne kisko kiska kise
    ye wo woh vo voh
    kya kyaa kia kyun kyu kyon kyo kyunki kyuki kab kaha kahan kaise kaisa kaisi kese kesa
    kesi kesy kaisy kaun kitna kitne kitni kidhar idhar udhar yahan yaha wahan waha vahan
    jahan jaha jab kuch kuchh kch bahut bohot bohat bahot bhot bht sab sabko sabhi
    ka ko mein mai pe par tak liye lie sath saath bina
    nahi nahin nhi nahee nahii
    aur lekin magar agar warna kyunki isliye phir bhi sirf bilkul zaroor zarur jaisa jaise
    waisa waise aisa aise aisi itna itni itne utna kaafi kafi thoda thodi thode zyada jyada
    abhi kabhi ab pehle pahle baad
    karna karne karni karta karti karte karke karo karein karenge karunga karungi
    karoge kiya kiye kijiye kijie kro krna krne krta krti krte krke krdo kardo kr krdein
    krein kren karwa karwana
    dena dene deta deti dete dijiye dijie dedo dein dunga dungi doge dega degi denge
    lena lene leta leti lete liya lijiye lunga lungi lenge lega legi
    milega milegi milenge milta milti milte mila mili milna
    chahiye chahie chaiye chahiya chaahiye chahta chahti chahte
    sakta sakti sakte sako
    batao bataiye batana batayen bataye bataya batado bta btao
    bhej bhejo bheja bheji bheje bhejna bhejdo bhejiye bhejenge bhejein
    aaya aayi aaye aya ayi aana aata aati aate aaega aayega ayega aaegi aayegi aa agaya
    aagaya agya
    jaana jata jati jayega jaega jaayega jaunga jaungi jaiye jaye jaaye jayegi
    samajh samjha samjhe samjho samjhi samajhna samjhna
    keh kehna kehte kehta kaha kahte suniye dekhiye dekhna dikha dikhao dikhta dikhai dikh
    dikhaya khul khula khuli khulta utha uthana uth ruko rukiye ruk chalo chala chalta
    chalega sudhar sudhro sudhroge
    baat pata theek sahi galat galti wapas vapas wapis paisa paise rupaye rupay ghar kaam
    ganda gandi gande bada badi bade chota chhota choti chote sasta sasti mehenga mehnga
    bakwas haal parso
    shukriya shukria dhanyavad dhanyavaad meherbani mehrbani janab namaste
    """
)

# Written identically by Hindi, Urdu and Bangla writers: never evidence of one of them.
SHARED: frozenset[str] = words(
    """
    bhai bhaiya bhaia vaiya bhaijan ji jee haan han ha haa
    na nai ni ki ke se toh koi kon kar karo kare
    acha accha achha acche thik kal kaal aaj jaldi kharab kharap naam nam daam
    diya diye bolo bol bole bolte dekho dekh dekhte rakho rakha rakhe mil mile lage jao jate
    chalu der apni theek paise krte chala acchi sara pani gari rasta samne thanda barbar
    salam assalamualaikum asslamualaikum assalamu assalam alaikum walaikum
    walaikumassalam alhamdulillah alhamdulilah inshallah insha mashallah jazakallah hal
    """
)

# Verb endings only Hindi and Urdu have (the future and the polite imperative). English words
# ending so ("omega", "challenge") are in no list here and are long or rare enough not to
# matter; only words that no list knows are looked at.
HINDI_ENDINGS: tuple[str, ...] = ("ega", "egi", "oge", "ogi", "unga", "ungi", "ijiye", "ijie")

# Words of the list above that English also spells so ("par value", "a mere", "the hue",
# "agar agar", "Lena", "Bina"): evidence only beside a Hindi word English does not have
# or a word both South Asian languages share ("payment ho gaya", "bhai ab kya").
WEAK: frozenset[str] = words(
    """
    par pe hue mere jab ho agar lena lene bina hum hen hone ab aa maine
    """
)

# Hindi's compound verbs end in "do" (give) or "lo" (take): "cancel kar do", "bata do",
# "check kar lo". After one of these stems the English-looking "do" is a Hindi verb.
LIGHT_VERB_STEMS: frozenset[str] = words(
    """
    kar kr de le bata bhej dikha laga bol rakh chala samjha bana khol nikal
    """
)
LIGHT_VERBS: frozenset[str] = words("do lo")

_VARIANT_RULES: tuple[tuple[str, str], ...] = (
    # Each pair is applied in both directions, as in the Banglish lexicon.
    ("aa", "a"),
    ("ee", "i"),
    ("oo", "u"),
    ("w", "v"),
    ("ai", "e"),
    ("kh", "k"),
    ("chh", "ch"),
)


def spelling_variants(word: str) -> set[str]:
    """Spellings of a Hindi/Urdu ``word``: one or two swaps, and Urdu chat's final -y for -e.

    Example: ``kaise`` gives ``kese``, ``kaisy`` and ``kesy``; ``aapka`` gives ``apka``.
    """
    variants = swap_variants(word, _VARIANT_RULES)
    return variants | {w[:-1] + "y" for w in variants if len(w) >= 4 and w.endswith("e")}


# Spelling variants above that are English words the English list lacks ("baat" gives "bat",
# "dene" gives "deny", "aate" gives "ate"), or odd forms nobody writes for the Hindi word.
_NOT_HINDI = words(
    """
    ate aye bat deny lie rook thee hoo hoom toom doge dogy inky mien hal kam
    """
)


def _hinglish() -> frozenset[str]:
    words: set[str] = set()
    for w in _HINGLISH_BASE:
        words |= spelling_variants(w)
    taken = ENGLISH | AMBIGUOUS | NEUTRAL | FOREIGN | BANGLISH | SHARED | _NOT_HINDI
    return frozenset(words - taken)


HINGLISH: frozenset[str] = _hinglish()
