"""Is an adapter on disk fit to serve? Checked before any promotion by hand.

The serving side (:mod:`model.adapters`) refuses to switch to an adapter it cannot read, but
by then the registry already says it is active. Checking first means ``uttor adapters
promote`` refuses a corrupt adapter with the reason instead of recording a promotion that
serving will ignore.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["AdapterInvalid", "verify_adapter"]


class AdapterInvalid(Exception):
    """The adapter's files are missing, unreadable or hold unusable weights."""


def verify_adapter(path: Path, *, version: str) -> None:
    """Raise :class:`AdapterInvalid` unless ``path`` holds a readable, finite LoRA adapter."""
    import torch

    from model.adapters import AdapterLoadError, AdapterRef, stage

    if not path.is_dir():
        raise AdapterInvalid(f"adapter {version}: folder {path} does not exist")
    try:
        staged = stage(AdapterRef(id=-1, version=version, path=str(path), base_model=""))
    except AdapterLoadError as exc:
        raise AdapterInvalid(str(exc)) from exc
    except Exception as exc:  # safetensors raises its own errors on truncated files
        raise AdapterInvalid(f"adapter {version}: unreadable weights ({exc})") from exc
    weights = staged.weights or {}
    if not weights:
        raise AdapterInvalid(f"adapter {version}: no weights in {path}")
    for name, tensor in weights.items():
        if not torch.isfinite(tensor).all():
            raise AdapterInvalid(f"adapter {version}: non-finite values in {name}")
