"""The heavy half of a retrain run: train a candidate, then score it, in a separate process.

The pipeline (:mod:`training.pipeline`) writes a :class:`JobSpec` as JSON and starts
``python -m training.job SPEC RESULT``, niced, so the bot keeps answering while the CPU or GPU
works and every byte of training memory returns to the system when the process ends. The
child trains the adapter, reloads the base, loads the saved adapter from disk (that is the
smoke check's "it loads") and generates answers to the test set for the base model, the
incumbent adapter and the candidate with the serving generation code, then the canary
questions for the candidate, then — with a fact-check set — asks it through the answering
pipeline for incumbent and candidate (:mod:`training.facts`, on the scratch copy of the
database the parent made). The result is JSON for the parent to gate and report.

An incumbent that does not load (deleted, corrupt, of another base) does not fail the run:
serving cannot load it either, so the candidate is compared with the base model and the
result says why (``incumbent_error``).

:func:`run_job` is the same work in the calling process (tests, and ``uttor eval``'s logic).
"""

from __future__ import annotations

import contextlib
import gc
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import types
import typing
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any

from model.config import MemoryConfig, PromptConfig
from model.fingerprint import KEY as BASE_KEY
from model.fingerprint import fingerprint
from training.config import Canary, EvalConfig, FactsConfig, TrainConfig
from training.data import load_pairs
from training.knowledge_prompts import prompt_knowledge
from training.results import (
    AdapterSpec,
    CanaryResult,
    FactRun,
    JobResult,
    SmokeResult,
    TrainSummary,
)

log = logging.getLogger(__name__)

__all__ = [
    "AdapterSpec",
    "JobFailed",
    "JobSpec",
    "JobStopped",
    "run_job",
    "spawn_job",
    "stop_jobs",
]


@dataclass(frozen=True)
class JobSpec:
    """Everything the training-and-evaluation process needs."""

    base_model: str
    quantization: str
    train_file: str
    test_file: str
    adapter_dir: str
    version: str
    incumbent: AdapterSpec | None = None
    device: str | None = None
    prompt: PromptConfig = field(default_factory=PromptConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    canaries: tuple[Canary, ...] = ()
    metadata: dict[str, Any] = field(default_factory=dict)
    facts: FactsConfig | None = None
    """The fact-check set and serving's pipeline settings (``None``: no fact evaluation)."""
    facts_database: str | None = None
    """The scratch SQLite copy of the database the fact questions are asked in."""
    knowledge_file: str | None = None
    """The knowledge base's entries (``knowledge.json``): training and evaluation prompts
    carry the ones serving would show (:mod:`training.knowledge_prompts`)."""
    memory: MemoryConfig = field(default_factory=MemoryConfig)
    """Serving's retrieval settings, which choose those entries."""

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=1, default=str)

    @classmethod
    def from_json(cls, text: str) -> JobSpec:
        spec = _rebuild(cls, json.loads(text))
        assert isinstance(spec, cls)
        return spec


def _rebuild(kind: Any, value: Any) -> Any:
    """Parsed JSON ``value`` as type ``kind``: nested dataclasses, tuples, paths, optionals.

    Driven by the type hints, so a config field added to any dataclass of the spec crosses the
    process boundary without a change here.
    """
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if value is None:
        return None
    if origin in (types.UnionType, typing.Union):
        inner = [a for a in args if a is not type(None)]
        return _rebuild(inner[0], value) if len(inner) == 1 else value
    if origin is tuple:
        return tuple(_rebuild(args[0], item) for item in value)
    if is_dataclass(kind) and isinstance(kind, type):
        hints = typing.get_type_hints(kind)
        given = [f.name for f in fields(kind) if f.name in value]
        return kind(**{name: _rebuild(hints[name], value[name]) for name in given})
    return Path(value) if kind is Path else value


class JobFailed(Exception):
    """The training-and-evaluation process failed; the message says how, in one line."""


