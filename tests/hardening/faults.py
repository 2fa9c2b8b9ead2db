"""Fault injectors for ``test_faults.py``: a failing model, broken adapters, a full disk, and
helpers to watch processes die. The database outage has its own module (``tcp_proxy.py``).
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

import torch
from safetensors.torch import load_file, save_file

WEIGHTS = "adapter_model.safetensors"
CONFIG = "adapter_config.json"

# --- the model --------------------------------------------------------------------------------

ModelFaultKind = Literal["raises", "hangs"]


class ModelFault:
    """Makes a model's ``generate`` raise, or hang until the fault is cleared, while active.

    ``hangs`` blocks the generation thread (a stuck GPU kernel, a swapped-out model); requests
    then pass their deadline. Leaving the ``with`` block restores the real ``generate``.
    """

    def __init__(self, model: Any, kind: ModelFaultKind) -> None:
        self.model = model
        self.kind = kind
        self.calls = 0
        self._release = threading.Event()

    def __enter__(self) -> ModelFault:
        self.model.generate = self._generate  # shadows the class's method on this instance
        return self

    def __exit__(self, *exc: object) -> None:
        del self.model.generate
        self._release.set()  # a hung call returns (its callers have long had their fallback)

    def _generate(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        if self.kind == "hangs":
            self._release.wait(120)
        raise RuntimeError(f"injected model fault ({self.kind})")


# --- adapters on disk -------------------------------------------------------------------------


def _truncate(path: Path) -> None:
    weights = path / WEIGHTS
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2])


def _garbage(path: Path) -> None:
    size = (path / WEIGHTS).stat().st_size
    (path / WEIGHTS).write_bytes(os.urandom(size))


def _non_finite(path: Path) -> None:
    tensors = load_file(str(path / WEIGHTS))
    name = sorted(tensors)[0]
    tensors[name] = torch.full_like(tensors[name], float("nan"))
    save_file(tensors, str(path / WEIGHTS))


def _empty(path: Path) -> None:
    for child in path.iterdir():
        child.unlink()


#: Ways an adapter folder goes bad: a training killed while saving (partial), a disk or copy
#: error (truncated, garbage), a diverged run (non-finite weights), a botched deploy.
CORRUPTIONS: dict[str, Callable[[Path], None]] = {
    "weights missing (partial save)": lambda path: (path / WEIGHTS).unlink(),
    "weights truncated": _truncate,
    "weights are garbage": _garbage,
    "weights not finite": _non_finite,
    "config missing": lambda path: (path / CONFIG).unlink(),
    "config is not JSON": lambda path: (path / CONFIG).write_text("{", encoding="utf-8"),
    "folder empty": _empty,
    "folder missing": lambda path: shutil.rmtree(path),
}


def corrupt_copy(good: Path, out: Path, corruption: str) -> Path:
    """A copy of the adapter ``good`` at ``out``, broken the named way."""
    shutil.copytree(good, out)
    CORRUPTIONS[corruption](out)
    return out


# --- a full disk ------------------------------------------------------------------------------


def _mount_tmpfs(path: Path, size: str) -> bool:
    """Mount a small tmpfs on ``path``; False where that is not allowed (not root, no mount)."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
        capture_output=True,
        check=False,
    )
    return result.returncode == 0


class FullDisk:
    """A folder on which the test can make the disk full on demand.

    Where this process may mount (root in a container), the folder is a small tmpfs and
    :meth:`fill` writes ballast until the filesystem refuses with ENOSPC: a real filesystem
    limit. Elsewhere :meth:`fill` points the given files at ``/dev/full``, whose every write
    fails with ENOSPC from the kernel. ``how`` says which one ran.
    """

    def __init__(self, path: Path, size: str = "1m") -> None:
        path.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.how = "tmpfs" if _mount_tmpfs(path, size) else "/dev/full"
        self._ballast: list[Path] = []

    def fill(self, folder: Path, names: list[str]) -> None:
        """Leave no space in ``folder`` (under :attr:`path`) for the files called ``names``."""
        folder.mkdir(parents=True, exist_ok=True)
        if self.how == "tmpfs":
            ballast = self.path / "ballast"
            with ballast.open("wb") as out, contextlib.suppress(OSError):
                block = b"\0" * 65536
                while True:
                    out.write(block)
                    out.flush()
            self._ballast.append(ballast)
            probe = self.path / "probe"
            try:
                probe.write_bytes(b"x" * 4096)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
            else:
                raise AssertionError("the tmpfs still has room after filling it")
        else:
            for name in names:
                target = folder / name
                target.unlink(missing_ok=True)
                target.symlink_to("/dev/full")
                self._ballast.append(target)

    def free(self) -> None:
        """Give the space back."""
        for path in self._ballast:
            path.unlink(missing_ok=True)
        self._ballast.clear()

    def close(self) -> None:
        self.free()
        if self.how == "tmpfs":
            subprocess.run(["umount", "-l", str(self.path)], check=False)


@contextlib.contextmanager
def full_disk(path: Path, size: str = "1m") -> Iterator[FullDisk]:
    disk = FullDisk(path, size)
    try:
        yield disk
    finally:
        disk.close()


# --- processes --------------------------------------------------------------------------------


def pids_running(needle: str) -> list[int]:
    """Processes whose command line contains ``needle`` (Linux ``/proc``)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            state = (entry / "stat").read_text().split(") ", 1)[1][:1]
        except (OSError, IndexError):
            continue
        if needle in cmdline and state != "Z":  # a zombie has already died
            found.append(int(entry.name))
    return found


def wait_until(condition: Callable[[], bool], timeout: float = 60.0, every: float = 0.1) -> bool:
    """Poll ``condition`` until it holds; ``timeout`` only keeps a broken test from hanging."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every)
    return condition()
