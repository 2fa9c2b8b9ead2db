"""The LoRA adapter in service: loaded from the registry, swapped without a restart.

Any process may promote or roll back an adapter (``uttor adapters promote``, the nightly job).
Serving follows the registry in two steps, so no request ever runs on a half-loaded adapter:

1. *stage* (any thread): read the adapter's config and weights from disk into memory;
2. *apply* (the generation thread, between two batches): add the staged weights to the model,
   make them active and drop the previous adapter. Generation runs on that same single
   thread, so a batch sees either the old adapter or the new one, never a mix.

With no active adapter the base model answers (the LoRA layers are switched off).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from model.config import AdapterConfig
from model.fingerprint import mismatch
from storage.db import Database
from storage.registry import active_adapter
from storage.retry import is_unreachable

log = logging.getLogger(__name__)

#: The files peft saves adapter weights in (safetensors now, pickled torch before).
WEIGHT_FILES = ("adapter_model.safetensors", "adapter_model.bin")


@dataclass(frozen=True)
class AdapterRef:
    """The registry row an adapter came from."""

    id: int
    version: str
    path: str
    base_model: str


@dataclass
class StagedAdapter:
    """An adapter read fully into memory, ready to be applied (``ref`` None: the base)."""

    ref: AdapterRef | None
    config: Any = None
    weights: dict[str, Any] | None = None


class AdapterLoadError(Exception):
    """An adapter in the registry cannot be read; serving keeps the adapter it has."""


def read_registry(database: Database) -> AdapterRef | None:
    """The registry's active adapter, or ``None`` when the base model should answer."""
    with database.read() as session:
        row = active_adapter(session)
        if row is None:
            return None
        return AdapterRef(id=row.id, version=row.version, path=row.path, base_model=row.base_model)


def stage(ref: AdapterRef | None, base_fingerprint: str | None = None) -> StagedAdapter:
    """Read an adapter's config and weights from disk (slow part; no model change).

    An adapter whose recorded base fingerprint differs from ``base_fingerprint`` (the base in
    service) is refused before any weight is read (model/fingerprint.py).
    """
    if ref is None:
        return StagedAdapter(ref=None)
    from peft import PeftConfig
    from peft.utils import load_peft_weights

    path = Path(ref.path)
    foreign = mismatch(ref.version, path, base_fingerprint)
    if foreign is not None:
        raise AdapterLoadError(foreign)
    if not (path / "adapter_config.json").is_file():
        raise AdapterLoadError(f"adapter {ref.version}: no adapter_config.json in {path}")
    # Checked here because peft, finding no weights file in a folder, takes the path for a
    # hub repository id and tries to download it (a partial save must fail fast, offline).
    if not any((path / name).is_file() for name in WEIGHT_FILES):
        raise AdapterLoadError(f"adapter {ref.version}: no weights file in {path}")
    try:
        config = PeftConfig.from_pretrained(str(path))
        weights = load_peft_weights(str(path), device="cpu")
    except (OSError, ValueError) as exc:
        raise AdapterLoadError(f"adapter {ref.version}: {exc}") from exc
    except Exception as exc:  # safetensors raises its own error type on a truncated file
        raise AdapterLoadError(f"adapter {ref.version}: unreadable weights ({exc})") from exc
    # NaN or infinite weights (a diverged run, a flipped bit) would make every reply garbage.
    for name, tensor in weights.items():
        if tensor.is_floating_point() and not tensor.isfinite().all():
            raise AdapterLoadError(f"adapter {ref.version}: non-finite values in {name}")
    config.inference_mode = True
    return StagedAdapter(ref=ref, config=config, weights=weights)


