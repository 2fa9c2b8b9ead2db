"""The starter corpus as the starter model is pretrained on it, and its tokenizer.

Steps 1 to 3 of the recipe in :mod:`training.starter`: read the ``*.txt`` corpus (documents
separated by blank lines; a document whose lines all start with ``Customer:``/``Agent:`` or
``গ্রাহক:``/``এজেন্ট:`` is a dialogue), train a byte-level BPE tokenizer on it, and write every
dialogue in the serving prompt format.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from model.prompting import FORMAT_TOKENS, PromptConfig, Turn, format_chat, system_prompt
from model.text.languages import REGISTERS
from training.starter_config import DEFAULT

BOS, EOS, PAD = "<s>", "</s>", "<pad>"
SPECIAL_TOKENS = (BOS, EOS, PAD, *FORMAT_TOKENS)

# Words are runs of letters *and marks*: GPT-2's pattern (\p{L}+) would cut Bangla words at
# every vowel sign, and BPE can never merge across those cuts.
PRE_TOKENIZE = r" ?[\p{L}\p{M}]+| ?\p{N}+| ?[^\s\p{L}\p{M}\p{N}]+|\s+(?!\S)|\s+"

CUSTOMER_LABELS = ("customer", "গ্রাহক", "c", "kastomar", "grahok")
AGENT_LABELS = ("agent", "এজেন্ট", "a", "ejent", "support")
_SPEAKER = re.compile(r"^\s*([^:]{1,20}):\s*(.*)$")


@dataclass(frozen=True)
class Document:
    """A corpus document: a dialogue (``turns``) or a paragraph (``text``)."""

    register: str
    source: str
    turns: tuple[Turn, ...] = ()
    text: str = ""


# --- corpus -------------------------------------------------------------------------------


def read_corpus(corpus_dir: Path, *, max_chars: int | None = None) -> list[Document]:
    """Every document of every ``*.txt`` file, files in name order."""
    files = sorted(corpus_dir.glob("*.txt"))
    if not files:
        raise FileNotFoundError(f"no *.txt starter corpus in {corpus_dir}")
    documents: list[Document] = []
    for path in files:
        text = path.read_text(encoding="utf-8")
        if max_chars is not None:
            text = text[:max_chars].rsplit("\n\n", 1)[0]
        register = path.stem if path.stem in REGISTERS else "und"
        for block in re.split(r"\n\s*\n", text):
            document = parse_document(block, register=register, source=path.name)
            if document is not None:
                documents.append(document)
    return documents


def parse_document(block: str, *, register: str, source: str) -> Document | None:
    """A dialogue when every line has a customer/agent label, else a paragraph."""
    lines = [line.strip() for line in block.strip().splitlines() if line.strip()]
    if not lines:
        return None
    turns: list[Turn] = []
    for line in lines:
        match = _SPEAKER.match(line)
        label = match.group(1).strip().casefold() if match else ""
        if label in CUSTOMER_LABELS:
            turns.append(Turn("user", match.group(2).strip()))  # type: ignore[union-attr]
        elif label in AGENT_LABELS:
            turns.append(Turn("assistant", match.group(2).strip()))  # type: ignore[union-attr]
        else:
            return Document(register=register, source=source, text=" ".join(lines))
    return Document(register=register, source=source, turns=tuple(turns))


def dialogue_turns(turns: Sequence[Turn]) -> list[Turn]:
    """Merge consecutive turns of one speaker; a dialogue must open with the customer."""
    merged: list[Turn] = []
    for turn in turns:
        if merged and merged[-1].role == turn.role:
            merged[-1] = Turn(turn.role, f"{merged[-1].text} {turn.text}")
        else:
            merged.append(turn)
    while merged and merged[0].role != "user":
        merged.pop(0)
    return merged


def training_text(document: Document, *, prompt: PromptConfig | None = None) -> str:
    """A document as the model is trained on it: dialogues in the serving prompt format."""
    if not document.turns:
        return f"{BOS}{document.text}{EOS}"
    turns = dialogue_turns(document.turns)
    if not turns:
        return ""
    system = system_prompt(document.register, prompt or PromptConfig(), compact=True)
    # The tokenizer is not built yet; the starter format uses the same <s>/</s> markers.
    return format_chat(system, turns)


# --- tokenizer ----------------------------------------------------------------------------


def train_tokenizer(texts: Sequence[str], vocab_size: int) -> Any:
    """A byte-level BPE tokenizer (a transformers fast tokenizer) trained on ``texts``."""
    from tokenizers import (
        AddedToken,
        Regex,
        Tokenizer,
        decoders,
        models,
        pre_tokenizers,
        trainers,
    )
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(PRE_TOKENIZE), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tokenizer.decoder = decoders.ByteLevel()
    # Markers swallow the space before them: "question [/INST]" and "answer </s>" would
    # otherwise spend a lone-space token each, the most frequent token of the corpus.
    specials = [AddedToken(token, special=True, lstrip=True) for token in SPECIAL_TOKENS]
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        min_frequency=2,
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token=BOS,
        eos_token=EOS,
        pad_token=PAD,
        additional_special_tokens=list(FORMAT_TOKENS),
        padding_side="left",
        model_max_length=DEFAULT.max_positions,
    )
