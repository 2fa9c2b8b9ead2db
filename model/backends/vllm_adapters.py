"""LoRA adapters loaded into a vLLM server at run time, following the adapter registry.

Any process may promote or roll back an adapter (``uttor adapters promote``, the nightly job,
an operator in Telegram). Each serving process polls the registry, as
:class:`model.adapters.AdapterWatcher` does for local serving, and when the active adapter
changed:

1. checks the adapter's files as local serving does (:func:`model.adapters.stage`: the base
   fingerprint it recorded, config, weights, finite values) and its weight shapes against
   the base's config (:func:`shape_problem`: vLLM itself loads an adapter of another base
   without a word and serves garbage), once per adapter;
2. asks the server to load it (``POST /v1/load_lora_adapter``) under a name made of the
   registry id and a digest of its folder (:func:`lora_name`), so that every process (bot
   replicas, ``uttor chat``) shares one copy in the server;
3. names it in every request from then on (the request's ``model``), and asks the server to
   unload the retired one (``POST /v1/unload_lora_adapter``).

Requests already running on the retired adapter finish on it: unloading only removes the
name. An adapter the server refuses (unreadable weights, a rank above ``--max-lora-rank``,
another base model's shapes) is logged, kept in :attr:`ServerAdapters.refusals`, and not
tried again until the registry changes; the adapter serving before keeps serving. A server
that cannot be reached is tried again at the next poll.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from model.adapters import AdapterLoadError, AdapterRef, read_registry, stage
from model.config import AdapterConfig
from storage.db import Database
from storage.retry import is_unreachable

log = logging.getLogger(__name__)


class AdapterRefused(Exception):
    """The adapter cannot serve: its files fail the local check or the server refused it."""


class ServerUnavailable(Exception):
    """The server could not be asked (unreachable, busy, or not configured for run-time LoRA)."""


def lora_name(ref: AdapterRef) -> str:
    """The adapter's name in the server.

    The digest of the folder keeps two databases that share one server (staging, tests) from
    taking each other's adapter 1 for their own.
    """
    digest = hashlib.sha256(ref.path.encode()).hexdigest()[:10]
    return f"uttor-{ref.id}-{digest}"


def error_message(response: httpx.Response) -> str:
    """The server's error text (vLLM: ``{"error": {"message": …}}``; FastAPI: ``detail``)."""
    try:
        body: Any = response.json()
    except ValueError:
        return response.text.strip()[:300] or response.reason_phrase
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
        if body.get("detail"):
            return str(body["detail"])
    return str(body)[:300]


#: A LoRA matrix of a Llama-style decoder layer, as peft names it in a saved adapter.
_LORA_KEY = re.compile(
    r"layers\.(\d+)\..*\b(q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj)"
    r"\.lora_([AB])\.weight$"
)


def _projections(config: Mapping[str, Any]) -> dict[str, tuple[int, int]] | None:
    """(in, out) features of each projection of a Llama-style layer; None if not one."""
    try:
        hidden = int(config["hidden_size"])
        heads = int(config["num_attention_heads"])
        kv_heads = int(config.get("num_key_value_heads") or heads)
        head_dim = int(config.get("head_dim") or hidden // heads)
        inner = int(config["intermediate_size"])
    except (KeyError, TypeError, ValueError):
        return None
    return {
        "q_proj": (hidden, heads * head_dim),
        "k_proj": (hidden, kv_heads * head_dim),
        "v_proj": (hidden, kv_heads * head_dim),
        "o_proj": (heads * head_dim, hidden),
        "gate_proj": (hidden, inner),
        "up_proj": (hidden, inner),
        "down_proj": (inner, hidden),
    }


def shape_problem(weights: Mapping[str, Any], config: Mapping[str, Any]) -> str | None:
    """Why LoRA ``weights`` (name -> tensor) cannot belong to the base of ``config``, or None.

    ``lora_A`` is (rank, in features) and ``lora_B`` (out features, rank); a layer index must
    exist in the base. Modules this check does not know are left to the server.
    """
    projections = _projections(config)
    if projections is None:
        return None
    layers = int(config.get("num_hidden_layers") or 0)
    for name, tensor in weights.items():
        match = _LORA_KEY.search(name)
        if match is None:
            continue
        layer, module, side = int(match.group(1)), match.group(2), match.group(3)
        if layers and layer >= layers:
            return f"it has weights for layer {layer}, the base has {layers} layers"
        features_in, features_out = projections[module]
        shape = tuple(tensor.shape)
        wanted = features_in if side == "A" else features_out
        got = shape[1] if side == "A" else shape[0]
        if len(shape) != 2 or got != wanted:
            return (
                f"{module} of layer {layer} takes {got} features where the base has {wanted} "
                "(an adapter of another base model)"
            )
    return None


def _same(a: AdapterRef | None, b: AdapterRef | None) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and a.id == b.id)


def _label(ref: AdapterRef | None) -> str:
    return ref.version if ref is not None else "the base model"


