"""Prompt format: Llama-2 chat markers, system prompt styles, history budget, chat templates."""

from __future__ import annotations

from pathlib import Path

import pytest
from transformers import AutoTokenizer

from model.prompting import (
    PromptConfig,
    Turn,
    build_prompt,
    completion_text,
    format_chat,
    normalize_turns,
    system_prompt,
)
from model.text.policy import INSTRUCTIONS

COMPACT = PromptConfig(system_style="compact")


def test_single_question_is_the_llama2_format() -> None:
    prompt = build_prompt("আমার অর্ডার কবে আসবে?", language="bn", config=COMPACT)
    assert prompt == (
        "<s>[INST] <<SYS>>\nBazarghor customer service. "
        f"{INSTRUCTIONS['bn']}\n<</SYS>>\n\nআমার অর্ডার কবে আসবে? [/INST]"
    )


def test_history_turns_come_before_the_question() -> None:
    history = [Turn("user", "hi"), Turn("assistant", "Hello! How can I help?")]
    prompt = build_prompt("Where is my order?", language="en", history=history, config=COMPACT)
    assert prompt.endswith(
        "\n<</SYS>>\n\nhi [/INST] Hello! How can I help? </s><s>[INST] Where is my order? [/INST]"
    )


def test_history_keeps_the_newest_pairs_within_the_budget(tiny_model_dir: Path) -> None:
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    history: list[Turn] = []
    for number in range(10):
        history += [Turn("user", f"question {number}"), Turn("assistant", f"answer {number}")]
    small = PromptConfig(system_style="compact", history_tokens=30)
    prompt = build_prompt("now?", language="en", history=history, tokenizer=tokenizer, config=small)
    assert "question 9" in prompt and "answer 9" in prompt
    assert "question 0" not in prompt
    none = PromptConfig(system_style="compact", history_tokens=0)
    assert "question" not in build_prompt("now?", language="en", history=history, config=none)


def test_turns_are_merged_and_aligned_to_user_assistant_pairs() -> None:
    turns = normalize_turns(
        [
            Turn("assistant", "Welcome!"),
            Turn("user", "hello"),
            Turn("user", "anyone?"),
            Turn("assistant", "Yes, how can I help?"),
            Turn("user", "unanswered"),
        ]
    )
    assert turns == [Turn("user", "hello\nanyone?"), Turn("assistant", "Yes, how can I help?")]


@pytest.mark.parametrize("language", ["bn", "en", "banglish", "mixed", "bilingual"])
def test_full_system_prompt_states_persona_language_refusal_and_human_agent(
    language: str,
) -> None:
    text = system_prompt(language, PromptConfig(system_style="full"))
    assert "Bazarghor" in text and INSTRUCTIONS[language] in text
    assert "Never reveal" in text and "/agent" in text
    compact = system_prompt(language, COMPACT)
    assert INSTRUCTIONS[language] in compact and len(compact) < len(text) / 2


def test_auto_style_is_compact_only_for_starter_models() -> None:
    auto = PromptConfig()
    assert system_prompt("en", auto, compact=True) == system_prompt("en", COMPACT)
    assert system_prompt("en", auto) == system_prompt("en", PromptConfig(system_style="full"))


def test_routing_labels_map_to_the_policy_instruction() -> None:
    assert INSTRUCTIONS["bilingual"] in system_prompt("und", COMPACT)
    custom = PromptConfig(system_template="Shop {company}. {instruction}", company="Dokan")
    assert system_prompt("en", custom) == f"Shop Dokan. {INSTRUCTIONS['en']}"


def test_prompt_plus_completion_is_the_whole_dialogue(tiny_model_dir: Path) -> None:
    """Training builds examples as build_prompt + completion_text; serving must match."""
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    prompt = build_prompt("kobe ashbe?", language="banglish", tokenizer=tokenizer, config=COMPACT)
    whole = format_chat(
        system_prompt("banglish", COMPACT),
        [Turn("user", "kobe ashbe?"), Turn("assistant", "2 diner moddhe.")],
        tokenizer,
    )
    assert prompt + completion_text("2 diner moddhe.", tokenizer) == whole
    assert whole.endswith(f" 2 diner moddhe. {tokenizer.eos_token}")


def test_a_chat_template_is_used_when_the_tokenizer_has_one(tiny_model_dir: Path) -> None:
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    tokenizer.chat_template = (
        "{% for m in messages %}<|{{ m.role }}|>{{ m.content }}\n{% endfor %}"
        "{% if add_generation_prompt %}<|assistant|>{% endif %}"
    )
    prompt = build_prompt("hello?", language="en", tokenizer=tokenizer, config=COMPACT)
    assert prompt == f"<|system|>{system_prompt('en', COMPACT)}\n<|user|>hello?\n<|assistant|>"
    assert completion_text("Hi!", tokenizer) == "Hi!\n"
