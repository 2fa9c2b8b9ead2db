"""Every fixed text customers get, in one place: notes, the fallback, the unsure note, the
other-language note.

The model writes answers; these are the texts around them (greeting, help, handoff, rate
limit, a failed reply…), in Bangla, English and Banglish. A customer whose language is not
known yet gets Bangla and English together. Which language a note goes out in is decided by
:func:`model.text.policy.note_language`.
"""

from __future__ import annotations

NoteLanguage = str  # "bn", "en" or "banglish"

NOTES: dict[str, dict[NoteLanguage, str]] = {
    "start": {
        "bn": (
            "আসসালামু আলাইকুম! আমি উত্তর, এই প্রতিষ্ঠানের গ্রাহকসেবা সহকারী। অর্ডার, ডেলিভারি, "
            "পেমেন্ট, রিফান্ড বা অ্যাকাউন্ট নিয়ে বাংলা, ইংরেজি বা Banglish-এ প্রশ্ন লিখুন।\n"
            "মানুষ এজেন্টের সাথে কথা বলতে /agent, সাহায্যের জন্য /help।"
        ),
        "en": (
            "Hello! I am uttor, the customer-service assistant. Ask me about orders, delivery, "
            "payments, refunds or your account, in Bangla, English or Banglish.\n"
            "Type /agent to talk to a human agent, /help for help."
        ),
        "banglish": (
            "Assalamu alaikum! Ami uttor, customer service assistant. Order, delivery, payment, "
            "refund ba account niye Bangla, English ba Banglish e proshno likhun.\n"
            "Manush agent er sathe kotha bolte /agent, help er jonno /help."
        ),
    },
    "help": {
        "bn": (
            "আপনার প্রশ্নটি সাধারণ বার্তা হিসেবে লিখুন, আমি উত্তর দেব।\n"
            "/lang auto|bn|en|banglish — উত্তরের ভাষা বেছে নিন (auto: আপনার লেখার ভাষায়)\n"
            "/agent — মানুষ এজেন্টের সাথে কথা বলুন\n"
            "প্রতিটি উত্তরের নিচে 👍 বা 👎 চাপুন; 👎 দিলে একজন এজেন্ট উত্তরটি দেখবেন।"
        ),
        "en": (
            "Write your question as a normal message and I will answer.\n"
            "/lang auto|bn|en|banglish — choose the reply language (auto: the language you write)\n"
            "/agent — talk to a human agent\n"
            "Press 👍 or 👎 under an answer; an agent reviews every 👎."
        ),
        "banglish": (
            "Apnar proshno normal message hishebe likhun, ami uttor dibo.\n"
            "/lang auto|bn|en|banglish — uttorer bhasha bechhe nin (auto: apni je bhashay lekhen)\n"
            "/agent — manush agent er sathe kotha bolun\n"
            "Protiti uttorer niche 👍 ba 👎 chapun; 👎 dile ekjon agent uttor ta dekhben."
        ),
    },
    "lang_set": {
        "bn": "ঠিক আছে, এখন থেকে বাংলায় উত্তর দেব।",
        "en": "Done: I will answer in English from now on.",
        "banglish": "Thik ache, ekhon theke Banglish e uttor dibo.",
    },
    "lang_auto": {
        "bn": "ঠিক আছে, আপনি যে ভাষায় লিখবেন সেই ভাষায় উত্তর দেব।",
        "en": "Done: I will answer in the language you write in.",
        "banglish": "Thik ache, apni je bhashay likhben shei bhashay uttor dibo.",
    },
    "lang_usage": {
        "bn": "লিখুন: /lang auto, /lang bn, /lang en অথবা /lang banglish",
        "en": "Write: /lang auto, /lang bn, /lang en or /lang banglish",
        "banglish": "Likhun: /lang auto, /lang bn, /lang en othoba /lang banglish",
    },
    "agent_requested": {
        "bn": "একজন এজেন্টকে জানানো হয়েছে; তিনি এখানেই উত্তর দেবেন। আপনার প্রশ্নটি লিখতে থাকুন।",
        "en": "An agent has been asked to join; they will answer here. Go ahead and write.",
        "banglish": "Ekjon agent ke janano hoyeche; tini ekhanei uttor diben. Likhte thakun.",
    },
    "agent_joined": {
        "bn": "একজন এজেন্ট এখন আপনার সাথে আছেন।",
        "en": "An agent is with you now.",
        "banglish": "Ekjon agent ekhon apnar sathe achen.",
    },
    "released": {
        "bn": "এজেন্ট কথোপকথন শেষ করেছেন; এখন থেকে আবার স্বয়ংক্রিয় সহকারী উত্তর দেবে।",
        "en": "The agent has finished; the automatic assistant answers again from now on.",
        "banglish": "Agent kotha shesh korechen; ekhon theke abar automatic assistant uttor dibe.",
    },
    "non_text": {
        "bn": "দুঃখিত, আমি এখনো শুধু লেখা বার্তা বুঝি। প্রশ্নটি লিখে পাঠান, অথবা /agent লিখে "
        "মানুষ এজেন্টের সাহায্য নিন।",
        "en": "Sorry, I only understand text messages for now. Please type your question, "
        "or send /agent to reach a human agent.",
        "banglish": "Dukkhito, ami ekhono shudhu lekha message bujhi. Proshno ta likhe pathan, "
        "othoba /agent likhe manush agent er help nin.",
    },
    "blank": {
        "bn": "বার্তাটি ফাঁকা মনে হচ্ছে। আপনার প্রশ্নটি লিখে পাঠান।",
        "en": "Your message looks empty. Please type your question.",
        "banglish": "Message ta faka mone hocche. Apnar proshno ta likhe pathan.",
    },
    "rate_limited": {
        "bn": "আপনি খুব দ্রুত অনেক বার্তা পাঠাচ্ছেন। এক মিনিট অপেক্ষা করে আবার লিখুন।",
        "en": "You are sending messages very quickly. Please wait a minute and write again.",
        "banglish": "Apni khub taratari onek message pathacchen. Ek minute opekkha kore abar "
        "likhun.",
    },
    "edited": {
        "bn": "আমি সম্পাদিত বার্তার উত্তর দিই না; সংশোধিত প্রশ্নটি নতুন বার্তা হিসেবে পাঠান।",
        "en": "I do not answer edited messages; please send the corrected question as a new "
        "message.",
        "banglish": "Ami edit kora message er uttor dei na; thik kora proshno ta notun message "
        "hishebe pathan.",
    },
    "followup": {
        "bn": "আমাদের এজেন্ট যোগ করেছেন: {text}",
        "en": "Our agent adds: {text}",
        "banglish": "Amader agent jog korechen: {text}",
    },
    "failed": {
        "bn": "দুঃখিত, এই মুহূর্তে উত্তর দিতে পারছি না। একজন এজেন্ট দেখবেন; চাইলে /agent লিখুন।",
        "en": "Sorry, I cannot answer right now. An agent will look at it; send /agent if you "
        "like.",
        "banglish": "Dukkhito, ei muhurte uttor dite parchi na. Ekjon agent dekhben; chaile "
        "/agent likhun.",
    },
    "feedback_thanks": {
        "bn": "ধন্যবাদ!",
        "en": "Thank you!",
        "banglish": "Dhonnobad!",
    },
    "private_only": {
        "bn": "আমি শুধু ব্যক্তিগত চ্যাটে উত্তর দিই; আমাকে সরাসরি মেসেজ করুন।",
        "en": "I only answer in private chat; please message me directly.",
        "banglish": "Ami shudhu private chat e uttor dei; amake shorashori message korun.",
    },
}

