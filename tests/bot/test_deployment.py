"""The deployment of several replicas: docker-compose.yml, deploy/nginx.conf, the Dockerfile.

What must hold for ``docker compose up --scale bot=N`` to lose and double nothing: the bots
are scalable and take the webhook, a load balancer reaches every replica and retries a failed
delivery on another, the nightly retrain runs in one worker, and the image holds every package.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def services() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]


def test_bots_are_scalable_and_only_the_worker_schedules_the_retrain() -> None:
    bot, worker = services()["bot"], services()["worker"]
    # A fixed name or a published port would stop `--scale bot=2`.
    assert "container_name" not in bot and "ports" not in bot
    assert bot["expose"] == ["8443"]
    assert bot["command"] == ["uttor", "serve", "--no-scheduler"]
    assert worker["command"] == ["uttor", "worker"]
    environment = bot["environment"]
    assert environment["UTTOR_WEBHOOK_PORT"] == "8443"
    assert environment["UTTOR_WEBHOOK_URL"].startswith("${UTTOR_WEBHOOK_URL")
    assert environment["UTTOR_SEND_RATE_PER_S"].startswith("${UTTOR_SEND_RATE_PER_S")
    assert environment["UTTOR_DATABASE_URL"].startswith("postgresql+psycopg://")


def test_the_load_balancer_reaches_every_replica_and_retries_elsewhere() -> None:
    lb = services()["lb"]
    assert lb["image"].startswith("nginx:")
    assert "./deploy/nginx.conf:/etc/nginx/nginx.conf:ro" in lb["volumes"]
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    # Docker's DNS, re-resolved: replicas started later are found, stopped ones dropped.
    assert "resolver 127.0.0.11" in conf
    assert re.search(r"server\s+bot:8443\s+resolve;", conf)
    # A failed delivery (even a POST) goes to another replica: the inbox makes that safe.
    retry = re.search(r"proxy_next_upstream\s+([^;]+);", conf)
    assert retry is not None
    assert {"error", "timeout", "http_500", "http_502", "non_idempotent"} <= set(
        retry.group(1).split()
    )


def test_nginx_accepts_the_configuration() -> None:
    nginx = shutil.which("nginx")
    if nginx is None:
        pytest.skip("nginx is not installed here (the compose service brings its own)")
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    # Outside Docker neither its DNS nor the `bot` name exist: check everything else.
    local = conf.replace("resolver 127.0.0.11", "resolver 127.0.0.1").replace(
        "server bot:8443 resolve;", "server 127.0.0.1:8443;"
    )
    path = ROOT / "deploy" / ".nginx-test.conf"
    try:
        path.write_text(local)
        done = subprocess.run([nginx, "-t", "-c", str(path)], capture_output=True, text=True)
    finally:
        path.unlink(missing_ok=True)
    assert done.returncode == 0, done.stderr


def test_the_image_holds_every_package() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    pyproject = (ROOT / "pyproject.toml").read_text()
    listed = re.search(r"packages = \[([^\]]+)\]", pyproject)
    assert listed is not None
    top = {
        name.strip().strip('"').split(".")[0] for name in listed.group(1).split(",") if name.strip()
    }
    copied = set(re.findall(r"^COPY (\w+) \./\1$", dockerfile, flags=re.MULTILINE))
    assert top <= copied, top - copied
