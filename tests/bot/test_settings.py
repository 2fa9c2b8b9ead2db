"""One settings object, UTTOR_ prefix, .env support."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import Settings


def test_defaults() -> None:
    settings = Settings()
    assert settings.home == Path("./var")
    assert settings.db_url == f"sqlite:///{(Path('./var') / 'uttor.db').resolve()}"
    assert settings.quantization == "nf4"
    assert settings.retrain_cron == "0 2 * * *"
    assert settings.timezone == "Asia/Dhaka"
    assert settings.admin_ids == []


def test_environment_with_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UTTOR_HOME", "/srv/uttor")
    monkeypatch.setenv("UTTOR_ADMIN_IDS", "11, 22")
    monkeypatch.setenv("UTTOR_TELEGRAM_TOKEN", "123:abc")
    monkeypatch.setenv("UTTOR_DATABASE_URL", "postgresql+psycopg://u@h/db")
    settings = Settings()
    assert settings.home == Path("/srv/uttor")
    assert settings.admin_ids == [11, 22]
    assert settings.telegram_token.get_secret_value() == "123:abc"
    assert "123:abc" not in repr(settings)
    assert settings.db_url == "postgresql+psycopg://u@h/db"


def test_dotenv_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("UTTOR_QUANTIZATION=none\nUTTOR_AGENTS_CHAT_ID=-100123\n")
    monkeypatch.chdir(tmp_path)
    settings = Settings()
    assert settings.quantization == "none"
    assert settings.agents_chat_id == -100123


def test_bad_value_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UTTOR_QUANTIZATION", "int3")
    with pytest.raises(ValueError):
        Settings()


def test_every_setting_is_documented_in_readme() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    for name in Settings.model_fields:
        assert f"UTTOR_{name.upper()}" in readme, f"UTTOR_{name.upper()} missing from README"
