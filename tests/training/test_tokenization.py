"""The label boundary of a training example, for the starter's byte-level BPE tokenizer and for
a Llama-style SentencePiece tokenizer trained here (the Llama-2 code path of transformers: a
``tokenizer.model`` converted by ``LlamaTokenizer``).

Labels must be ``-100`` exactly over the prompt's tokens — the tokens serving feeds the model —
and supervise every answer token and the end-of-turn token, and an example longer than the
limit is dropped and counted instead of losing its end-of-turn token.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from model.prompting import Turn, build_prompt, completion_text
from training.examples import IGNORE_INDEX, encode, encode_example, example_prompt, prompt_for

#: Text for the SentencePiece model, in the four registers (written for this test).
CORPUS = [
    "Your refund reaches the bKash wallet within three working days.",
    "The rider calls you an hour before he reaches your gate.",
    "Change the delivery address from My Orders before the parcel is packed.",
    "আপনার টাকা তিন কর্মদিবসের মধ্যে বিকাশ ওয়ালেটে ফেরত যাবে।",
    "রাইডার পৌঁছানোর এক ঘণ্টা আগে আপনাকে ফোন করবেন।",
    "পার্সেল প্যাক হওয়ার আগে ঠিকানা বদলানো যায়।",
    "apnar taka tin kormodiboser moddhe bkash wallet e ferot jabe.",
    "rider pouchanor ek ghonta age apnake phone korbe.",
    "parcel pack howar age address bodlano jay, vai.",
    "আপনার refund তিন দিনের মধ্যে wallet এ চলে যাবে।",
    "rider আসার আগে একবার call দিবে।",
    "My Orders থেকে address change করতে পারবেন।",
]

#: A chat template of the Mistral-Instruct kind (a Llama-style SentencePiece tokenizer too):
#: the answer follows ``[/INST]`` with no space, so tokenizing it apart from its prompt would
#: start it with a word-start marker the model never produces there.
GLUED_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "{% if message['role'] == 'user' %}[INST] "
    "{% if loop.index0 == 1 and messages[0]['role'] == 'system' %}"
    "{{ messages[0]['content'] }}\n\n{% endif %}"
    "{{ message['content'] }} [/INST]"
    "{% elif message['role'] == 'assistant' %}{{ message['content'] }}{{ eos_token }}"
    "{% endif %}{% endfor %}"
)

PAIRS = [
    {"text": "টাকা কবে ফেরত পাব?", "completion": "তিন কর্মদিবসের মধ্যে ওয়ালেটে পাবেন।"},
    {"text": "When does the rider call?", "completion": "An hour before he reaches you."},
    {"text": "address bodlano jabe?", "completion": "Ji, parcel pack howar age bodlano jay."},
    {"text": "refund কবে পাব?", "completion": "তিন দিনের মধ্যে wallet এ পাবেন।"},
]


def _spm_model(path: Path) -> Path:
    """A SentencePiece BPE model with Llama-2's training options (byte fallback, digits split)."""
    spm = pytest.importorskip("sentencepiece")
    pytest.importorskip("google.protobuf")  # transformers reads the model's protobuf
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(CORPUS * 20),
        model_writer=model,
        vocab_size=420,
        model_type="bpe",
        byte_fallback=True,
        split_digits=True,
        character_coverage=1.0,
        add_dummy_prefix=True,
        remove_extra_whitespaces=False,
        normalization_rule_name="identity",
        allow_whitespace_only_pieces=True,
        unk_id=0,
        bos_id=1,
        eos_id=2,
        pad_id=-1,
        hard_vocab_limit=False,
        minloglevel=2,
    )
    path.mkdir(parents=True, exist_ok=True)
    (path / "tokenizer.model").write_bytes(model.getvalue())
    return path