class AdapterSlot:
    """Holds the base model and the one adapter in service.

    :meth:`apply` changes the model and must run on the generation thread; :meth:`offer`
    and :meth:`take_staged` hand a staged adapter across threads under a lock.
    """

    def __init__(self, base_model: Any, fingerprint: str | None = None) -> None:
        self.base = base_model
        #: The base's :func:`model.fingerprint.fingerprint`; adapters of other bases are refused.
        self.fingerprint = fingerprint
        self.peft: Any = None
        self.current: AdapterRef | None = None
        self._loads = 0
        #: Registry ids that failed to load; not retried until another adapter is promoted.
        self.failed: set[int] = set()
        #: Why each failed: version -> reason, for operators (``/status``).
        self.refusals: dict[str, str] = {}
        self._staged: StagedAdapter | None = None
        self._lock = threading.Lock()

    @property
    def model(self) -> Any:
        """The model to generate with (the base, wrapped once an adapter was ever loaded)."""
        return self.peft if self.peft is not None else self.base

    def offer(self, staged: StagedAdapter) -> None:
        """Queue a fully staged adapter for the next :meth:`apply`."""
        with self._lock:
            self._staged = staged

    def take_staged(self) -> StagedAdapter | None:
        with self._lock:
            staged, self._staged = self._staged, None
            return staged

    @property
    def pending(self) -> AdapterRef | None | bool:
        """The staged adapter's ref (``None`` for the base), or ``False`` when none waits."""
        with self._lock:
            return False if self._staged is None else self._staged.ref

    def refuse(self, ref: AdapterRef, error: Exception) -> None:
        """Record that ``ref`` cannot serve here, and why."""
        self.failed.add(ref.id)
        self.refusals[ref.version] = str(error)

    def apply(self) -> bool:
        """Switch to the staged adapter, if any; returns whether the model changed.

        An adapter that does not fit the base is reported and recorded in ``failed``; the
        adapter serving before keeps serving.
        """
        staged = self.take_staged()
        if staged is None:
            return False
        try:
            self._switch(staged)
        except AdapterLoadError as exc:
            assert staged.ref is not None
            self.refuse(staged.ref, exc)
            log.error("%s; keeping %s", exc, self.current.version if self.current else "base")
            return False
        return True

    def _switch(self, staged: StagedAdapter) -> None:
        from peft import PeftModel, set_peft_model_state_dict

        previous = self.current
        if staged.ref is None:
            if self.peft is not None:
                self.peft.base_model.disable_adapter_layers()
            self.current = None
            log.info("serving the base model (no active adapter)")
            return
        # A fresh name per load: re-promoting an adapter never collides with its old copy.
        self._loads += 1
        name = f"adapter_{staged.ref.id}_{self._loads}"
        if self.peft is None:
            self.peft = PeftModel(self.base, staged.config, adapter_name=name)
        else:
            self.peft.add_adapter(name, staged.config)
        try:
            result = set_peft_model_state_dict(self.peft, staged.weights, adapter_name=name)
        except RuntimeError as exc:
            # Shapes that do not fit (an adapter of another base with no recorded fingerprint):
            # drop the half-added copy so a retry cannot leak one per poll.
            self._drop(name)
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise AdapterLoadError(
                f"adapter {staged.ref.version} does not fit this base model ({first[:200]})"
            ) from exc
        if result.unexpected_keys:
            # Weights for modules this base does not have: the adapter belongs to another base.
            self._drop(name)
            raise AdapterLoadError(
                f"adapter {staged.ref.version} does not fit this base model "
                f"({len(result.unexpected_keys)} unexpected weights)"
            )
        self.peft.set_adapter(name)
        self.peft.base_model.enable_adapter_layers()
        self.peft.requires_grad_(False)
        self.peft.eval()
        for old in [n for n in self.peft.peft_config if n != name]:
            self.peft.delete_adapter(old)
        self.current = staged.ref
        log.info(
            "adapter %s is now serving (was %s)",
            staged.ref.version,
            previous.version if previous else "base",
        )

    def _drop(self, name: str) -> None:
        """Remove a just-added adapter that failed, restoring what served before."""
        assert self.peft is not None
        if len(self.peft.peft_config) > 1:
            self.peft.delete_adapter(name)
            self.peft.set_adapter(next(iter(self.peft.peft_config)))
        # peft keeps at least one adapter, so a lone failed one stays loaded but switched off;
        # the base also stays switched off when it was the base that served before.
        if self.current is None or name in self.peft.peft_config:
            self.peft.base_model.disable_adapter_layers()
            self.current = None


def load_active(slot: AdapterSlot, database: Database) -> None:
    """Serve the registry's active adapter now (at start; runs on the generation thread)."""
    ref = read_registry(database)
    if ref is None:
        return
    try:
        slot.offer(stage(ref, slot.fingerprint))
        slot.apply()
    except AdapterLoadError as exc:
        slot.refuse(ref, exc)
        log.error("%s; serving the base model", exc)


class AdapterWatcher:
    """Polls the registry and stages a newly active adapter for the generation thread."""

    def __init__(
        self,
        slot: AdapterSlot,
        database: Database,
        config: AdapterConfig,
        *,
        apply: Callable[[], Awaitable[None]],
    ) -> None:
        self.slot = slot
        self.database = database
        self.config = config
        self._apply = apply

    async def check(self) -> bool:
        """Read the registry once; stage and apply a changed adapter. True when it switched."""
        ref = await asyncio.to_thread(read_registry, self.database)
        current = self.slot.current
        if (ref is None and current is None) or (ref and current and ref.id == current.id):
            return False
        if ref is not None and ref.id in self.slot.failed:
            return False  # already reported; wait for the registry to change again
        try:
            staged = await asyncio.to_thread(stage, ref, self.slot.fingerprint)
        except AdapterLoadError as exc:
            assert ref is not None  # the base always stages
            self.slot.refuse(ref, exc)
            log.error("%s; keeping %s", exc, current.version if current else "the base model")
            return False
        self.slot.offer(staged)
        await self._apply()
        return self.slot.current == ref

    async def run(self) -> None:
        """Poll until cancelled; a failed poll (database busy or down) is retried later."""
        while True:
            try:
                await self.check()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if is_unreachable(exc):  # an outage: one line per poll, not a traceback
                    log.warning("adapter registry unreachable (%s); retrying", type(exc).__name__)
                else:
                    log.exception(
                        "adapter registry poll failed; retrying in %.1fs", self.config.poll_s
                    )
            await asyncio.sleep(self.config.poll_s)
