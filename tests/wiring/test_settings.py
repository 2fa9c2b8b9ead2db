"""One settings object, UTTOR_ prefix, .env support."""

from __future__ import annotations

from pathlib import Path

import pytest

from wiring.settings import Settings


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


def test_every_setting_is_in_the_generated_reference() -> None:
    root = Path(__file__).resolve().parents[2]
    reference = (root / "docs" / "configuration.md").read_text(encoding="utf-8")
    example = (root / ".env.example").read_text(encoding="utf-8")
    for name in Settings.model_fields:
        assert f"UTTOR_{name.upper()}" in reference, f"UTTOR_{name.upper()} missing from docs"
        assert f"# UTTOR_{name.upper()}=" in example, f"UTTOR_{name.upper()} missing from .env"


def test_generated_reference_is_current() -> None:
    # Fails when a setting changed without `python -m wiring.reference`.
    from wiring.reference import stale

    assert stale() == []


def test_reference_goes_stale_when_a_setting_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    from wiring import reference

    monkeypatch.setattr(reference, "markdown", lambda: "something else")
    assert reference.DOC in reference.stale()


def test_settings_fill_the_configs_they_link() -> None:
    from model.config import DecodingConfig, ServiceConfig
    from training.config import TrainConfig
    from wiring.configs import bot_config, fill, retrain_config, service_config

    settings = Settings(
        max_batch=3,
        generation_timeout_s=7.5,
        max_new_tokens=12,
        lora_targets=["q_proj", "v_proj"],
        mirror="flagged",
        admin_ids=[5],
        base_model="/models/x",
    )
    assert service_config(settings) == ServiceConfig(
        max_batch=3, timeout_s=7.5, decoding=DecodingConfig(max_new_tokens=12)
    )
    assert fill(TrainConfig, settings).target_modules == ("q_proj", "v_proj")
    assert bot_config(settings).mirror == "flagged" and bot_config(settings).admin_ids == (5,)
    assert retrain_config(settings).eval.decoding.max_new_tokens == 12
    # Defaults are the dataclasses' own.
    assert Settings().max_batch == ServiceConfig().max_batch
    assert Settings().retrain_epochs == TrainConfig().epochs