def run_job(spec: JobSpec, *, on_progress: Callable[[str], None] | None = None) -> JobResult:
    """Train the candidate and evaluate base, incumbent and candidate; returns the result."""
    from model.config import LoadConfig
    from model.loading import load_base
    from model.starter import is_starter_model
    from training.evaluate import ModelUnderTest, evaluate
    from training.train import train_adapter

    say = on_progress or log.info
    started = time.perf_counter()
    train_pairs = load_pairs(Path(spec.train_file))
    test_pairs = load_pairs(Path(spec.test_file))

    knowledge = prompt_knowledge(spec.knowledge_file, spec.memory)
    say(f"training on {len(train_pairs)} pairs")
    loaded = load_base(
        LoadConfig(spec.base_model, quantization=spec.quantization, device=spec.device)  # type: ignore[arg-type]
    )

    def on_step(step: int, total: int, loss: float) -> None:
        if step == 1 or step % 10 == 0 or step == total:
            say(f"step {step}/{total} loss {loss:.4f}")

    trained = train_adapter(
        loaded,
        train_pairs,
        Path(spec.adapter_dir),
        spec.train,
        compact=is_starter_model(Path(spec.base_model)),
        prompt=spec.prompt,
        metadata={
            "version": spec.version,
            # Serving refuses the adapter on any other base (model/fingerprint.py).
            BASE_KEY: fingerprint(loaded.model.config, loaded.tokenizer),
            # Trained to answer with the company's entries in its prompt.
            "prompt_knowledge": knowledge is not None,
            **spec.metadata,
        },
        on_step=on_step,
        knowledge=knowledge,
    )
    # The training copy carries optimizer state and a wrapped model; score a clean reload.
    del loaded
    gc.collect()

    subject = ModelUnderTest(
        spec.base_model,
        spec.quantization,
        spec.eval,
        device=spec.device,
        prompt=spec.prompt,
        knowledge=knowledge,
    )
    results: dict[str, Any] = {}

    def progress(name: str) -> Callable[[int, int], None]:
        return lambda done, total: say(f"{name}: {done}/{total} answers")

    results["base"] = evaluate(
        "base", subject.generate, test_pairs, spec.eval, on_batch=progress("base")
    ).as_dict()
    incumbent_error = None
    if spec.incumbent is not None:
        try:
            subject.use(spec.incumbent)
            results["active"] = evaluate(
                spec.incumbent.version,
                subject.generate,
                test_pairs,
                spec.eval,
                on_batch=progress("active"),
            ).as_dict()
        except Exception as exc:  # whatever the cause, hours of training are not thrown away
            # Serving cannot load it either, so the base is what customers get today.
            incumbent_error = (
                str(exc) if isinstance(exc, JobFailed) else f"{type(exc).__name__}: {exc}"
            )
            say(f"active adapter: {incumbent_error}; comparing with the base model")
            subject.use(None)
    candidate = AdapterSpec(id=-1, version=spec.version, path=spec.adapter_dir)
    load_error = None
    canaries: list[CanaryResult] = []
    try:
        subject.use(candidate)
    except Exception as exc:  # any failure to load is the smoke check failing
        load_error = f"{type(exc).__name__}: {exc}"
    if load_error is None:
        results["candidate"] = evaluate(
            spec.version, subject.generate, test_pairs, spec.eval, on_batch=progress("candidate")
        ).as_dict()
        answers, _ = subject.generate([c.question for c in spec.canaries])
        canaries = [
            CanaryResult(register=c.register, question=c.question, answer=a)
            for c, a in zip(spec.canaries, answers, strict=True)
        ]
    facts: dict[str, FactRun] = {}
    facts_error = None
    if load_error is None and spec.facts is not None and spec.facts_database:
        incumbent = None if incumbent_error else spec.incumbent
        try:
            facts = _ask_facts(subject, spec, [("incumbent", incumbent), ("candidate", candidate)])
        except Exception as exc:  # the gate refuses without facts; the report says why
            log.exception("the fact-check set could not be answered")
            facts_error = f"{type(exc).__name__}: {exc}"
    return JobResult(
        version=spec.version,
        adapter_dir=spec.adapter_dir,
        train=TrainSummary(
            examples=trained.examples,
            skipped=trained.skipped,
            epochs=trained.epochs,
            steps=trained.steps,
            loss_steps=[list(point) for point in trained.loss_steps],
            loss_epochs=[list(point) for point in trained.loss_epochs],
            final_loss=trained.final_loss,
            seconds=trained.seconds,
            tokens=trained.tokens,
            tokens_per_s=round(trained.tokens_per_s, 1),
            trainable_parameters=trained.trainable_parameters,
            total_parameters=trained.total_parameters,
            config=asdict(spec.train),
        ),
        eval=results,
        incumbent_error=incumbent_error,
        smoke=SmokeResult(loaded=load_error is None, error=load_error, canaries=canaries),
        seconds=round(time.perf_counter() - started, 2),
        facts=facts,
        facts_error=facts_error,
    )


