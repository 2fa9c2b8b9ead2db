"""One bot process for the fault tests: ``python -m tests.hardening.replica``, to be SIGKILLed.

The product's own bot (:func:`wiring.build.build_bot` and :func:`bot.app.serve`, polling or a
webhook) on the given database and fake Bot API, with the real pipeline on an instant
responder (``bench/instant.py``) instead of a model, so that the process starts in seconds.
``--hold-after K`` answers the first K questions that reach the model and holds every later
one for ever: a process killed then dies mid-work, with questions stored and unanswered.

Arguments (all ``--name value``): ``db``, ``api`` (the fake server's base URL), ``token``,
``home``, and optionally ``webhook-port``, ``secret``, ``hold-after``, ``lease``,
``answer-s`` (seconds each answer takes).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from pydantic import SecretStr

from bench.instant import InstantService
from bot.app import serve
from model.config import PipelineConfig
from model.memory import CorrectionMemory
from model.pipeline import Pipeline
from model.service import Generation
from storage.db import Database
from wiring.build import build_bot
from wiring.configs import bot_config
from wiring.settings import Settings


class HoldingService(InstantService):
    """The instant responder, answering after ``answer_s``, holding for ever past ``hold_after``."""

    def __init__(self, hold_after: int | None, answer_s: float) -> None:
        super().__init__()
        self.hold_after = hold_after
        self.answer_s = answer_s

    async def generate(self, prompt: str, *, timeout_s: float | None = None) -> Generation:
        if self.hold_after is not None and self.calls >= self.hold_after:
            self.calls += 1
            await asyncio.Event().wait()  # until the process is killed
        if self.answer_s:
            await asyncio.sleep(self.answer_s)
        return await super().generate(prompt, timeout_s=timeout_s)


async def run(args: argparse.Namespace) -> None:
    values: dict[str, object] = {
        "home": Path(args.home),
        "database_url": args.db,
        "telegram_token": SecretStr(args.token),
        "telegram_api_url": args.api,
        "inbox_lease_s": args.lease,
        "mirror": "off",
        "handoff_timeout_min": 0,
        "log_level": "WARNING",
    }
    if args.webhook_port:
        values |= {
            "webhook_url": f"http://127.0.0.1:{args.webhook_port}/hook",
            "webhook_secret": SecretStr(args.secret),
            "webhook_listen": "127.0.0.1",
            "webhook_port": args.webhook_port,
        }
    settings = Settings(**values)  # type: ignore[arg-type]
    database = Database(settings.db_url)
    service = HoldingService(args.hold_after, args.answer_s)
    pipeline = Pipeline(
        database,
        service,  # type: ignore[arg-type]  # duck-typed on purpose
        CorrectionMemory(database),
        PipelineConfig(unsure="model"),  # every question reaches the (held) responder
        compact_prompt=True,
    )
    async with pipeline:
        application = build_bot(settings, database, pipeline)
        await serve(application, bot_config(settings))
    database.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name in ("db", "api", "token", "home"):
        parser.add_argument(f"--{name}", required=True)
    parser.add_argument("--webhook-port", type=int)
    parser.add_argument("--secret", default="replica-secret")
    parser.add_argument("--hold-after", type=int)
    parser.add_argument("--lease", type=float, default=2.0)
    parser.add_argument("--answer-s", type=float, default=0.0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    asyncio.run(run(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
