"""Export training and test pairs: the shipped data joined with what agents taught the bot.

Sources, lowest precedence first (a later one replaces an earlier one for the same question):

1. the shipped pairs (``mydata.json`` / ``mytest.json``);
2. replies agents approved, oldest first (never a fixed note: fallback, system, unsure);
3. agents' answers given during handoffs, oldest first, but those an agent excluded;
4. active corrections of bot replies, oldest first — so the newest correction wins.

Every database pair carries what its customer was served (:mod:`training.served`): the stored
prompt, or the reply language and earlier turns serving would have built it from. Training
and evaluation use that prompt; shipped pairs have none and get a new chat's prompt.

Database text — prompts and turns included — is redacted (:mod:`model.text.redact`) before it
is compared or written; strings that appear in the shipped pairs (the company's own e-mail
address) are public and kept. One-line non-answers ("checking", "দেখছি", "ok":
:mod:`training.nonanswers`) are dropped. Questions are deduplicated by their normalized form
after redaction.

Split: a database question equal to a shipped question stays on that question's side; any
other goes to the test set when a hash of its normalized text falls in the ``test_share``
bucket, so it stays on its side on every later run. Approved replies only ever train: they are
the active model's own words, and as references they would score that model against itself.
Training pairs whose question is a near-duplicate (character-trigram Jaccard) of a test
question are dropped: the test set stays held out.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from model.prompting import Turn
from model.text.langid import detect
from model.text.languages import REGISTERS
from model.text.normalize import jaccard, normalize, trigrams
from model.text.redact import find_pii, redact
from training.config import ExportConfig
from training.data import TEST_FILE, TRAIN_FILE, load_pairs
from training.nonanswers import is_non_answer
from training.served import taught_pairs

__all__ = [
    "DB_SOURCES",
    "Export",
    "Pair",
    "build_export",
    "pair_key",
    "read_manifest",
    "trigrams",
    "write_export",
]

DB_SOURCES = ("approved", "handoff", "correction")
#: Why a database pair was not exported, as counted in the summary.
DROP_REASONS = ("duplicate", "empty", "non_answer", "approved_in_test", "leak")
LABELS = frozenset(REGISTERS)

TRAIN_NAME = "mydata.json"
TEST_NAME = "mytest.json"
SUMMARY_NAME = "summary.json"
MANIFEST_NAME = "manifest.json"


@dataclass(frozen=True)
class Pair:
    """A question and its answer, where it came from, its routed language and, for database
    pairs, what the customer was served."""

    text: str
    completion: str
    source: str
    language: str
    correction_id: int | None = None
    prompt: str = ""
    """The prompt the model was given (redacted); empty when there was none."""
    reply_language: str | None = None
    """The reply language served (database pairs only)."""
    history: tuple[Turn, ...] = ()
    """The chat's turns before the question (redacted; database pairs only)."""

    def as_seed(self) -> dict[str, Any]:
        """The written form: ``{"text", "completion"}``, plus what was served when known."""
        seed: dict[str, Any] = {"text": self.text, "completion": self.completion}
        if self.reply_language is not None:
            seed["reply_language"] = self.reply_language
            seed["history"] = [{"role": t.role, "text": t.text} for t in self.history]
        if self.prompt:
            seed["prompt"] = self.prompt
        return seed


@dataclass
class Export:
    """The result of an export, before or after it is written."""

    train: list[Pair]
    test: list[Pair]
    summary: dict[str, Any]
    db_keys: list[str] = field(default_factory=list)
    """Fingerprints of every database pair exported (see :func:`pair_key`)."""

    @property
    def correction_ids(self) -> list[int]:
        """Corrections that made it into this export's train or test set."""
        return sorted(p.correction_id for p in [*self.train, *self.test] if p.correction_id)


def pair_key(question: str, answer: str) -> str:
    """A fingerprint of a pair, so a later run can tell which database pairs are new."""
    digest = hashlib.sha256(f"{normalize(question)}\n{normalize(answer)}".encode())
    return digest.hexdigest()[:20]


def _in_test_bucket(key: str, share: float) -> bool:
    # sha256 rather than hash(): Python salts str hashes per process.
    bucket = int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) / 0x1_0000_0000
    return bucket < share


def _language(text: str, stored: str | None) -> str:
    return stored if stored in LABELS else detect(text).label


def _shipped_allowlist(shipped: Iterable[dict[str, str]]) -> frozenset[str]:
    """Personal-looking strings already public in the shipped data (the company's contacts)."""
    found: set[str] = set()
    for item in shipped:
        for text in (item["text"], item["completion"]):
            found.update(original for _, original in find_pii(text))
    return frozenset(found)


