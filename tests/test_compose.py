"""docker-compose.yml: PostgreSQL, the bot and the worker sharing UTTOR_HOME; it validates."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def test_compose_file_has_the_three_services() -> None:
    spec = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = spec["services"]
    assert services["db"]["image"].startswith("postgres")
    assert services["bot"]["command"][:2] == ["uttor", "serve"]
    assert services["worker"]["command"] == ["uttor", "worker"]
    for name in ("bot", "worker", "init"):
        assert services[name]["build"] == "."
        assert "uttor-home:/data" in services[name]["volumes"]
        assert services[name]["environment"]["UTTOR_DATABASE_URL"].startswith(
            "postgresql+psycopg://"
        )
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "torch==2.13.0" in dockerfile and '".[postgres]"' in dockerfile


def _compose() -> list[str] | None:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    docker = shutil.which("docker")
    if (
        docker
        and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0
    ):
        return [docker, "compose"]
    return None


def test_docker_compose_config_passes() -> None:
    compose = _compose()
    if compose is None:
        pytest.skip("neither docker-compose nor the docker compose plugin is installed")
    done = subprocess.run(
        [*compose, "-f", str(ROOT / "docker-compose.yml"), "config", "-q"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
