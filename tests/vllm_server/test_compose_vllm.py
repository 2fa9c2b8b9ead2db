"""docker-compose.yml's vllm service: GPU vLLM with run-time LoRA on the shared volume."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from training.config import TrainConfig

ROOT = Path(__file__).resolve().parents[2]


def spec() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_the_vllm_service_serves_adapters_from_the_shared_volume() -> None:
    services = spec()["services"]
    vllm = services["vllm"]
    assert vllm["profiles"] == ["vllm"]  # CPU deployments do not start it
    assert vllm["entrypoint"] == ["python3", "-m", "vllm.entrypoints.openai.api_server"]
    assert "uttor-home:/data" in vllm["volumes"]
    assert vllm["environment"]["VLLM_ALLOW_RUNTIME_LORA_UPDATING"] == "True"
    flags = dict(arg.split("=", 1) if "=" in arg else (arg, "") for arg in vllm["command"])
    assert "--enable-lora" in flags and flags["--port"] == "8000"
    # Every adapter the nightly training makes must fit.
    assert int(flags["--max-lora-rank"].split()[0]) >= TrainConfig().lora_r
    assert flags["--model"].endswith("/data/models/starter}")
    devices = vllm["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["capabilities"] == ["gpu"]
    for name in ("bot", "worker", "init"):
        environment = services[name]["environment"]
        assert environment["UTTOR_GENERATION_BACKEND"] == "${UTTOR_GENERATION_BACKEND:-local}"
        assert environment["UTTOR_VLLM_URL"].endswith("http://vllm:8000/v1}")


def test_docker_compose_config_passes_with_the_vllm_profile() -> None:
    compose = shutil.which("docker-compose")
    if compose is None:
        pytest.skip("docker-compose is not installed")
    done = subprocess.run(
        [compose, "-f", str(ROOT / "docker-compose.yml"), "--profile", "vllm", "config"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    # compose v1 prints "uttor-home:/data:rw", v2 a mapping with source and target.
    volumes = str(yaml.safe_load(done.stdout)["services"]["vllm"]["volumes"])
    assert "uttor-home" in volumes and "/data" in volumes
