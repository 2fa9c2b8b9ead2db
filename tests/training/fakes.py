"""A stand-in for the training process: scores chosen by the test, no model involved.

The gate and pipeline tests need a candidate that is clearly better or clearly worse than the
incumbent; constructing the predictions directly makes both cases exact and fast. The real
training process has its own tests (``test_train.py``, ``test_full_loop.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from training.data import load_pairs
from training.evaluate import score
from training.job import JobSpec
from training.results import JobResult


def half(text: str) -> str:
    """The first half of the words: a partly right answer."""
    words = text.split()
    return " ".join(words[: max(1, len(words) // 2)])


class FakeRunner:
    """Called like ``spawn_job``; records the specs it got.

    ``candidate``: ``"better"`` answers every test question with its reference, ``"worse"``
    answers with nothing useful; the base (and any incumbent) give half of each reference.
    """

    def __init__(self) -> None:
        self.candidate = "better"
        self.loads = True
        self.canary_answers: dict[str, str] | None = None
        self.specs: list[JobSpec] = []

    def __call__(self, spec: JobSpec, work_dir: Path, **_: Any) -> JobResult:
        self.specs.append(spec)
        pairs = load_pairs(Path(spec.test_file))
        references = [p["completion"] for p in pairs]
        partial = [half(r) for r in references]
        candidate = references if self.candidate == "better" else ["ok" for _ in references]
        Path(spec.adapter_dir).mkdir(parents=True, exist_ok=True)
        evals = {"base": score("base", partial, pairs).as_dict()}
        if spec.incumbent is not None:
            evals["active"] = score(spec.incumbent.version, partial, pairs).as_dict()
        if self.loads:
            evals["candidate"] = score(spec.version, candidate, pairs).as_dict()
        answers = self.canary_answers or {}
        return JobResult.from_json(
            {
                "version": spec.version,
                "adapter_dir": spec.adapter_dir,
                "train": {
                    "examples": 5,
                    "skipped": 0,
                    "epochs": 2,
                    "steps": 4,
                    "loss_steps": [[0.5, 3.0], [1.0, 2.5], [1.5, 2.0], [2.0, 1.8]],
                    "loss_epochs": [[1, 2.75], [2, 1.9]],
                    "final_loss": 1.9,
                    "seconds": 1.0,
                    "tokens": 400,
                    "tokens_per_s": 400.0,
                    "trainable_parameters": 10,
                    "total_parameters": 100,
                    "config": {},
                },
                "eval": evals,
                "incumbent_error": None,
                "smoke": {
                    "loaded": self.loads,
                    "error": None if self.loads else "OSError: adapter_model.safetensors truncated",
                    "canaries": [
                        {
                            "register": c.register,
                            "question": c.question,
                            "answer": answers.get(c.register, _script_answer(c.register)),
                        }
                        for c in spec.canaries
                    ]
                    if self.loads
                    else [],
                },
                "seconds": 2.0,
            }
        )


def _script_answer(register: str) -> str:
    return {
        "bn": "আমাদের হটলাইন ১৬৭৮৯।",
        "mixed": "আমাদের hotline ১৬৭৮৯।",
        "en": "Our hotline is 16789.",
        "banglish": "Amader hotline 16789.",
    }[register]
