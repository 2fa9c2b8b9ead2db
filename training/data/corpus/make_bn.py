"""Build the Bangla (``bn.txt``) and Bangla-English mixed (``mixed.txt``) starter corpora.

The text comes from hand-written pools in ``pools_bn/`` and ``pools_mixed/``:

* ``paragraphs.txt`` -- one short paragraph (1-4 sentences) per line, copied as documents;
* ``dialogues.txt`` -- complete hand-written dialogues separated by blank lines, copied as is;
* ``common.txt`` -- sections of generic turns (greeting pairs, "please wait", thanks,
  closings);
* ``intents.txt`` -- one block per customer-service situation with sections of requests,
  questions for details, customer answers, results, general explanations that fit every
  request of the block, and request/answer and follow-up question/answer pairs.

Extra dialogues of 2-8 turns are composed from ``common.txt`` and ``intents.txt`` with
templates.  Every random choice goes through ``random.Random(seed)`` with a fixed seed, and
the pools are read in a fixed order, so the output is byte-for-byte deterministic.  Each
pool line is drawn from a shuffled deck, so lines are reused evenly instead of a few
lines dominating, and a final pass adds dialogues until every intent line has been used.
Duplicate documents are dropped and the documents are shuffled.  ``mixed.txt`` labels each
composed dialogue either ``গ্রাহক:``/``এজেন্ট:`` or ``Customer:``/``Agent:``.

Usage::

    python training/data/corpus/make_bn.py            # writes bn.txt and mixed.txt
    python training/data/corpus/make_bn.py --check    # fails if the files are out of date
"""

from __future__ import annotations

import argparse
import random
import sys
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent

SEED = 20240521
SECTIONS = ("request", "ask", "provide", "result", "explain", "qa", "followup")
COMMON = ("greet", "wait", "thanks", "more", "nomore", "closing")
PAIRED = ("qa", "followup", "greet")
MODES = (("check", 0.45), ("general", 0.3), ("qa", 0.25))
# A "please wait / thanks" prefix is not put before results that already open like one.
NO_PREFIX = ("ধন্যবাদ", "thank", "দেখলাম", "দেখছি", "check", "পেয়েছি", "record", "রেকর্ডে")


@dataclass(frozen=True)
class Corpus:
    """One output file and where its pools live."""

    name: str
    pools: str
    generated: int
    labels: tuple[tuple[str, str], ...]


CORPORA = (
    Corpus("bn.txt", "pools_bn", 330, (("গ্রাহক", "এজেন্ট"),)),
    Corpus("mixed.txt", "pools_mixed", 330, (("গ্রাহক", "এজেন্ট"), ("Customer", "Agent"))),
)


@dataclass
class Intent:
    """One customer-service situation and its pools of turns."""

    name: str
    pools: dict[str, list[str]] = field(default_factory=dict)

    def has(self, section: str) -> bool:
        return bool(self.pools.get(section))

    def modes(self) -> list[tuple[str, float]]:
        """How a dialogue about this intent can unfold, with relative weights."""
        ready = {
            "check": all(self.has(s) for s in ("request", "ask", "provide", "result")),
            "general": self.has("request") and self.has("explain"),
            "qa": self.has("qa"),
        }
        return [(name, weight) for name, weight in MODES if ready[name]]


class Deck:
    """Draws lines from a pool in shuffled rounds so every line is used about equally."""

    def __init__(self, lines: list[str], rng: random.Random) -> None:
        if not lines:
            raise ValueError("empty pool")
        self._lines = list(lines)
        self._rng = rng
        self._queue: list[str] = []
        self._unused = set(lines)

    @property
    def fresh(self) -> bool:
        """Whether some line of the pool has not been drawn yet."""
        return bool(self._unused)

    def draw(self) -> str:
        if not self._queue:
            self._queue = list(self._lines)
            self._rng.shuffle(self._queue)
        line = self._queue.pop()
        self._unused.discard(line)
        return line


def clean(text: str) -> str:
    """NFC-normalise and strip a pool line."""
    return unicodedata.normalize("NFC", text).strip()


def read_lines(path: Path) -> list[str]:
    """Non-empty lines of a pool file, without ``# comment`` lines (``## name`` is kept)."""
    out = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = clean(raw)
        if line and not (line == "#" or line.startswith("# ")):
            out.append(line)
    return out


def read_sections(path: Path) -> dict[str, list[str]]:
    """Parse ``[section]`` headed lists."""
    sections: dict[str, list[str]] = {}
    current: str | None = None
    for line in read_lines(path):
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1]
            sections.setdefault(current, [])
        elif current is None:
            raise ValueError(f"{path}: line outside a section: {line}")
        else:
            sections[current].append(line)
    return sections


def read_intents(path: Path) -> list[Intent]:
    """Parse ``## name`` blocks made of ``[section]`` lists."""
    intents: list[Intent] = []
    current: str | None = None
    for line in read_lines(path):
        if line.startswith("## "):
            intents.append(Intent(line[3:].strip()))
            current = None
        elif line.startswith("[") and line.endswith("]"):
            current = line[1:-1]
            if current not in SECTIONS:
                raise ValueError(f"{path}: unknown section {current}")
            intents[-1].pools.setdefault(current, [])
        elif current is None or not intents:
            raise ValueError(f"{path}: line outside a section: {line}")
        else:
            if current in PAIRED and " || " not in line:
                raise ValueError(f"{path}: pair without ' || ': {line}")
            intents[-1].pools[current].append(line)
    for intent in intents:
        if not intent.modes():
            raise ValueError(f"{path}: intent {intent.name} has no usable sections")
    return intents


