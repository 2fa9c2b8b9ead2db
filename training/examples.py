"""Training examples: the prompt a pair's customer was served, then its answer, as token ids.

Serving and training must agree token for token (:mod:`training.train` uses these; the
retrain job's evaluation prompts come from :func:`example_prompt` too):

* :func:`example_prompt` — the stored, served prompt of a database pair when it fits the
  tokenizer's chat format; else the prompt serving builds from the stored reply language and
  the chat's earlier turns; a shipped pair (no stored context) gets a new chat's prompt;
* :func:`encode_example` — prompt and answer (with its end-of-turn token) tokenized as one
  text, labels ``-100`` over the prompt's tokens;
* :func:`encode` — an example over ``max_length`` tokens is dropped and counted, never cut.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from model.config import PromptConfig
from model.prompting import Turn, build_prompt, completion_text, format_chat
from model.text.langid import detect
from model.text.policy import reply_policy

__all__ = [
    "IGNORE_INDEX",
    "Encoded",
    "Example",
    "collate",
    "encode",
    "encode_example",
    "encode_pairs",
    "example_prompt",
    "format_frame",
    "prompt_for",
]

IGNORE_INDEX = -100

#: The entries serving would put in the prompt of a question (question, reply language) ->
#: (question, answer) pairs; see :func:`model.grounding.prompt_knowledge`.
Knowledge = Callable[[str, str], list[tuple[str, str]]]


@dataclass(frozen=True)
class Example:
    """Token ids of one training example and its labels (``-100`` where no loss is taken)."""

    input_ids: list[int]
    labels: list[int]


def prompt_for(
    question: str,
    tokenizer: Any,
    *,
    compact: bool,
    config: PromptConfig | None = None,
    knowledge: Knowledge | None = None,
) -> str:
    """The prompt serving builds for a new chat's ``question`` (no history, no preference),
    with the entries ``knowledge`` finds for it, as serving shows the model."""
    language = reply_policy(detect(question).label).language
    return build_prompt(
        question,
        language=language,
        tokenizer=tokenizer,
        config=config,
        compact=compact,
        knowledge=knowledge(question, language) if knowledge else None,
    )


def format_frame(tokenizer: Any) -> tuple[str, str]:
    """The first line every prompt of this tokenizer's chat format starts with, and its end.

    A stored prompt is trained on only when it fits this frame: one served while another base
    model (another chat format) was in service would teach a format nobody serves any more.
    Only the first line is compared at the start: chat templates may date their system header.
    """
    system, question = "SYSTEMSLOT", "QUESTIONSLOT"
    text = format_chat(system, [Turn("user", question)], tokenizer)
    head = text.split(system, 1)[0] if system in text else ""
    tail = text.rsplit(question, 1)[1] if question in text else ""
    return head.split("\n", 1)[0], tail


def example_prompt(
    pair: Mapping[str, Any],
    tokenizer: Any,
    *,
    compact: bool,
    config: PromptConfig | None = None,
    knowledge: Knowledge | None = None,
) -> tuple[str, bool]:
    """The prompt ``pair`` trains (and is evaluated) on, and whether it is the one served.

    1. ``prompt`` (the stored, served prompt), when it fits the tokenizer's format;
    2. else, with ``reply_language``: what serving builds from it and ``history``;
    3. else (shipped pairs): a new chat's prompt, :func:`prompt_for`.

    A built prompt carries the entries ``knowledge`` finds for the question, so the model
    learns to answer with what the company knows in front of it, as serving asks it to.
    """
    served = pair.get("prompt") or ""
    if served:
        head, tail = format_frame(tokenizer)
        if served.startswith(head) and served.endswith(tail):
            return served, True
    language = pair.get("reply_language")
    if language:
        history = [Turn(turn["role"], turn["text"]) for turn in pair.get("history") or ()]
        built = build_prompt(
            pair["text"],
            language=language,
            history=history,
            tokenizer=tokenizer,
            config=config,
            compact=compact,
            knowledge=knowledge(pair["text"], language) if knowledge else None,
        )
        return built, False
    built = prompt_for(pair["text"], tokenizer, compact=compact, config=config, knowledge=knowledge)
    return built, False


def encode_example(prompt: str, answer: str, tokenizer: Any) -> Example:
    """``prompt + answer`` tokenized as one text; the loss covers what follows the prompt.

    Tokenized apart, the answer would start with tokens the model never produces after that
    prompt (a SentencePiece tokenizer puts a word-start marker before a text's first word).
    The label boundary is where the prompt's own tokens — the ones serving feeds the model —
    stop agreeing with the joint tokenization; for the formats here that is the prompt's end.
    """
    ids = tokenizer(prompt + answer, add_special_tokens=False)["input_ids"]
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    boundary = 0
    for ours, joint in zip(prompt_ids, ids, strict=False):
        if ours != joint:
            break
        boundary += 1
    return Example(input_ids=list(ids), labels=[IGNORE_INDEX] * boundary + list(ids[boundary:]))


@dataclass
class Encoded:
    """Pairs tokenized into examples, and what was left out."""

    examples: list[Example]
    too_long: int
    served_prompts: int


def encode(
    pairs: Sequence[Mapping[str, Any]],
    tokenizer: Any,
    *,
    compact: bool,
    max_length: int,
    prompt: PromptConfig | None = None,
    knowledge: Knowledge | None = None,
) -> Encoded:
    """Tokenize pairs into examples; one over ``max_length`` tokens is dropped and counted."""
    encoded = Encoded(examples=[], too_long=0, served_prompts=0)
    for pair in pairs:
        text, served = example_prompt(
            pair, tokenizer, compact=compact, config=prompt, knowledge=knowledge
        )
        example = encode_example(text, completion_text(pair["completion"], tokenizer), tokenizer)
        supervised = sum(1 for label in example.labels if label != IGNORE_INDEX)
        if len(example.input_ids) > max_length or not supervised:
            encoded.too_long += 1
            continue
        encoded.examples.append(example)
        encoded.served_prompts += served
    return encoded


def encode_pairs(
    pairs: Sequence[Mapping[str, Any]],
    tokenizer: Any,
    *,
    compact: bool,
    max_length: int,
    prompt: PromptConfig | None = None,
    knowledge: Knowledge | None = None,
) -> tuple[list[Example], int]:
    """Tokenize pairs into examples; returns (examples, how many were dropped as too long)."""
    encoded = encode(
        pairs, tokenizer, compact=compact, max_length=max_length, prompt=prompt, knowledge=knowledge
    )
    return encoded.examples, encoded.too_long


def collate(examples: Sequence[Example], pad_id: int) -> dict[str, torch.Tensor]:
    """Right-pad a batch; padding is masked out of attention and loss."""
    width = max(len(e.input_ids) for e in examples)
    ids = torch.full((len(examples), width), pad_id, dtype=torch.long)
    labels = torch.full((len(examples), width), IGNORE_INDEX, dtype=torch.long)
    mask = torch.zeros((len(examples), width), dtype=torch.long)
    for row, example in enumerate(examples):
        n = len(example.input_ids)
        ids[row, :n] = torch.tensor(example.input_ids)
        labels[row, :n] = torch.tensor(example.labels)
        mask[row, :n] = 1
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}