def _ask_facts(
    subject: Any, spec: JobSpec, roles: list[tuple[str, AdapterSpec | None]]
) -> dict[str, FactRun]:
    """The fact-check set through the answering pipeline, once per role's adapter."""
    from training.facts import answer_roles

    assert spec.facts is not None and spec.facts_database is not None

    def switch(adapter: AdapterSpec | None) -> Callable[[], None]:
        return lambda: subject.use(adapter)

    return answer_roles(
        [(role, adapter.version if adapter else None, switch(adapter)) for role, adapter in roles],
        subject.service,
        spec.facts,
        Path(spec.facts_database),
        compact=subject.compact,
        concurrency=spec.eval.batch_size,
    )


#: Training processes running now, so a shutting-down scheduler can stop them.
_children: set[subprocess.Popen[bytes]] = set()
_stopped: set[int] = set()
_children_lock = threading.Lock()


class JobStopped(JobFailed):
    """The training process was stopped because this process is shutting down."""


def stop_jobs() -> int:
    """Kill every running training process (orderly shutdown); returns how many."""
    with _children_lock:
        children = list(_children)
        _stopped.update(child.pid for child in children)
    for child in children:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGKILL)
    return len(children)


def _child_setup(nice: int) -> None:
    """In the child before exec: own process group, lower priority, die with the parent."""
    os.setsid()
    if nice:
        os.nice(nice)
    with contextlib.suppress(OSError, AttributeError):
        # Linux: SIGKILL the child when the thread that started it dies (a killed worker
        # must not leave an orphan training for hours).
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def spawn_job(spec: JobSpec, work_dir: Path, *, timeout_s: float, nice: int = 10) -> JobResult:
    """Run :func:`run_job` in a child process; returns its result or raises :class:`JobFailed`.

    The child's log is ``work_dir/job.log``. On timeout the whole process group is killed;
    :func:`stop_jobs` kills it on shutdown (:class:`JobStopped`).
    """
    work_dir.mkdir(parents=True, exist_ok=True)
    spec_path, result_path = work_dir / "job.json", work_dir / "job-result.json"
    log_path = work_dir / "job.log"
    spec_path.write_text(spec.to_json(), encoding="utf-8")
    result_path.unlink(missing_ok=True)

    command = [sys.executable, "-m", "training.job", str(spec_path), str(result_path)]
    with log_path.open("w", encoding="utf-8") as log_file:
        child = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            command,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            preexec_fn=lambda: _child_setup(nice),  # noqa: PLW1509 - only os calls before exec
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        with _children_lock:
            _children.add(child)
        try:
            code = child.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired as exc:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
            limit = f"{timeout_s / 60:.0f} min"
            raise JobFailed(f"training took longer than {limit} and was stopped") from exc
        except BaseException:
            # The parent is being stopped: do not leave an orphan training process behind.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGKILL)
            child.wait()
            raise
        finally:
            with _children_lock:
                _children.discard(child)
                stopped = child.pid in _stopped
                _stopped.discard(child.pid)
    if stopped:
        raise JobStopped("training stopped: the process running it is shutting down")
    if code != 0 or not result_path.is_file():
        raise JobFailed(f"training process exited with {code}: {_last_line(log_path)}")
    return JobResult.from_json(json.loads(result_path.read_text(encoding="utf-8")))


def _last_line(path: Path) -> str:
    try:
        lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except OSError:
        return "no log"
    return lines[-1][:300] if lines else "no output"


def default_threads() -> int:
    """All cores but one: the bot answering beside the training keeps a core.

    On CPUs, torch's default of one thread per core collapses when another busy process
    shares the cores (threads spin waiting for each other): one training step measured ten
    times slower with 2 threads than with 1 on this 2-core machine while the bot was busy.
    """
    return max(1, (os.cpu_count() or 1) - 1)


def main(argv: list[str]) -> int:
    """``python -m training.job SPEC RESULT``: run the job, write the result JSON."""
    import torch

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stdout)
    logging.getLogger("bitsandbytes").setLevel(logging.ERROR)
    spec_path, result_path = Path(argv[0]), Path(argv[1])
    spec = JobSpec.from_json(spec_path.read_text(encoding="utf-8"))
    # For evaluation too, not only training: generation threads contend the same way.
    torch.set_num_threads(spec.train.threads or default_threads())
    result = run_job(spec, on_progress=log.info)
    partial = result_path.with_suffix(".partial")
    partial.write_text(json.dumps(result.to_json(), ensure_ascii=False), encoding="utf-8")
    partial.rename(result_path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