class ServerAdapters:
    """The adapter this process names in its requests, kept in step with the registry."""

    def __init__(
        self,
        client: Callable[[], httpx.AsyncClient],
        database: Database | None,
        config: AdapterConfig,
        *,
        base_config: Mapping[str, Any] | None = None,
        base_fingerprint: str | None = None,
    ) -> None:
        self._client = client
        self.database = database
        self.config = config
        #: The served base's config.json, for :func:`shape_problem` (None: no shape check).
        self.base_config = base_config
        #: The served base's :func:`model.fingerprint.fingerprint` (None: not compared).
        self.base_fingerprint = base_fingerprint
        #: The adapter requests name now (``None``: the base model).
        self.current: AdapterRef | None = None
        #: Registry id -> (version, reason) of adapters that cannot serve.
        self.refusals: dict[int, tuple[str, str]] = {}
        #: Bumped at every switch or reload, so concurrent recoveries do the work once.
        self.epoch = 0
        self._checked: set[int] = set()
        self._lock = asyncio.Lock()
        self._last_problem = ""

    @property
    def following(self) -> bool:
        return self.database is not None and self.config.follow_registry

    @property
    def name(self) -> str | None:
        """The server-side name to put in requests (``None``: the base model)."""
        return lora_name(self.current) if self.current is not None else None

    async def check(self) -> bool:
        """Read the registry once; load a changed adapter into the server. True when switched."""
        if not self.following:
            return False
        assert self.database is not None
        ref = await asyncio.to_thread(read_registry, self.database)
        async with self._lock:
            return await self._switch(ref)

    async def recover(self, epoch: int) -> None:
        """A request named an adapter the server does not know (it restarted, or another
        process unloaded it after a switch this one has not polled yet): follow the registry,
        then load the adapter in use again. ``epoch`` is :attr:`epoch` when the request left.
        """
        ref = self.current
        if self.following:
            assert self.database is not None
            ref = await asyncio.to_thread(read_registry, self.database)
        async with self._lock:
            if self.epoch != epoch:
                return  # another request already recovered
            if not _same(ref, self.current):
                await self._switch(ref)
                return
            if self.current is not None:
                try:
                    await self._load(self.current)
                except (AdapterRefused, ServerUnavailable) as exc:
                    log.warning("cannot load adapter %s again: %s", self.current.version, exc)
                    return
            self.epoch += 1

    async def run(self) -> None:
        """Poll until cancelled (the first poll after one period: :meth:`check` ran at start);
        a failed poll (database or server down) is retried later."""
        while True:
            await asyncio.sleep(self.config.poll_s)
            try:
                await self.check()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if is_unreachable(exc):  # an outage: one line per poll, not a traceback
                    log.warning("adapter registry unreachable (%s); retrying", type(exc).__name__)
                else:
                    log.exception("adapter poll failed; retrying in %.1fs", self.config.poll_s)

    # --- switching ------------------------------------------------------------------------

    async def _switch(self, ref: AdapterRef | None) -> bool:
        previous = self.current
        if _same(ref, previous):
            return False
        if ref is not None and ref.id in self.refusals:
            return False  # already reported; wait for the registry to change again
        if ref is not None:
            try:
                await self._validate(ref)
                await self._load(ref)
            except AdapterRefused as exc:
                self.refusals[ref.id] = (ref.version, str(exc))
                log.error(
                    "adapter %s cannot serve on vLLM: %s; keeping %s",
                    ref.version,
                    exc,
                    _label(previous),
                )
                return False
            except ServerUnavailable as exc:
                self._problem(f"cannot load adapter {ref.version} into vLLM yet ({exc})")
                return False
        self.current = ref
        self.epoch += 1
        self._last_problem = ""
        log.info("vLLM: adapter %s is now serving (was %s)", _label(ref), _label(previous))
        if previous is not None and (ref is None or lora_name(previous) != lora_name(ref)):
            await self._unload(previous)
        return True

    async def _validate(self, ref: AdapterRef) -> None:
        """The local checks, once per adapter (they read every weight)."""
        if ref.id in self._checked:
            return
        try:
            staged = await asyncio.to_thread(stage, ref, self.base_fingerprint)
        except AdapterLoadError as exc:
            raise AdapterRefused(str(exc)) from exc
        if self.base_config is not None:
            problem = shape_problem(staged.weights or {}, self.base_config)
            if problem is not None:
                raise AdapterRefused(
                    f"adapter {ref.version} does not fit this base model: {problem}"
                )
        self._checked.add(ref.id)

    async def _load(self, ref: AdapterRef) -> None:
        name = lora_name(ref)
        try:
            response = await self._client().post(
                "/load_lora_adapter", json={"lora_name": name, "lora_path": ref.path}
            )
        except httpx.HTTPError as exc:
            raise ServerUnavailable(f"{type(exc).__name__}: {exc}") from exc
        if response.status_code == 200:
            log.info("vLLM loaded adapter %s as %s", ref.version, name)
            return
        message = error_message(response)
        if response.status_code == 400 and "already been loaded" in message:
            return  # another process (a bot replica, uttor chat) loaded it first
        if response.status_code in (401, 403) or message == "Not Found":
            # A wrong key, or a server started without VLLM_ALLOW_RUNTIME_LORA_UPDATING=True:
            # nothing wrong with the adapter, so it is tried again once the server is fixed.
            raise ServerUnavailable(f"HTTP {response.status_code}: {message}")
        if response.status_code in (502, 503, 504):
            raise ServerUnavailable(f"HTTP {response.status_code}: {message}")
        raise AdapterRefused(f"vLLM refused it (HTTP {response.status_code}: {message})")

    async def _unload(self, ref: AdapterRef) -> None:
        """Best effort: another process may have unloaded it already (404)."""
        name = lora_name(ref)
        try:
            response = await self._client().post("/unload_lora_adapter", json={"lora_name": name})
        except httpx.HTTPError as exc:
            log.warning("could not unload retired adapter %s from vLLM: %s", ref.version, exc)
            return
        if response.status_code not in (200, 404):
            log.warning(
                "could not unload retired adapter %s from vLLM: HTTP %d %s",
                ref.version,
                response.status_code,
                error_message(response),
            )

    def _problem(self, text: str) -> None:
        """Log a lasting problem once, not at every poll."""
        if text != self._last_problem:
            log.error(text)
            self._last_problem = text