def build_export(
    session: Session,
    *,
    config: ExportConfig | None = None,
    train_file: Path | None = None,
    test_file: Path | None = None,
) -> Export:
    """Read the database and the shipped files; return redacted, deduplicated, split pairs."""
    config = config or ExportConfig()
    shipped_train = load_pairs(train_file or TRAIN_FILE)
    shipped_test = load_pairs(test_file or TEST_FILE)
    allow = _shipped_allowlist([*shipped_train, *shipped_test])
    redactions: Counter[str] = Counter()
    dropped: Counter[str] = Counter()

    # Database pairs, redacted, newest-precedence last so the dict keeps the winner.
    database: dict[str, Pair] = {}
    for raw in taught_pairs(session):
        question, answer = redact(raw.question, allow=allow), redact(raw.answer, allow=allow)
        redactions.update(question.counts)
        redactions.update(answer.counts)
        text, completion = question.text.strip(), answer.text.strip()
        if not normalize(text) or not normalize(completion):
            dropped["empty"] += 1
            continue
        if is_non_answer(completion):
            dropped["non_answer"] += 1
            continue
        key = normalize(text)
        if key in database:
            dropped["duplicate"] += 1
        database[key] = Pair(
            text,
            completion,
            raw.source,
            _language(text, raw.language),
            raw.correction_id,
            prompt=redact(raw.prompt, allow=allow).text if raw.prompt else "",
            reply_language=raw.reply_language,
            history=tuple(Turn(t.role, redact(t.text, allow=allow).text) for t in raw.history),
        )

    train: dict[str, Pair] = {}
    test: dict[str, Pair] = {}
    for item in shipped_train:
        train[normalize(item["text"])] = Pair(
            item["text"], item["completion"], "shipped", detect(item["text"]).label
        )
    for item in shipped_test:
        test[normalize(item["text"])] = Pair(
            item["text"], item["completion"], "shipped", detect(item["text"]).label
        )
    for key, pair in list(database.items()):
        if pair.source == "approved":
            # Never a reference: a shipped test question keeps its own answer.
            if key in test:
                dropped["approved_in_test"] += 1
                del database[key]  # not exported, so not a new pair either
            else:
                train[key] = pair
        elif key in test:
            test[key] = pair
        elif key in train or not _in_test_bucket(key, config.test_share):
            train[key] = pair
        else:
            test[key] = pair

    kept_train = _drop_leaks(list(train.values()), list(test.values()), config.leak_similarity)
    dropped["leak"] = len(train) - len(kept_train)
    export = Export(
        train=kept_train,
        test=list(test.values()),
        summary={},
        db_keys=sorted(pair_key(p.text, p.completion) for p in database.values()),
    )
    export.summary = _summary(export, redactions, dropped)
    return export


def _drop_leaks(train: list[Pair], test: list[Pair], threshold: float) -> list[Pair]:
    """Training pairs that are not near-duplicates of any test question.

    Shipped train and shipped test are already checked against each other by the data tests,
    so only comparisons with a database pair on at least one side are made.
    """
    test_grams = [(p.source == "shipped", trigrams(p.text)) for p in test]
    kept: list[Pair] = []
    for pair in train:
        shipped = pair.source == "shipped"
        grams = trigrams(pair.text)
        leaks = any(
            jaccard(grams, other) >= threshold
            for other_shipped, other in test_grams
            if not (shipped and other_shipped)
        )
        if not leaks:
            kept.append(pair)
    return kept


def _counts(pairs: Sequence[Pair]) -> dict[str, Any]:
    database = [p for p in pairs if p.source != "shipped"]
    return {
        "total": len(pairs),
        "by_source": dict(sorted(Counter(p.source for p in pairs).items())),
        "by_language": dict(sorted(Counter(p.language for p in pairs).items())),
        # Database pairs that train on the very prompt served, and those built as serving would.
        "served_prompts": sum(1 for p in database if p.prompt),
        "built_prompts": sum(1 for p in database if not p.prompt),
    }


def _summary(export: Export, redactions: Counter[str], dropped: Counter[str]) -> dict[str, Any]:
    return {
        "train": _counts(export.train),
        "test": _counts(export.test),
        "database_pairs": len(export.db_keys),
        "dropped": {k: dropped.get(k, 0) for k in DROP_REASONS},
        "redacted": dict(sorted(redactions.items())),
    }


def write_export(export: Export, out_dir: Path) -> dict[str, Path]:
    """Write ``mydata.json``, ``mytest.json``, ``summary.json`` and ``manifest.json``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        "train": out_dir / TRAIN_NAME,
        "test": out_dir / TEST_NAME,
        "summary": out_dir / SUMMARY_NAME,
        "manifest": out_dir / MANIFEST_NAME,
    }
    _write_json(paths["train"], [p.as_seed() for p in export.train])
    _write_json(paths["test"], [p.as_seed() for p in export.test])
    _write_json(paths["summary"], export.summary)
    _write_json(paths["manifest"], {"db_keys": export.db_keys})
    return paths


def read_manifest(out_dir: Path) -> set[str]:
    """The database pair fingerprints an earlier export wrote (empty when it is gone)."""
    try:
        data = json.loads((out_dir / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return set()
    return set(data.get("db_keys", []))


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
