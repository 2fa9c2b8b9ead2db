"""Fixtures of the hardening tests (bad input, security, faults).

The bot's end-to-end fixtures are reused as they are: the real Application polling the fake
Bot API, with the real answering pipeline on the shared tiny model. Each test file adds what
only it needs in its own helper module, so several engineers can extend this folder at once.
"""

from __future__ import annotations

from tests.bot.conftest import (  # noqa: F401 - the bot's fixtures, used by name
    answerer,
    api,
    make_settings,
    staffed_database,
    start_bot,
    tiny_model,
)
from tests.shared.tiny_models import tiny_model_dir  # noqa: F401 - a fixture
from tests.training.conftest import (  # noqa: F401 - the retrain tests' fixtures, used by name
    fake_runner,
    retrain_config,
    shipped,
)
