"""Build the English and Banglish starter corpus from hand-written pools.

Reads the hand-written pools in ``pools_en/`` and ``pools_banglish/`` next to this file and
writes ``en.txt`` and ``banglish.txt`` (documents separated by one blank line).  A document is
either a short customer/agent dialogue or a short paragraph:

* every hand-written scene (``scenes_*.txt``) is used a fixed number of times, each time with
  fresh slot values (order numbers, names, places ...), an optional greeting exchange in front,
  an optional "let me check" line and an optional closing exchange, keeping 2-8 turns;
* every hand-written paragraph (``paragraphs.txt``) is used once;
* extra paragraphs are composed from 2-3 sentences of one topic in ``sentences.txt``;
* for Banglish, common words are respelled per document from ``variants.txt`` so that the
  corpus shows the spelling variety of real chat (vai/bhai, hoise/hoyeche, ...).

The output is fully deterministic: all choices come from ``random.Random(seed)``.

Usage: ``python training/data/corpus/make_en.py [--lang en|banglish|all] [--seed N]``
"""

from __future__ import annotations

import argparse
import random
import re
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
MAX_TURNS = 8
SLOT_RE = re.compile(r"\{([a-z]+)\}")
# A scene that mentions one of these slots shows the agent checking or changing something,
# so the customer may close with "I'll wait" and the agent with "we'll keep you updated".
ACTION_SLOTS = ("{order}", "{phone}", "{txn}")
HOTLINE_RE = re.compile(r"16\d{3}")


@dataclass(frozen=True)
class LangConfig:
    """Per-language settings: pool folder, output file and mixing probabilities."""

    name: str
    pool_dir: Path
    out_file: Path
    scene_repeats: int = 2
    p_greeting: float = 0.45
    p_inline_greeting: float = 0.15
    p_hold: float = 0.2
    p_closing: float = 0.5
    p_close_more: float = 0.3
    composed_ratio: float = 0.8
    speakers: dict[str, str] = field(default_factory=lambda: {"C": "Customer", "A": "Agent"})


LANGS: dict[str, LangConfig] = {
    "en": LangConfig("en", HERE / "pools_en", HERE / "en.txt"),
    "banglish": LangConfig("banglish", HERE / "pools_banglish", HERE / "banglish.txt"),
}


def read_lines(path: Path) -> list[str]:
    """Return the non-empty, non-comment lines of a pool file (``# `` starts a comment)."""
    lines = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line and not (line.startswith("#") and not line.startswith("##")):
            lines.append(line)
    return lines


def read_sections(path: Path) -> dict[str, list[str]]:
    """Parse a pool file made of ``## section`` headers followed by one item per line."""
    sections: dict[str, list[str]] = {}
    current = ""
    for line in read_lines(path):
        if line.startswith("## "):
            current = line[3:].strip()
            sections.setdefault(current, [])
        else:
            sections.setdefault(current, []).append(line)
    return sections


def read_scenes(pool_dir: Path) -> list[list[tuple[str, str]]]:
    """Read every ``scenes_*.txt``: blank-line separated blocks of ``C:``/``A:`` lines."""
    scenes: list[list[tuple[str, str]]] = []
    for path in sorted(pool_dir.glob("scenes_*.txt")):
        text = path.read_text(encoding="utf-8")
        for block in re.split(r"\n\s*\n", text):
            turns = []
            for raw in block.splitlines():
                line = raw.strip()
                if not line or line.startswith("#"):
                    continue
                speaker, sep, said = line.partition(": ")
                if speaker not in ("C", "A") or not sep:
                    raise ValueError(f"{path.name}: bad scene line {line!r}")
                turns.append((speaker, said.strip()))
            if turns:
                scenes.append(turns)
    return scenes


def read_variants(path: Path) -> dict[str, list[list[str]]]:
    """Read spelling variant groups (``a|b|c`` per line) under ``## all`` / ``## customer``."""
    if not path.exists():
        return {}
    return {
        section: [line.split("|") for line in lines]
        for section, lines in read_sections(path).items()
    }