#: What a customer gets when no answer could be generated (model error or time limit), by
#: reply language; agents get the question flagged.
FALLBACKS: dict[str, str] = {
    "bn": (
        "দুঃখিত, এই মুহূর্তে উত্তর দিতে পারছি না। একজন এজেন্ট শিগগিরই আপনার প্রশ্নটি দেখবেন; "
        "এখনই কথা বলতে /agent লিখুন।"
    ),
    "en": (
        "Sorry, I can't answer that right now. An agent will look at your question soon; "
        "type /agent to talk to one now."
    ),
    "banglish": (
        "Dukkhito, ei muhurte uttor dite parchi na. Ekjon agent shigghoi apnar proshno "
        "dekhben; ekhoni kotha bolte /agent likhun."
    ),
    "mixed": (
        "দুঃখিত, এই মুহূর্তে উত্তর দিতে পারছি না। একজন agent শিগগিরই আপনার প্রশ্নটি দেখবেন; "
        "এখনই কথা বলতে /agent লিখুন।"
    ),
}
FALLBACKS["bilingual"] = f"{FALLBACKS['bn']}\n{FALLBACKS['en']}"

#: What a customer gets when nothing the company knows answers the question (source
#: ``unsure``): said plainly, with no guess at the answer; agents get the question flagged and
#: answer in the same chat.
UNSURE_NOTES: dict[str, str] = {
    "bn": (
        "এই প্রশ্নের নিশ্চিত উত্তর আমার কাছে নেই, তাই অনুমান করে কিছু বলছি না। একজন এজেন্টকে "
        "জানানো হয়েছে; তিনি এখানেই উত্তর দেবেন।"
    ),
    "en": (
        "I don't have a reliable answer to this, so I won't guess. An agent has been asked and "
        "will answer you here."
    ),
    "banglish": (
        "Ei proshner nishchit uttor amar kache nai, tai andaje kichu bolchi na. Ekjon agent ke "
        "janano hoyeche; tini ekhanei uttor diben."
    ),
    "mixed": (
        "এই প্রশ্নের নিশ্চিত উত্তর আমার কাছে নেই, তাই অনুমান করে কিছু বলছি না। একজন agent-কে "
        "জানানো হয়েছে; তিনি এখানেই উত্তর দেবেন।"
    ),
}
UNSURE_NOTES["bilingual"] = f"{UNSURE_NOTES['bn']}\n{UNSURE_NOTES['en']}"

#: Sent as is to customers writing in a language we do not serve.
OTHER_LANGUAGE_NOTE = (
    "দুঃখিত, আমরা বাংলা ও ইংরেজিতে সেবা দিই। অনুগ্রহ করে বাংলা বা ইংরেজিতে লিখুন, "
    "অথবা একজন এজেন্টের সাথে কথা বলতে /agent লিখুন।\n"
    "Sorry, we serve customers in Bangla and English. Please write in Bangla or English, "
    "or type /agent to talk to a human agent."
)


def say(key: str, language: str | None, **values: str) -> str:
    """The note ``key`` in ``language``; Bangla then English when the language is unknown."""
    variants = NOTES[key]
    if language in variants:
        return variants[language].format(**values)
    return variants["bn"].format(**values) + "\n\n" + variants["en"].format(**values)
