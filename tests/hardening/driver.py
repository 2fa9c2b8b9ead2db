"""Drive one running bot through many cases, one after another, with a barrier between them.

After a case's update is pushed, :meth:`Driver.settle` waits until the bot has finished every
update it was sent: a sentinel user's ``/help`` is pushed behind it, and once that is answered
the case's update has been stored in the inbox too, so waiting for the inbox to settle waits for
its handler to finish (and the mirror tasks a handler started are awaited). An
update the bot ignores by design therefore needs no sleep to be proven ignored, and the calls
and rows a case caused are exactly its own.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from tests.bot.conftest import RunningBot
from tests.bot.fake_bot_api import Call, FakeBotApi
from tests.hardening.invariants import counts, delta, violations

SENTINEL_ID = 4242
#: Fresh customers get ids from here on: one per case, so no case inherits another's state
#: (reply language, rate limit, handoff).
FIRST_CUSTOMER_ID = 610_001
#: Methods that only read or show progress; a case that "does nothing" may still cause these.
QUIET_METHODS = frozenset({"getMe", "sendChatAction"})


@dataclass
class Outcome:
    """What one case made the bot do."""

    calls: list[Call]
    changed: dict[str, int]
    broken: list[str]

    def sent(self, chat_id: int | None = None) -> list[Call]:
        """Messages the bot sent (to one chat, or anywhere)."""
        return [
            c
            for c in self.calls
            if c.method in ("sendMessage", "sendPhoto", "editMessageText")
            and (chat_id is None or c.chat_id == chat_id)
        ]

    def acks(self) -> list[Call]:
        """Answers to button presses."""
        return [c for c in self.calls if c.method == "answerCallbackQuery"]

    def visible(self) -> list[Call]:
        """Every call with an effect a person could see."""
        return [c for c in self.calls if c.method not in QUIET_METHODS]


class Driver:
    """One running bot, fresh customer ids, and a barrier after each case."""

    def __init__(self, bot: RunningBot) -> None:
        self.bot = bot
        self.api: FakeBotApi = bot.api
        self._ids = itertools.count(FIRST_CUSTOMER_ID)

    def customer(self, first_name: str = "", username: str | None = None) -> dict[str, Any]:
        """A Telegram user the bot has never seen."""
        user_id = next(self._ids)
        return self.api.user(user_id, first_name or f"Customer{user_id}", username)

    async def settle(self) -> None:
        """Return once the bot has finished with everything pushed so far."""
        mark = self.api.mark()
        await self.api.say(self.api.user(SENTINEL_ID, "Sentinel"), "/help")
        await self.api.wait_for("sendMessage", lambda c: c.chat_id == SENTINEL_ID, since=mark)
        await self.bot.settled()
        # Mirrors to the agents group run as application tasks after the answer went out.
        mirrors = [t for t in asyncio.all_tasks() if t.get_name().startswith("mirror:")]
        await asyncio.gather(*mirrors, return_exceptions=True)

    async def run(self, act: Callable[[], Awaitable[Any]]) -> Outcome:
        """Do ``act`` (push updates), wait until the bot is done, and say what changed."""
        await self.settle()  # the sentinel exists before the first snapshot
        before = counts(self.bot.database)
        mark = self.api.mark()
        await act()
        await self.settle()
        calls = [c for c in self.api.calls[mark:] if c.chat_id != SENTINEL_ID and c.status == 200]
        # A refused call (400, 429) is the bot's bug, not an effect: keep them visible too.
        failed = [c for c in self.api.calls[mark:] if c.status != 200]
        after = counts(self.bot.database)
        broken = violations(self.bot.database)
        broken += [f"Bot API refused {c.method} ({c.status})" for c in failed]
        return Outcome(calls=calls, changed=delta(before, after), broken=broken)
