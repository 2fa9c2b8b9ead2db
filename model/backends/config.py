"""Configuration of the vLLM backend (imports nothing heavy: the settings read its defaults)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class VllmConfig:
    """Where the vLLM server is and how the backend talks to it."""

    url: str = "http://127.0.0.1:8000/v1"
    """OpenAI-compatible base URL of the server, ending in ``/v1``."""
    api_key: str | None = None
    """Bearer key the server was started with (``--api-key``); ``None``: no key."""
    max_connections: int = 256
    """Most requests in flight to the server at once (the server batches them)."""
    connect_timeout_s: float = 5.0
    """How long to wait for a connection before the reply becomes the fallback."""
