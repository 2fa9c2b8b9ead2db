"""One-line non-answers ("wait a minute", "দেখছি", "ok") that agents type while they look
something up: they are not training pairs.

An agent in a handoff often answers a question first with "checking" and then with the real
answer; both are stored as answers to that question. Trained on, the first teaches the model
to stall. The phrases below are what agents write in each register. The rule around them is
one of shape: a single line of at most :data:`MAX_WORDS` words that, once courtesy words
("please", "ভাই", "sir", "ji") are set aside, is one listed phrase or several in a row
("ok, dekhchi", "ঠিক আছে, চেক করছি"). Case, punctuation and Bengali digits do not matter. An
answer with no letter or digit at all ("...", "👍") is not an answer either. A short real
answer ("ji", "one", "হ্যাঁ, পাবেন", "ok, 3 din lagbe", "Please check your spam folder")
keeps its pair: no word list alone decides, only whole phrases.
"""

from __future__ import annotations

from model.memory import comparable

__all__ = ["COURTESY", "MAX_WORDS", "NON_ANSWERS", "is_non_answer"]

#: What agents write to say "wait" or "I am looking", per register.
NON_ANSWERS: dict[str, tuple[str, ...]] = {
    "en": (
        "wait",
        "wait a minute",
        "wait a moment",
        "one moment",
        "one moment please",
        "please wait",
        "hold on",
        "just a second",
        "give me a minute",
        "one sec",
        "checking",
        "checking now",
        "let me check",
        "will check",
        "i will check",
        "i am checking",
        "i'm checking",
        "i'm checking it now",
        "looking into it",
        "let me see",
        "i will check and let you know",
        "ok",
        "okay",
        "okk",
        "noted",
        "on it",
    ),
    "bn": (
        "একটু অপেক্ষা করুন",
        "অপেক্ষা করুন",
        "এক মিনিট",
        "দেখছি",
        "একটু দেখি",
        "চেক করছি",
        "দেখে জানাচ্ছি",
        "জানাচ্ছি",
        "ঠিক আছে",
        "আচ্ছা",
        "ওকে",
    ),
    "banglish": (
        "ektu opekkha korun",
        "ektu opekkha koren",
        "ektu wait korun",
        "ektu opekkha",
        "ektu wait",
        "ek minute",
        "ek minit",
        "dekhchi",
        "dekhsi",
        "dekhtesi",
        "check korchi",
        "check kortesi",
        "dekhe janacchi",
        "janacchi",
        "thik ache",
        "accha",
        "oke",
    ),
    "mixed": (
        "একটু wait করুন",
        "wait করুন",
        "check করছি",
        "এক minute",
        "একটু check করে জানাচ্ছি",
    ),
}

#: Words that make a phrase polite but carry no answer.
COURTESY = frozenset(
    comparable(word)
    for word in (
        "please plz pls sir madam maam dear vai bhai bhaiya apu apa ji",
        "ভাই ভাইয়া আপু স্যার ম্যাডাম জি প্লিজ দয়া করে",
    )
    for word in word.split()
)

#: Longest one-line answer the rule looks at.
MAX_WORDS = 8

_PHRASES = frozenset(
    tuple(comparable(phrase).split()) for phrases in NON_ANSWERS.values() for phrase in phrases
)
_LONGEST = max(len(phrase) for phrase in _PHRASES)


def is_non_answer(answer: str) -> bool:
    """True when ``answer`` only stalls or acknowledges (see the module doc)."""
    text = answer.strip()
    words = comparable(text).split()
    if not words:
        return True  # nothing but punctuation, symbols or emoji
    if "\n" in text or len(words) > MAX_WORDS:
        return False
    return _phrases_only(tuple(w for w in words if w not in COURTESY))


def _phrases_only(words: tuple[str, ...]) -> bool:
    """True when ``words`` is one or more listed phrases back to back (and not empty)."""
    # ends[i]: words[:i] splits into listed phrases.
    ends = [True] + [False] * len(words)
    for end in range(1, len(words) + 1):
        ends[end] = any(
            ends[end - size] and words[end - size : end] in _PHRASES
            for size in range(1, min(_LONGEST, end) + 1)
        )
    return bool(words) and ends[-1]
