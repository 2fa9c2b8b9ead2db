"""What the pipeline needs of a generation backend, whichever engine runs the model.

:class:`model.service.GenerationService` (in-process, micro-batched) and
:class:`model.deferred.DeferredService` (the same, loaded on first use) fit it, and so does
the benchmark's instant responder; the pipeline depends only on this protocol.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from model.adapters import AdapterRef
    from model.service import Generation


class GenerationBackend(Protocol):
    """Generates replies to prompts; the pipeline awaits :meth:`ready` before it writes one."""

    @property
    def tokenizer(self) -> Any:
        """Counts prompt tokens for the history budget (``None``: estimate from characters)."""

    @property
    def adapter(self) -> AdapterRef | None:
        """The adapter serving now (``None``: the base model)."""

    def refusals(self) -> dict[str, str]:
        """Adapters promoted in the registry that this backend could not serve (version ->
        why); the one serving before kept serving."""

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def ready(self) -> Any:
        """Returns once the model is loaded."""

    async def generate(self, prompt: str, *, timeout_s: float | None = None) -> Generation: ...