def _llama(path: Path, *, legacy: bool, template: str | None = None) -> Any:
    from transformers import AutoTokenizer, LlamaTokenizer

    config: dict[str, Any] = {
        "tokenizer_class": "LlamaTokenizer",
        "bos_token": "<s>",
        "eos_token": "</s>",
        "unk_token": "<unk>",
        "add_bos_token": True,
        "add_eos_token": False,
        "legacy": legacy,
    }
    if template is not None:
        config["chat_template"] = template
    (path / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")
    tokenizer = AutoTokenizer.from_pretrained(path)
    assert isinstance(tokenizer, LlamaTokenizer)
    return tokenizer


@pytest.fixture(scope="module")
def spm_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _spm_model(tmp_path_factory.mktemp("spm"))


@pytest.fixture(scope="module", params=["starter", "llama", "llama-legacy", "llama-glued"])
def tokenizer(request: pytest.FixtureRequest, spm_dir: Path, tiny_model_dir: Path) -> Any:
    if request.param == "starter":
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(tiny_model_dir)
    # Each variant gets its own folder: the config file differs.
    folder = spm_dir.parent / f"{spm_dir.name}-{request.param}"
    folder.mkdir(exist_ok=True)
    (folder / "tokenizer.model").write_bytes((spm_dir / "tokenizer.model").read_bytes())
    template = GLUED_TEMPLATE if request.param == "llama-glued" else None
    return _llama(folder, legacy=request.param == "llama-legacy", template=template)


def _prompts(tokenizer: Any) -> list[tuple[str, str]]:
    """(prompt, answer) of new chats and of one served with history."""
    found = [(prompt_for(p["text"], tokenizer, compact=True), p["completion"]) for p in PAIRS]
    history = [Turn("user", "amar refund hoyni"), Turn("assistant", "Order number ta din.")]
    served = build_prompt(
        "BG-1207, kobe pabo?", language="banglish", history=history, tokenizer=tokenizer
    )
    found.append((served, "Tin diner moddhe wallet e pouche jabe."))
    return found


def test_labels_cover_exactly_the_answer_and_end_of_turn(tokenizer: Any) -> None:
    for prompt, answer in _prompts(tokenizer):
        completion = completion_text(answer, tokenizer)
        example = encode_example(prompt, completion, tokenizer)
        prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
        n = len(prompt_ids)
        # One text, as the model reads it; its start is exactly what serving feeds.
        assert (
            example.input_ids
            == tokenizer(prompt + completion, add_special_tokens=False)["input_ids"]
        )
        assert example.input_ids[:n] == prompt_ids
        assert example.labels[:n] == [IGNORE_INDEX] * n
        assert example.labels[n:] == example.input_ids[n:]
        assert IGNORE_INDEX not in example.labels[n:]
        assert example.labels[-1] == tokenizer.eos_token_id
        said = tokenizer.decode(example.input_ids[n:], skip_special_tokens=True)
        assert " ".join(said.split()) == answer


def test_tokenizing_the_answer_apart_would_move_the_boundary(tokenizer: Any) -> None:
    """Where the answer is glued to ``[/INST]``, answer tokens on their own differ."""
    apart_differs = []
    for prompt, answer in _prompts(tokenizer):
        completion = completion_text(answer, tokenizer)
        joint = encode_example(prompt, completion, tokenizer).input_ids
        apart = (
            tokenizer(prompt, add_special_tokens=False)["input_ids"]
            + tokenizer(completion, add_special_tokens=False)["input_ids"]
        )
        apart_differs.append(apart != joint)
    if getattr(tokenizer, "chat_template", None):
        assert all(apart_differs)  # the joint tokenization is the one serving continues
    else:
        assert not any(apart_differs)  # " answer" after " [/INST]": both agree here


def test_an_example_over_the_limit_is_dropped_and_counted(tokenizer: Any) -> None:
    pairs = [{**p, "reply_language": "bn"} for p in PAIRS]
    lengths = []
    for pair in pairs:
        prompt, _ = example_prompt(pair, tokenizer, compact=True)
        example = encode_example(prompt, completion_text(pair["completion"], tokenizer), tokenizer)
        lengths.append(len(example.input_ids))
    limit = sorted(lengths)[len(lengths) // 2]

    encoded = encode(pairs, tokenizer, compact=True, max_length=limit)
    assert encoded.too_long == sum(1 for n in lengths if n > limit) >= 1
    kept = sorted(n for n in lengths if n <= limit)
    assert sorted(len(e.input_ids) for e in encoded.examples) == kept and limit in kept
    for example in encoded.examples:
        # Kept whole: the last token is still the end of turn, and supervised.
        assert example.input_ids[-1] == example.labels[-1] == tokenizer.eos_token_id
    # One token short of the longest: dropped, not cut.
    longest = max(lengths)
    assert encode(pairs, tokenizer, compact=True, max_length=longest - 1).too_long >= 1
    assert encode(pairs, tokenizer, compact=True, max_length=longest).too_long == 0
