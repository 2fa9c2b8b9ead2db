"""How serving recognises and finds a starter model; building one is :mod:`training.starter`.

A starter model is a small Llama that ``uttor init`` pretrains on the shipped corpus so that
uttor runs offline. Serving only needs to know whether a directory holds one (the compact
system prompt it was pretrained on is used with it) and where the default one lives.
"""

from __future__ import annotations

from pathlib import Path

#: Written next to the weights; marks a directory as a starter model and records its build.
MARKER = "starter.json"
#: Folder name of the full-size starter model under the models directory.
DEFAULT_NAME = "starter"
#: Folder name of the very small one ``uttor init --quick`` builds.
QUICK_NAME = "starter-quick"


def is_starter_model(path: Path) -> bool:
    """Whether ``path`` holds a complete starter model (weights, tokenizer and marker)."""
    return (path / MARKER).is_file() and (path / "config.json").is_file()


def default_model_dir(models_dir: Path) -> Path | None:
    """The starter model serving uses when no base model is set: full size, else quick."""
    for name in (DEFAULT_NAME, QUICK_NAME):
        if is_starter_model(models_dir / name):
            return models_dir / name
    return None