def read_dialogues(path: Path) -> list[str]:
    """Hand-written dialogues, separated by blank lines."""
    text = unicodedata.normalize("NFC", path.read_text(encoding="utf-8"))
    blocks = []
    for block in text.split("\n\n"):
        lines = [ln.strip() for ln in block.strip().splitlines() if ln.strip()]
        lines = [ln for ln in lines if not ln.startswith("#")]
        if lines:
            blocks.append("\n".join(lines))
    return blocks


class Composer:
    """Builds dialogues for one corpus from its pools."""

    def __init__(self, folder: Path, rng: random.Random) -> None:
        self.rng = rng
        common = read_sections(folder / "common.txt")
        missing = [name for name in COMMON if not common.get(name)]
        if missing:
            raise ValueError(f"{folder}/common.txt lacks sections {missing}")
        self.common = {name: Deck(common[name], rng) for name in COMMON}
        self.intents = read_intents(folder / "intents.txt")
        self.decks: dict[tuple[str, str], Deck] = {}
        for intent in self.intents:
            for section, lines in intent.pools.items():
                self.decks[(intent.name, section)] = Deck(lines, rng)
        self.intent_deck = Deck([i.name for i in self.intents], rng)
        self.by_name = {i.name: i for i in self.intents}

    def pick(self, intent: Intent, section: str) -> str:
        return self.decks[(intent.name, section)].draw()

    def fresh(self, intent: Intent, *sections: str) -> bool:
        """Whether any of these sections of the intent still has undrawn lines."""
        return any(intent.has(s) and self.decks[(intent.name, s)].fresh for s in sections)

    def pending(self) -> list[Intent]:
        """Intents with lines that have not been used yet."""
        return [i for i in self.intents if self.fresh(i, *SECTIONS)]

    def turns(self, intent: Intent, cover: bool = False) -> list[tuple[int, str]]:
        """A list of (speaker, text) turns; speaker 0 is the customer, 1 the agent.

        With ``cover`` the dialogue prefers parts of the intent that are still unused.
        """
        rng = self.rng
        modes = intent.modes()
        if cover:
            sections = {
                "check": ("request", "ask", "provide", "result"),
                "general": ("request", "explain"),
                "qa": ("qa",),
            }
            unused = [(m, w) for m, w in modes if self.fresh(intent, *sections[m])]
            modes = unused or modes
        mode = rng.choices([m for m, _ in modes], weights=[w for _, w in modes])[0]
        out: list[tuple[int, str]] = []
        if rng.random() < 0.3:
            hello, welcome = self.common["greet"].draw().split(" || ", 1)
            out.append((0, hello))
            out.append((1, welcome))
        if mode == "qa":
            request, answer = self.pick(intent, "qa").split(" || ", 1)
            out.append((0, request))
            out.append((1, answer))
        elif mode == "check":
            out.append((0, self.pick(intent, "request")))
            out.append((1, self.pick(intent, "ask")))
            out.append((0, self.pick(intent, "provide")))
            result = self.pick(intent, "result")
            opening = result[:30].casefold()
            if rng.random() < 0.35 and not any(w in opening for w in NO_PREFIX):
                result = f"{self.common['wait'].draw()} {result}"
            out.append((1, result))
        else:
            out.append((0, self.pick(intent, "request")))
            out.append((1, self.pick(intent, "explain")))
        if out[-1][1].endswith("?"):
            return out  # the agent is waiting for details; a generic "thanks" would not fit
        ask_more = rng.random() < 0.45 or (cover and self.fresh(intent, "followup"))
        if intent.has("followup") and ask_more and len(out) <= 4:
            question, answer = self.pick(intent, "followup").split(" || ", 1)
            out.append((0, question))
            out.append((1, answer))
        room = 8 - len(out)
        if room >= 2 and rng.random() < 0.75:
            out.append((0, self.common["thanks"].draw()))
            if room >= 4 and rng.random() < 0.35:
                out.append((1, self.common["more"].draw()))
                out.append((0, self.common["nomore"].draw()))
            out.append((1, self.common["closing"].draw()))
        return out

    def dialogue(self, labels: tuple[str, str], cover: bool = False) -> str:
        """One dialogue; with ``cover`` it is about an intent that has unused lines."""
        pending = self.pending() if cover else []
        if pending:
            intent = pending[self.rng.randrange(len(pending))]
        else:
            intent = self.by_name[self.intent_deck.draw()]
        turns = self.turns(intent, cover=bool(pending))
        return "\n".join(f"{labels[who]}: {text}" for who, text in turns)


def build(corpus: Corpus) -> str:
    """The full text of one corpus."""
    rng = random.Random(f"{SEED}-{corpus.name}")
    folder = HERE / corpus.pools
    docs = read_lines(folder / "paragraphs.txt")
    docs += read_dialogues(folder / "dialogues.txt")
    composer = Composer(folder, rng)
    for _ in range(corpus.generated):
        labels = corpus.labels[rng.randrange(len(corpus.labels))]
        docs.append(composer.dialogue(labels))
    # Then make sure every hand-written intent line is used at least once.
    for _ in range(corpus.generated):
        if not composer.pending():
            break
        labels = corpus.labels[rng.randrange(len(corpus.labels))]
        docs.append(composer.dialogue(labels, cover=True))
    unique = list(dict.fromkeys(docs))
    rng.shuffle(unique)
    return "\n\n".join(unique) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only verify the files")
    args = parser.parse_args(argv)
    stale = []
    for corpus in CORPORA:
        text = build(corpus)
        target = HERE / corpus.name
        if args.check:
            if not target.exists() or target.read_text(encoding="utf-8") != text:
                stale.append(corpus.name)
        else:
            target.write_text(text, encoding="utf-8")
            print(f"{corpus.name}: {len(text)} characters")
    if stale:
        print(f"out of date: {', '.join(stale)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