class Filler:
    """Fills ``{slot}`` placeholders with values that stay the same inside one document."""

    def __init__(self, rng: random.Random, slots: dict[str, list[str]]) -> None:
        self.rng = rng
        self.slots = slots
        self.values: dict[str, str] = {}

    def reset(self) -> None:
        """Forget the values chosen for the previous document."""
        self.values = {}

    def _new_value(self, slot: str) -> str:
        value = self._draw(slot)
        # Bangladeshi short hotlines are five digits starting with 16; never let a random order,
        # phone or transaction number contain one, so no hotline-like number enters the corpus.
        while HOTLINE_RE.search(value):
            value = self._draw(slot)
        return value

    def _draw(self, slot: str) -> str:
        rng = self.rng
        if slot == "order":
            return str(rng.randint(10_000_000, 99_999_999))
        if slot == "phone":
            # Masked on purpose: shipped text holds no number that could be a real person's.
            return "01" + rng.choice("3456789") + "XXXXXXXX"
        if slot == "txn":
            alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
            return "".join(rng.choice(alphabet) for _ in range(10))
        if slot not in self.slots:
            raise KeyError(f"unknown slot {{{slot}}}")
        return rng.choice(self.slots[slot])

    def fill(self, text: str) -> str:
        """Replace every placeholder; a repeated ``{order}`` gets the same value."""

        def sub(match: re.Match[str]) -> str:
            slot = match.group(1)
            if slot not in self.values:
                self.values[slot] = self._new_value(slot)
            return self.values[slot]

        return SLOT_RE.sub(sub, text)


def respell_line(text: str, choices: list[tuple[list[str], str]]) -> str:
    """Rewrite every word of each variant group to the spelling chosen for the document."""
    for group, choice in choices:
        pattern = r"\b(" + "|".join(re.escape(word) for word in group) + r")\b"

        def sub(match: re.Match[str], choice: str = choice) -> str:
            word = match.group(0)
            return choice[0].upper() + choice[1:] if word[0].isupper() else choice

        text = re.sub(pattern, sub, text, flags=re.IGNORECASE)
    return text


def respell(doc: str, variants: dict[str, list[list[str]]], rng: random.Random) -> str:
    """Pick one spelling per variant group for this document and apply it line by line.

    Groups under ``all`` apply to every line; groups under ``customer`` (casual shortcuts such
    as ``plz`` or ``amr``) only to what the customer says.
    """
    common = [(group, rng.choice(group)) for group in variants.get("all", [])]
    casual = [(group, rng.choice(group)) for group in variants.get("customer", [])]
    lines = []
    for line in doc.split("\n"):
        speaker, sep, said = line.partition(": ")
        if sep and speaker in ("Customer", "Agent"):
            rules = common + casual if speaker == "Customer" else common
            lines.append(f"{speaker}: {respell_line(said, rules)}")
        else:
            lines.append(respell_line(line, common))
    return "\n".join(lines)


def inline_greeting(greeting: str, line: str) -> str:
    """Join a short greeting and the first customer line: ``Hi, my order ...``."""
    first = line.split(" ", 1)[0]
    keep_case = first in ("I", "I'm", "I've", "I'll") or first[:1] == "{" or first.isupper()
    joined = line if keep_case else line[:1].lower() + line[1:]
    return f"{greeting} {joined}"


