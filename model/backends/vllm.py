"""Generation on a vLLM server, through its OpenAI-compatible completions API.

Past one CPU box, serving belongs to an engine built for it: vLLM batches every request in
flight on its own (continuous batching), so this backend simply sends each prompt as its own
``POST /v1/completions`` and awaits the answer; any number of chats wait at once.

It writes the same prompts as local serving (:func:`model.prompting.build_prompt`, sent as
the prompt string, with no special tokens added: the prompt already starts with BOS) and
decodes the same way: greedy, the repetition penalty, at most ``max_new_tokens``, at least
``min_new_tokens``, stopping at end of sequence or at a new ``[INST]``, special tokens other
than those suppressed, and the reply cut at a format marker (:func:`model.service.clean_reply`).
Only the tokenizer is loaded here, for the prompt's history budget.

Failures end as they do locally, in :class:`model.service.GenerationError` (a refused
connection, a 5xx, a malformed answer) or :class:`model.service.GenerationTimeout` (past the
time limit, after which the request is abandoned: the closed connection makes vLLM stop it),
so the pipeline sends the flagged fallback. The adapter in service is loaded into the server
at run time and named in each request (:mod:`model.backends.vllm_adapters`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from typing import Any

import httpx

from model.adapters import AdapterRef
from model.backends.config import VllmConfig
from model.backends.vllm_adapters import ServerAdapters, error_message, lora_name
from model.config import AdapterConfig, ServiceConfig
from model.errors import ModelLoadError
from model.fingerprint import fingerprint
from model.prompting import FORMAT_TOKENS
from model.service import (
    Generation,
    GenerationError,
    GenerationTimeout,
    clean_reply,
    stop_token_ids,
    suppressed_token_ids,
)
from storage.db import Database

log = logging.getLogger(__name__)

__all__ = ["VllmBackend", "load_base_files"]

#: vLLM clamps logit biases to [-100, 100]; -100 keeps a token out of any reply.
SUPPRESS = -100.0


def load_base_files(path: str) -> tuple[Any, dict[str, Any]]:
    """The base model's tokenizer and config, no weights: the server holds the model.

    The tokenizer counts the history budget; the config lets an adapter's shapes be checked
    before the server is asked to load it.
    """
    from transformers import AutoConfig, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(path)
        config = AutoConfig.from_pretrained(path).to_dict()
    except (OSError, ValueError) as exc:
        raise ModelLoadError(
            f"cannot load the tokenizer and config of {path} (UTTOR_BASE_MODEL): {exc}"
        ) from exc
    return tokenizer, config


class VllmBackend:
    """Replies from a vLLM server; fits :class:`model.backend.GenerationBackend`."""

    def __init__(
        self,
        tokenizer: Any,
        config: VllmConfig | None = None,
        service: ServiceConfig | None = None,
        *,
        database: Database | None = None,
        adapters: AdapterConfig | None = None,
        base_config: Mapping[str, Any] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        """``base_config`` is the served base's config.json (:func:`load_base_files`): with
        it, adapters of another base are refused before the server is asked."""
        self.tokenizer = tokenizer
        self.config = config or VllmConfig()
        self.service = service or ServiceConfig()
        self.stop_ids = stop_token_ids(tokenizer)
        self.suppressed_ids = suppressed_token_ids(tokenizer, self.stop_ids)
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self._base: tuple[str, int | None] | None = None
        self.adapters = ServerAdapters(
            self.client,
            database,
            adapters or AdapterConfig(),
            base_config=base_config,
            base_fingerprint=fingerprint(base_config, tokenizer) if base_config else None,
        )
        self._tasks: list[asyncio.Task[None]] = []

    # --- lifecycle --------------------------------------------------------------------------

    def client(self) -> httpx.AsyncClient:
        """The one HTTP client (a pool of keep-alive connections), made on first use."""
        if self._client is None:
            headers = {}
            if self.config.api_key:
                headers["Authorization"] = f"Bearer {self.config.api_key}"
            limit = self.service.timeout_s
            self._client = httpx.AsyncClient(
                base_url=self.config.url.rstrip("/"),
                headers=headers,
                timeout=httpx.Timeout(limit, connect=min(limit, self.config.connect_timeout_s)),
                limits=httpx.Limits(
                    max_connections=self.config.max_connections,
                    max_keepalive_connections=self.config.max_connections,
                ),
                transport=self._transport,
            )
        return self._client

    async def start(self) -> None:
        """Load the registry's active adapter into the server and start following it.

        A server that is not up yet is no error: replies are fallbacks until it answers,
        and the adapter is loaded at a later poll.
        """
        if self._tasks:
            return
        try:
            await self.adapters.check()
        except Exception as exc:  # the database is down: the watcher keeps trying
            log.warning("could not read the adapter registry at start (%s)", exc)
        if self.adapters.following:
            self._tasks.append(asyncio.create_task(self.adapters.run(), name="uttor-vllm-lora"))

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def __aenter__(self) -> VllmBackend:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def ready(self) -> VllmBackend:
        """Ready once built: the tokenizer is loaded (the server answers or it does not)."""
        return self

    @property
    def adapter(self) -> AdapterRef | None:
        """The adapter serving now (``None``: the base model)."""
        return self.adapters.current

    async def check_adapters(self) -> bool:
        """Poll the registry now instead of waiting for the watcher; True when it switched."""
        return await self.adapters.check()

    def refusals(self) -> dict[str, str]:
        """Adapters the server (or the local check before it) refused (version -> why)."""
        return {version: reason for version, reason in self.adapters.refusals.values()}

    def status(self) -> dict[str, Any]:
        """What operators need to know: server, adapter serving, adapters refused and why."""
        return {
            "backend": "vllm",
            "url": self.config.url,
            "model": self._base[0] if self._base else None,
            "adapter": self.adapter.version if self.adapter else None,
            "refused": self.refusals(),
        }

    # --- requests ---------------------------------------------------------------------------

    async def generate(self, prompt: str, *, timeout_s: float | None = None) -> Generation:
        """The reply to a prompt (from :func:`model.prompting.build_prompt`).

        Raises :class:`GenerationTimeout` past the time limit and :class:`GenerationError`
        when the server cannot be reached or fails.
        """
        limit = self.service.timeout_s if timeout_s is None else timeout_s
        started = time.monotonic()
        try:
            return await asyncio.wait_for(self._generate(prompt, started), limit)
        except TimeoutError:
            raise GenerationTimeout(f"no reply from vLLM within {limit:g} s") from None

    async def _generate(self, prompt: str, started: float) -> Generation:
        epoch = self.adapters.epoch
        response, adapter = await self._complete(prompt)
        if response.status_code == 404:
            # The server no longer knows the name we sent: it restarted, or another process
            # retired the adapter first. Follow the registry, reload, and try once more.
            log.warning("vLLM: %s; reloading and retrying once", error_message(response))
            self._base = None
            await self.adapters.recover(epoch)
            response, adapter = await self._complete(prompt)
        return self._parse(response, adapter, started)

    async def _complete(self, prompt: str) -> tuple[httpx.Response, AdapterRef | None]:
        """One completions request naming the adapter in service (or the base model)."""
        adapter = self.adapters.current
        base, max_len = await self._base_model()
        model = lora_name(adapter) if adapter is not None else base
        response = await self._send(
            "POST", "/completions", self.request_body(prompt, model, max_len)
        )
        return response, adapter

    def request_body(self, prompt: str, model: str, max_len: int | None = None) -> dict[str, Any]:
        """The completions request: local serving's decoding, in vLLM's sampling parameters."""
        decoding = self.service.decoding
        body: dict[str, Any] = {
            "model": model,
            "prompt": prompt,
            "max_tokens": decoding.max_new_tokens,
            "min_tokens": decoding.min_new_tokens,
            "repetition_penalty": decoding.repetition_penalty,
            "stop_token_ids": self.stop_ids,
            # "[INST]" as plain text, for tokenizers where it is not one token.
            "stop": list(FORMAT_TOKENS[:1]),
            # The prompt carries its own BOS (model.prompting); a second one changes replies.
            "add_special_tokens": False,
            "skip_special_tokens": True,
            "logit_bias": {str(i): SUPPRESS for i in self.suppressed_ids},
            "n": 1,
        }
        if decoding.do_sample:
            body.update(temperature=decoding.temperature, top_p=decoding.top_p)
        else:
            body.update(temperature=0.0, top_p=1.0)
        if max_len:
            # Keep room for a full reply; cut the oldest tokens of a prompt that is too long.
            body["truncate_prompt_tokens"] = max(16, max_len - decoding.max_new_tokens)
            body["truncation_side"] = "left"
        return body

    async def _send(
        self, method: str, path: str, body: dict[str, Any] | None = None
    ) -> httpx.Response:
        """One request; no answer, a timeout or a 5xx raise what the pipeline turns into the
        fallback."""
        try:
            response = await self.client().request(method, path, json=body)
        except httpx.TimeoutException as exc:
            raise GenerationTimeout(f"vLLM did not answer in time ({type(exc).__name__})") from exc
        except httpx.HTTPError as exc:
            raise GenerationError(
                f"vLLM unreachable at {self.config.url} ({type(exc).__name__}: {exc})"
            ) from exc
        if response.status_code >= 500:
            raise GenerationError(
                f"vLLM failed: HTTP {response.status_code} {error_message(response)}"
            )
        return response

    def _parse(
        self, response: httpx.Response, adapter: AdapterRef | None, started: float
    ) -> Generation:
        if response.status_code != 200:
            raise GenerationError(
                f"vLLM refused the request: HTTP {response.status_code} {error_message(response)}"
            )
        try:
            data = response.json()
            choice = data["choices"][0]
            usage = data.get("usage") or {}
            text = clean_reply(str(choice["text"]))
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise GenerationError(f"vLLM sent an answer we cannot read ({exc!r})") from exc
        return Generation(
            text=text,
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            completion_tokens=int(usage.get("completion_tokens") or 0),
            adapter=adapter,
            latency_ms=round((time.monotonic() - started) * 1000, 1),
            batch_size=1,  # sent on its own; the server batches it with whatever is running
            stopped=choice.get("finish_reason") == "stop",
        )

    async def _base_model(self) -> tuple[str, int | None]:
        """The name the server serves the base model under, and its context length."""
        if self._base is None:
            response = await self._send("GET", "/models")
            if response.status_code != 200:
                raise GenerationError(
                    f"vLLM model list: HTTP {response.status_code} {error_message(response)}"
                )
            try:
                models = response.json()["data"]
                base = next(m for m in models if not m.get("parent"))
            except (ValueError, KeyError, TypeError, StopIteration) as exc:
                raise GenerationError(f"vLLM lists no base model ({exc!r})") from exc
            self._base = (str(base["id"]), base.get("max_model_len"))
        return self._base
