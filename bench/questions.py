"""Customer questions for load: the held-out test questions in four registers, varied.

Questions come from ``training/data/mytest.json`` (240 questions, 60 per register), grouped by
the label the bot's own router gives them. Each use adds a greeting or a closing typical of
its register, so that 2,000 messages are not 240 exact repeats (the correction memory and the
database see realistic, mostly distinct text).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from model.text.langid import detect
from model.text.languages import REGISTERS
from training.data import TEST_FILE, load_pairs

# Openers and closers that keep the register of the question they are added to.
PREFIXES: dict[str, tuple[str, ...]] = {
    "bn": ("", "ভাই, ", "আসসালামু আলাইকুম, ", "আপু, "),
    "en": ("", "Hi, ", "Hello team, ", "Excuse me, "),
    "banglish": ("", "vai ", "apu, ", "salam, "),
    "mixed": ("", "ভাই, ", "Hello, ", "আপু, "),
}
SUFFIXES: dict[str, tuple[str, ...]] = {
    "bn": ("", " একটু জানাবেন?", " ধন্যবাদ।", "??"),
    "en": ("", " Thanks.", " Please help.", "??"),
    "banglish": ("", " plz", " ektu janan", "??"),
    "mixed": ("", " please একটু দেখবেন?", " thanks", "??"),
}


@dataclass(frozen=True)
class Question:
    """One message a simulated customer sends."""

    register: str
    text: str


def questions_by_register() -> dict[str, list[str]]:
    """The test questions, grouped by routed register (only the four registers kept)."""
    grouped: dict[str, list[str]] = {register: [] for register in REGISTERS}
    for pair in load_pairs(TEST_FILE):
        label = detect(pair["text"]).label
        if label in grouped:
            grouped[label].append(pair["text"])
    missing = [register for register, texts in grouped.items() if not texts]
    if missing:
        raise ValueError(f"{TEST_FILE}: no test question routed as {', '.join(missing)}")
    return grouped


def vary(text: str, register: str, rng: random.Random) -> str:
    """``text`` with a register-typical opener and closer (either may be empty)."""
    prefix = rng.choice(PREFIXES[register])
    suffix = rng.choice(SUFFIXES[register])
    if prefix and text[:1].isascii() and text[:1].isupper() and register == "en":
        text = text[0].lower() + text[1:]
    return f"{prefix}{text}{suffix}"


def pick(rng: random.Random, register: str, grouped: dict[str, list[str]]) -> Question:
    """A varied question of ``register``."""
    return Question(register, vary(rng.choice(grouped[register]), register, rng))
