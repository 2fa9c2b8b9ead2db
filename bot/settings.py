"""The one settings object: environment variables prefixed ``UTTOR_`` and an optional ``.env``."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from model.config import AdapterConfig, DecodingConfig, MemoryConfig, PromptConfig, ServiceConfig
from training.config import (
    DEFAULT_TARGETS,
    EvalConfig,
    ExportConfig,
    GateConfig,
    RetrainConfig,
    TrainConfig,
)


class Settings(BaseSettings):
    """Every setting of uttor; the README's configuration table lists the same names."""

    model_config = SettingsConfigDict(
        env_prefix="UTTOR_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        # docker-compose passes unset variables as empty strings; treat them as unset.
        env_ignore_empty=True,
    )

    home: Path = Field(Path("./var"), description="Database, models, adapters and reports.")
    database_url: str | None = Field(None, description="SQLAlchemy URL; default SQLite in home.")
    telegram_token: SecretStr | None = Field(None, description="Bot token from @BotFather.")
    telegram_api_url: str | None = Field(
        None, description="Bot API base URL, e.g. http://127.0.0.1:8081/bot (default Telegram's)."
    )
    base_model: str | None = Field(
        None, description="Local path or hub id of the base model; default the starter model."
    )
    quantization: Literal["nf4", "none"] = Field("nf4", description="4-bit NF4 or full precision.")
    agents_chat_id: int | None = Field(None, description="Telegram chat id of the agents group.")
    operators_chat_id: int | None = Field(None, description="Chat id that gets nightly reports.")
    admin_ids: Annotated[list[int], NoDecode] = Field(
        default_factory=list, description="Comma-separated user ids with the operator role."
    )
    retrain_cron: str = Field("0 2 * * *", description="Crontab of the nightly retrain.")
    timezone: str = Field("Asia/Dhaka", description="Time zone of the retrain schedule.")
    webhook_url: str | None = Field(None, description="Public HTTPS URL; set it for webhook mode.")
    webhook_secret: SecretStr | None = Field(None, description="Required with the webhook URL.")
    log_level: str = Field("INFO", description="Application log level.")

    # --- Telegram bot (bot/): customers, agents, operators ---
    rate_limit_per_min: int = Field(
        20, ge=1, description="Messages per customer per minute the bot answers; more get a note."
    )
    mirror: Literal["all", "flagged", "off"] = Field(
        "all", description="Which bot replies are copied to the agents group for review."
    )
    followup_corrections: bool = Field(
        True, description="Send an agent's correction to the customer as a follow-up."
    )
    handoff_timeout_min: int = Field(
        30, ge=0, description="Idle minutes before a handed-off chat returns to the bot; 0: never."
    )
    webhook_listen: str = Field("0.0.0.0", description="Address the webhook server binds.")
    webhook_port: int = Field(8443, ge=1, le=65535, description="Port the webhook server binds.")

    # --- Nightly retraining (training/): export, QLoRA, ROUGE gate, reports ---
    # Defaults come from training.config so the dataclasses and the settings never disagree.
    min_new_pairs: int = Field(
        RetrainConfig.min_new_pairs,
        ge=0,
        description="New agent-taught pairs needed before a nightly retrain trains (--force: 0).",
    )
    min_delta: float = Field(
        GateConfig.min_delta, ge=0, description="Gain on the gate metric a candidate must show."
    )
    max_regression: float = Field(
        GateConfig.max_regression,
        ge=0,
        description="Largest drop allowed for a language with 20+ test items.",
    )
    gate_metric: Literal["rouge1", "rouge2", "rougeL", "rougeLsum"] = Field(
        GateConfig.metric, description="ROUGE variant the promotion gate compares."
    )
    retrain_epochs: int = Field(TrainConfig.epochs, ge=1, description="Training epochs per run.")
    retrain_learning_rate: float = Field(
        TrainConfig.learning_rate, gt=0, description="Peak learning rate of the LoRA training."
    )
    retrain_batch_size: int = Field(
        TrainConfig.batch_size, ge=1, description="Pairs per optimizer step."
    )
    retrain_max_length: int = Field(
        TrainConfig.max_length, ge=16, description="Tokens per training example (prompt+answer)."
    )
    retrain_seed: int = Field(TrainConfig.seed, description="Seed of the training run.")
    lora_targets: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(DEFAULT_TARGETS),
        description="Comma-separated LoRA target modules, or all-linear.",
    )
    retrain_test_share: float = Field(
        ExportConfig.test_share,
        ge=0,
        le=1,
        description="Share of new agent-taught questions held out for the test set.",
    )
    eval_batch_size: int = Field(
        EvalConfig.batch_size, ge=1, description="Test questions generated together."
    )
    retrain_threads: int | None = Field(
        None, ge=1, description="CPU threads of training and evaluation (default: cores - 1)."
    )
    retrain_timeout_min: int = Field(
        360, ge=1, description="Minutes after which a training process is stopped."
    )
    retrain_misfire_hours: float = Field(
        6, gt=0, description="How late a missed nightly retrain may still start."
    )

    # --- Model serving (model/): batching, decoding, prompts, memory, adapters ---
    # Defaults come from model.config so the dataclasses and the settings never disagree.
    device: str | None = Field(
        None, description="Where the model runs: cpu, cuda or cuda:N (default CUDA if present)."
    )
    threads: int | None = Field(
        None, ge=1, description="CPU threads for generation (default all cores; 1 on busy 2-core)."
    )
    max_batch: int = Field(
        ServiceConfig.max_batch, ge=1, description="Most chats answered by one batched generate."
    )
    max_wait_ms: float = Field(
        ServiceConfig.max_wait_ms,
        ge=0,
        description="How long an idle model waits for more messages to batch with the first.",
    )
    generation_timeout_s: float = Field(
        ServiceConfig.timeout_s,
        gt=0,
        description="Per-reply time limit; past it the customer gets a fallback, agents a flag.",
    )
    max_new_tokens: int = Field(
        DecodingConfig.max_new_tokens, ge=1, description="Most tokens in one model reply."
    )
    repetition_penalty: float = Field(
        DecodingConfig.repetition_penalty,
        ge=1.0,
        description="Penalty on repeating tokens (1 = none); small models loop without it.",
    )
    memory_threshold: float = Field(
        MemoryConfig.threshold,
        ge=0,
        le=1,
        description="Weighted trigram similarity at which a question reuses a stored answer.",
    )
    memory_knowledge: bool = Field(
        MemoryConfig.use_knowledge,
        description="Also answer near-duplicates of knowledge-base questions from memory.",
    )
    adapter_poll_s: float = Field(
        AdapterConfig.poll_s, gt=0, description="Seconds between checks for a promoted adapter."
    )
    company_name: str = Field(PromptConfig.company, description="Company named in the prompt.")
    system_prompt_style: Literal["auto", "compact", "full"] = Field(
        PromptConfig.system_style,
        description="auto: compact for the starter model (saves CPU), full for real models.",
    )
    system_prompt: str | None = Field(
        None, description="Custom system prompt; {company} and {instruction} are filled in."
    )
    history_tokens: int = Field(
        PromptConfig.history_tokens, ge=0, description="Token budget for earlier turns of a chat."
    )

    @field_validator("lora_targets", mode="before")
    @classmethod
    def _split_targets(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        # Operators write "123,456" in an env file; pydantic alone would expect JSON.
        if isinstance(value, str):
            return [int(part) for part in value.replace(";", ",").split(",") if part.strip()]
        if isinstance(value, int):
            return [value]
        return value

    @cached_property
    def db_url(self) -> str:
        """The database URL in force: the setting, else a SQLite file in ``home``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'uttor.db').resolve()}"

    @property
    def models_dir(self) -> Path:
        return self.home / "models"

    @property
    def adapters_dir(self) -> Path:
        return self.home / "adapters"

    @property
    def reports_dir(self) -> Path:
        return self.home / "reports"


def get_settings() -> Settings:
    """Read the settings afresh (tests change the environment between calls)."""
    return Settings()
