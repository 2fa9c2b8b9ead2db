"""A stand-in for the training process: scores chosen by the test, no model involved.

The gate and pipeline tests need a candidate that is clearly better or clearly worse than the
incumbent; constructing the predictions directly makes both cases exact and fast. The real
training process has its own tests (``test_train.py``, ``test_full_loop.py``).
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from training.data import load_pairs
from training.evaluate import score
from training.facts import load_questions
from training.job import JobSpec
from training.results import FactAnswer, FactRun, JobResult


def half(text: str) -> str:
    """The first half of the words: a partly right answer."""
    words = text.split()
    return " ".join(words[: max(1, len(words) // 2)])


class FakeRunner:
    """Called like ``spawn_job``; records the specs it got.

    ``candidate``: ``"better"`` answers every test question with its reference, ``"worse"``
    answers with nothing useful; the base (and any incumbent) give half of each reference.
    ``facts``: the candidate's fact-check verdicts against the incumbent's (which gets every
    other question right): ``"same"``, ``"worse"`` (all wrong, some contradicted) or
    ``"better"`` (all right). ``incumbent_error``: the active adapter "did not load".
    """

    def __init__(self) -> None:
        self.candidate = "better"
        self.facts = "same"
        self.loads = True
        self.incumbent_error: str | None = None
        self.canary_answers: dict[str, str] | None = None
        self.specs: list[JobSpec] = []
        self.during: list[Any] = []
        """Callables run while "training" (a test changes the world meanwhile)."""

    def __call__(self, spec: JobSpec, work_dir: Path, **_: Any) -> JobResult:
        self.specs.append(spec)
        pairs = load_pairs(Path(spec.test_file))
        references = [p["completion"] for p in pairs]
        partial = [half(r) for r in references]
        candidate = references if self.candidate == "better" else ["ok" for _ in references]
        Path(spec.adapter_dir).mkdir(parents=True, exist_ok=True)
        for action in self.during:
            action()
        evals = {"base": score("base", partial, pairs).as_dict()}
        if spec.incumbent is not None and self.incumbent_error is None:
            evals["active"] = score(spec.incumbent.version, partial, pairs).as_dict()
        if self.loads:
            evals["candidate"] = score(spec.version, candidate, pairs).as_dict()
        answers = self.canary_answers or {}
        facts = self.fact_runs(spec) if self.loads and spec.facts is not None else {}
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
                "incumbent_error": self.incumbent_error,
                "facts": facts,
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

    def fact_runs(self, spec: JobSpec) -> dict[str, Any]:
        assert spec.facts is not None and spec.facts_database is not None
        assert Path(spec.facts_database).is_file(), "the scratch copy exists while training"
        questions = load_questions(spec.facts.file, spec.facts.split)
        old = [i % 2 == 0 for i in range(len(questions))]
        new = {"same": old, "better": [True] * len(old), "worse": [False] * len(old)}
        incumbent = None if spec.incumbent is None or self.incumbent_error else spec.incumbent
        runs = {
            "incumbent": _fact_run(incumbent.version if incumbent else "base", questions, old),
            "candidate": _fact_run(spec.version, questions, new[self.facts]),
        }
        return {role: asdict(run) for role, run in runs.items()}


def _fact_run(name: str, questions: list[Any], right: list[bool]) -> FactRun:
    return FactRun(
        name=name,
        answers=[
            FactAnswer(
                id=q.id,
                register=q.register,
                fact=q.fact,
                question=q.question,
                answer="stated" if ok else "unsure",
                source="knowledge" if ok else "model",
                right=ok,
                contradicted=not ok and i % 3 == 0,
            )
            for i, (q, ok) in enumerate(zip(questions, right, strict=True))
        ],
    )


def _script_answer(register: str) -> str:
    return {
        "bn": "আমাদের হটলাইন ১৬৭৮৯।",
        "mixed": "আমাদের hotline ১৬৭৮৯।",
        "en": "Our hotline is 16789.",
        "banglish": "Amader hotline 16789.",
    }[register]
