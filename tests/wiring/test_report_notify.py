"""``uttor serve`` and ``uttor worker`` send operators the same report: summary and both charts."""

from __future__ import annotations

import asyncio
from pathlib import Path

from pydantic import SecretStr

from tests.bot.fake_bot_api import FakeBotApi
from training.report import REPORT_FILES
from training.schedule import ReportNotice
from wiring.build import report_notify
from wiring.settings import Settings

OPERATORS = -1001000000002
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _report(folder: Path) -> Path:
    folder.mkdir(parents=True)
    for name in ("rouge", "loss"):
        (folder / REPORT_FILES[name]).write_bytes(PNG + name.encode())
    return folder / REPORT_FILES["rouge"]


async def test_worker_notifier_sends_the_summary_and_both_charts(tmp_path: Path) -> None:
    async with FakeBotApi() as api:
        settings = Settings(
            home=tmp_path,
            telegram_token=SecretStr(api.token),
            telegram_api_url=api.url,
            operators_chat_id=OPERATORS,
        )
        notify = report_notify(settings)  # no running bot: the worker's case
        assert notify is not None
        photo = _report(tmp_path / "reports" / "1")
        mark = api.mark()
        # The scheduler calls notify on its own thread.
        await asyncio.to_thread(notify, ReportNotice(OPERATORS, "uttor retrain run 1", photo))
        rouge, loss = await api.wait_for(
            "sendPhoto", lambda c: c.chat_id == OPERATORS, since=mark, count=2
        )
        assert rouge.params["caption"] == "uttor retrain run 1" and "caption" not in loss.params
        assert rouge.files["photo"].endswith(b"rouge") and loss.files["photo"].endswith(b"loss")


def test_no_operators_chat_means_no_notifier(tmp_path: Path) -> None:
    assert report_notify(Settings(home=tmp_path, telegram_token=SecretStr("1:x"))) is None
