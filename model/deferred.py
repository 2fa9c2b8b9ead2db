"""A generation service that loads its model on the first question that needs it.

``uttor chat --once`` answered from the knowledge base or correction memory never needs the
model; loading torch, bitsandbytes and the weights first is most of its start-up. The bot
keeps loading eagerly (``uttor serve``), so its first customer does not wait for the load.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from model.adapters import AdapterRef
    from model.service import Generation, GenerationService

__all__ = ["DeferredService"]


class DeferredService:
    """Stands in for a :class:`~model.service.GenerationService` built by ``build``.

    ``build`` runs in a worker thread the first time :meth:`ready` is awaited (the pipeline
    awaits it before it writes a prompt); a failure to load is raised there, every time,
    until a load succeeds.
    """

    def __init__(self, build: Callable[[], GenerationService]) -> None:
        self._build = build
        self._service: GenerationService | None = None
        self._lock = asyncio.Lock()
        self._started = False

    async def ready(self) -> GenerationService:
        async with self._lock:
            if self._service is None:
                service = await asyncio.to_thread(self._build)
                if self._started:
                    await service.start()
                self._service = service
        return self._service

    @property
    def loaded(self) -> bool:
        return self._service is not None

    @property
    def tokenizer(self) -> Any:
        if self._service is None:
            raise RuntimeError("the model is not loaded yet: await ready() first")
        return self._service.tokenizer

    @property
    def adapter(self) -> AdapterRef | None:
        return self._service.adapter if self._service is not None else None

    def refusals(self) -> dict[str, str]:
        return self._service.refusals() if self._service is not None else {}

    async def start(self) -> None:
        self._started = True
        if self._service is not None:
            await self._service.start()

    async def close(self) -> None:
        self._started = False
        if self._service is not None:
            await self._service.close()

    async def check_adapters(self) -> bool:
        return await self._service.check_adapters() if self._service is not None else False

    async def generate(self, prompt: str, *, timeout_s: float | None = None) -> Generation:
        service = await self.ready()
        return await service.generate(prompt, timeout_s=timeout_s)