class Builder:
    """Turns the pools of one language into a list of documents."""

    def __init__(self, cfg: LangConfig, seed: int) -> None:
        self.cfg = cfg
        self.rng = random.Random(seed)
        pool = cfg.pool_dir
        self.filler = Filler(self.rng, read_sections(pool / "slots.txt"))
        self.greet_c = read_sections(pool / "greet_customer.txt")
        self.greet_a = read_sections(pool / "greet_agent.txt")
        self.greet_inline = read_lines(pool / "greet_inline.txt")
        self.close_c = read_sections(pool / "close_customer.txt")
        self.close_a = read_sections(pool / "close_agent.txt")
        self.close_more = read_sections(pool / "close_more.txt")
        self.hold = read_lines(pool / "hold.txt")
        self.scenes = read_scenes(pool)
        self.paragraphs = read_lines(pool / "paragraphs.txt")
        self.sentences = read_sections(pool / "sentences.txt")
        self.variants = read_variants(pool / "variants.txt")

    def dialogue(self, scene: list[tuple[str, str]]) -> str:
        """Wrap one scene with optional greeting, hold line and closing."""
        cfg, rng = self.cfg, self.rng
        turns = list(scene)
        if rng.random() < cfg.p_hold and len(turns) + 1 <= MAX_TURNS:
            last_c = max(i for i, (who, _) in enumerate(turns) if who == "C")
            if last_c + 1 < len(turns) and turns[last_c + 1][0] == "A" and last_c > 0:
                turns.insert(last_c + 1, ("A", rng.choice(self.hold)))
        if rng.random() < cfg.p_greeting and len(turns) + 2 <= MAX_TURNS:
            groups = sorted(self.greet_c)
            weights = [len(self.greet_a[g]) for g in groups]
            group = rng.choices(groups, weights=weights)[0]
            turns[:0] = [
                ("C", rng.choice(self.greet_c[group])),
                ("A", rng.choice(self.greet_a[group])),
            ]
        elif rng.random() < cfg.p_inline_greeting and turns[0][0] == "C" and len(turns[0][1]) > 15:
            turns[0] = ("C", inline_greeting(rng.choice(self.greet_inline), turns[0][1]))
        if rng.random() < cfg.p_closing and len(turns) + 2 <= MAX_TURNS:
            acted = any(slot in said for _, said in scene for slot in ACTION_SLOTS)
            group = rng.choice(("thanks", "thanks", "wait", "neutral")) if acted else "thanks"
            agent_group = "closing" if group == "thanks" else "update"
            turns += [
                ("C", rng.choice(self.close_c[group])),
                ("A", rng.choice(self.close_a[agent_group])),
            ]
            if (
                group == "thanks"
                and rng.random() < cfg.p_close_more
                and len(turns) + 2 <= MAX_TURNS
                and turns[-1][1].endswith("?")
            ):
                turns += [
                    ("C", rng.choice(self.close_more["customer"])),
                    ("A", rng.choice(self.close_more["agent"])),
                ]
        lines = [f"{cfg.speakers[who]}: {self.filler.fill(said)}" for who, said in turns]
        return "\n".join(lines)

    def composed_paragraphs(self) -> list[str]:
        """Join 2-3 sentences of one topic; never repeat a combination."""
        rng = self.rng
        out: list[str] = []
        seen: set[tuple[str, ...]] = set()
        for topic in sorted(self.sentences):
            pool = self.sentences[topic]
            wanted = int(len(pool) * self.cfg.composed_ratio)
            tries = 0
            while wanted > 0 and tries < wanted * 20:
                tries += 1
                combo = tuple(rng.sample(pool, k=min(len(pool), rng.choice((2, 2, 3)))))
                if combo in seen:
                    continue
                seen.add(combo)
                out.append(" ".join(combo))
                wanted -= 1
        return out

    def build(self) -> list[str]:
        """Return all documents of this language in a shuffled, deterministic order."""
        docs: list[str] = []
        for _ in range(self.cfg.scene_repeats):
            for scene in self.scenes:
                self.filler.reset()
                docs.append(self.dialogue(scene))
        for paragraph in self.paragraphs:
            self.filler.reset()
            docs.append(self.filler.fill(paragraph))
        docs.extend(self.composed_paragraphs())
        self.rng.shuffle(docs)
        if self.variants:
            docs = [respell(doc, self.variants, self.rng) for doc in docs]
        return docs


def write_corpus(cfg: LangConfig, seed: int) -> int:
    """Build one language, write its file and return the number of characters written."""
    text = "\n\n".join(Builder(cfg, seed).build()) + "\n"
    cfg.out_file.write_text(text, encoding="utf-8")
    return len(text)


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lang", choices=[*LANGS, "all"], default="all")
    parser.add_argument("--seed", type=int, default=20240611)
    args = parser.parse_args()
    names = list(LANGS) if args.lang == "all" else [args.lang]
    for name in names:
        chars = write_corpus(LANGS[name], args.seed)
        print(f"{LANGS[name].out_file.name}: {chars} characters")


if __name__ == "__main__":
    main()
