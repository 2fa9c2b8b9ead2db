"""The machine a figure came from, small statistics, and quiet output for every benchmark.

Figures from a shared 2-core machine are noisy: each benchmark records the load average at its
start and end, so a reader can tell a quiet run from a busy one.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
from collections.abc import Callable
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _ram_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024**2, 1)
    except OSError:
        pass
    return None


def _version(package: str) -> str | None:
    try:
        return version(package)
    except PackageNotFoundError:
        return None


def machine() -> dict[str, Any]:
    """CPU model, cores, RAM, Python and torch versions, date, load average now."""
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "ram_gib": _ram_gib(),
        "python": platform.python_version(),
        # The installed version, read without importing torch (seconds on a cold start).
        "torch": _version("torch"),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def load_average() -> list[float]:
    """1, 5 and 15-minute load averages: above the core count, other work shared the CPU."""
    return [round(x, 2) for x in os.getloadavg()]


def peak_rss_mib() -> int:
    """Peak resident memory of this process so far (Linux reports ``ru_maxrss`` in KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile (``share`` in 0..1) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * share // 1))  # ceil(n * share), at least the first
    return ordered[min(len(ordered), int(rank)) - 1]


def machine_line(info: dict[str, Any]) -> str:
    """One line for the text output: ``CPU, N cores, R GiB, Python x, torch y, date, load``."""
    return (
        f"{info['cpu']}, {info['cores']} cores, {info['ram_gib']} GiB RAM, "
        f"Python {info['python']}, torch {info['torch']}, {info['date']}, "
        f"load average {info['load_average'][0]}"
    )


def quiet_transformers() -> None:
    """No progress bars or deprecation chatter from transformers in the benchmark's output."""
    import warnings

    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    warnings.filterwarnings("ignore", category=FutureWarning, module="transformers")


def add_output_flags(parser: argparse.ArgumentParser) -> None:
    """``--json`` and ``--markdown``, the output choices :func:`print_results` reads."""
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")


def print_results(
    results: dict[str, Any],
    args: argparse.Namespace,
    markdown: Callable[[dict[str, Any]], str],
) -> None:
    """Print a benchmark's results as one JSON line, as Markdown, or as indented JSON."""
    if args.json:
        print(json.dumps(results, ensure_ascii=False))
    elif args.markdown:
        print(markdown(results))
    else:
        print(json.dumps(results, ensure_ascii=False, indent=2))
