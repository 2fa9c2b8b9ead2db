"""The one settings object: environment variables prefixed ``UTTOR_`` and an optional ``.env``.

Each setting is written once. A setting that configures a part (model, training, bot) takes its
default from that part's config dataclass through :func:`linked`, which also records the field
it fills; ``wiring/configs.py`` builds every config from those records, so a default, a name
and a mapping never disagree. docs/configuration.md and .env.example are generated from this
class (``python -m wiring.reference``).
"""

from __future__ import annotations

import dataclasses
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.config import BotConfig
from model.backends.config import VllmConfig
from model.config import (
    AdapterConfig,
    DecodingConfig,
    MemoryConfig,
    PipelineConfig,
    PromptConfig,
    ServiceConfig,
)
from training.config import (
    EvalConfig,
    ExportConfig,
    FactsConfig,
    GateConfig,
    RetrainConfig,
    TrainConfig,
)

#: json_schema_extra key naming the config field ("ServiceConfig.max_batch") a setting fills.
FILLS = "fills"


def linked(config: type, name: str, description: str, **constraints: Any) -> Any:
    """A setting whose default is ``config.name``'s and whose value fills that field."""
    found = {f.name: f for f in dataclasses.fields(config)}[name]
    missing = found.default is dataclasses.MISSING
    default = found.default_factory() if missing else found.default  # type: ignore[misc]
    if isinstance(default, tuple):  # settings hold lists (comma-separated in the environment)
        default = list(default)
    return Field(
        default,
        description=description,
        json_schema_extra={FILLS: f"{config.__name__}.{name}"},
        **constraints,
    )


class Settings(BaseSettings):
    """Every setting of uttor; docs/configuration.md lists the same names (generated)."""

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
    telegram_token: SecretStr | None = linked(
        BotConfig, "telegram_token", "Bot token from @BotFather."
    )
    telegram_api_url: str | None = linked(
        BotConfig,
        "telegram_api_url",
        "Bot API base URL, e.g. http://127.0.0.1:8081/bot (default Telegram's).",
    )
    base_model: str | None = Field(
        None, description="Local path or hub id of the base model; default the starter model."
    )
    quantization: Literal["nf4", "none"] = Field("nf4", description="4-bit NF4 or full precision.")
    agents_chat_id: int | None = linked(
        BotConfig, "agents_chat_id", "Telegram chat id of the agents group."
    )
    operators_chat_id: int | None = linked(
        BotConfig, "operators_chat_id", "Chat id that gets nightly reports."
    )
    admin_ids: Annotated[list[int], NoDecode] = linked(
        BotConfig, "admin_ids", "Comma-separated user ids with the operator role."
    )
    retrain_cron: str = Field("0 2 * * *", description="Crontab of the nightly retrain.")
    timezone: str = linked(BotConfig, "timezone", "Time zone of the retrain schedule.")
    webhook_url: str | None = linked(
        BotConfig, "webhook_url", "Public HTTPS URL; set it for webhook mode."
    )
    webhook_secret: SecretStr | None = linked(
        BotConfig, "webhook_secret", "Required with the webhook URL."
    )
    log_level: str = Field("INFO", description="Application log level.")

    # --- Telegram bot (bot/): customers, agents, operators ---
    rate_limit_per_min: int = linked(
        BotConfig,
        "rate_limit_per_min",
        "Messages per customer per minute the bot answers; more get a note.",
        ge=1,
    )
    mirror: Literal["all", "flagged", "off"] = linked(
        BotConfig, "mirror", "Which bot replies are copied to the agents group for review."
    )
    followup_corrections: bool = linked(
        BotConfig,
        "followup_corrections",
        "Send an agent's correction to the customer as a follow-up.",
    )
    handoff_timeout_min: int = linked(
        BotConfig,
        "handoff_timeout_min",
        "Idle minutes before a handed-off chat returns to the bot; 0: never.",
        ge=0,
    )
    webhook_listen: str = linked(BotConfig, "webhook_listen", "Address the webhook server binds.")
    webhook_port: int = linked(
        BotConfig, "webhook_port", "Port the webhook server binds.", ge=1, le=65535
    )
    send_rate_per_s: float = linked(
        BotConfig,
        "send_rate_per_s",
        "Messages/s one process sends at most (Telegram allows ~30 a bot; N replicas: 30/N).",
        gt=0,
    )
    inbox_lease_s: float = linked(
        BotConfig,
        "inbox_lease_s",
        "Seconds a claim on an update lasts unrenewed; a dead replica's updates wait so long.",
        gt=0,
    )

    # --- Nightly retraining (training/): export, QLoRA, ROUGE gate, reports ---
    min_new_pairs: int = linked(
        RetrainConfig,
        "min_new_pairs",
        "New agent-taught pairs needed before a nightly retrain trains (--force: 0).",
        ge=0,
    )
    min_delta: float = linked(
        GateConfig,
        "min_delta",
        "The gate metric's gain interval must lie above this (its lower bound).",
        ge=0,
    )
    max_regression: float = linked(
        GateConfig,
        "max_regression",
        "A language (20+ test items) vetoes when its whole interval lies below minus this.",
        ge=0,
    )
    gate_confidence: float = linked(
        GateConfig,
        "confidence",
        "Confidence of the paired-bootstrap intervals the promotion gate decides on.",
        gt=0.5,
        lt=1,
    )
    gate_facts: Literal["keep", "improve", "off"] = linked(
        GateConfig,
        "facts",
        "Fact check of the gate: keep (no drop), improve (must rise), off (not measured).",
    )
    facts_file: Path | None = linked(
        FactsConfig, "file", "Fact-check set (JSONL) of the gate; default the shipped one."
    )
    gate_metric: Literal["rouge1", "rouge2", "rougeL", "rougeLsum"] = linked(
        GateConfig, "metric", "ROUGE variant the promotion gate compares."
    )
    retrain_epochs: int = linked(TrainConfig, "epochs", "Training epochs per run.", ge=1)
    retrain_learning_rate: float = linked(
        TrainConfig, "learning_rate", "Peak learning rate of the LoRA training.", gt=0
    )
    retrain_batch_size: int = linked(TrainConfig, "batch_size", "Pairs per optimizer step.", ge=1)
    retrain_max_length: int = linked(
        TrainConfig, "max_length", "Tokens per training example (prompt+answer).", ge=16
    )
    retrain_seed: int = linked(TrainConfig, "seed", "Seed of the training run.")
    lora_targets: Annotated[list[str], NoDecode] = linked(
        TrainConfig, "target_modules", "Comma-separated LoRA target modules, or all-linear."
    )
    retrain_test_share: float = linked(
        ExportConfig,
        "test_share",
        "Share of new agent-taught questions held out for the test set.",
        ge=0,
        le=1,
    )
    eval_batch_size: int = linked(
        EvalConfig, "batch_size", "Test questions generated together.", ge=1
    )
    retrain_threads: int | None = linked(
        TrainConfig,
        "threads",
        "CPU threads of training and evaluation (default: cores - 1).",
        ge=1,
    )
    retrain_timeout_min: int = Field(
        360, ge=1, description="Minutes after which a training process is stopped."
    )
    retrain_misfire_hours: float = Field(
        6, gt=0, description="How late a missed nightly retrain may still start."
    )

    # --- Model serving (model/): batching, decoding, prompts, memory, adapters ---
    device: str | None = Field(
        None, description="Where the model runs: cpu, cuda or cuda:N (default CUDA if present)."
    )
    threads: int | None = linked(
        ServiceConfig,
        "threads",
        "CPU threads for generation (default all cores; 1 on busy 2-core).",
        ge=1,
    )
    max_batch: int = linked(
        ServiceConfig, "max_batch", "Most chats answered by one batched generate.", ge=1
    )
    max_wait_ms: float = linked(
        ServiceConfig,
        "max_wait_ms",
        "How long an idle model waits for more messages to batch with the first.",
        ge=0,
    )
    generation_timeout_s: float = linked(
        ServiceConfig,
        "timeout_s",
        "Per-reply time limit; past it the customer gets a fallback, agents a flag.",
        gt=0,
    )
    max_new_tokens: int = linked(
        DecodingConfig, "max_new_tokens", "Most tokens in one model reply.", ge=1
    )
    repetition_penalty: float = linked(
        DecodingConfig,
        "repetition_penalty",
        "Penalty on repeating tokens (1 = none); small models loop without it.",
        ge=1.0,
    )
    memory_threshold: float = linked(
        MemoryConfig,
        "threshold",
        "Similarity (0-1) at which a question reuses an agent's correction (guards permitting).",
        ge=0,
        le=1,
    )
    memory_knowledge: bool = linked(
        MemoryConfig,
        "use_knowledge",
        "Answer from the knowledge base too (off: agents' corrections only).",
    )
    knowledge_threshold: float = linked(
        MemoryConfig,
        "knowledge_threshold",
        "Topic vote (0-2) at which a question gets the knowledge base's answer.",
        ge=0,
        le=2,
    )
    embedding_model: str | None = linked(
        MemoryConfig,
        "embedding_model",
        "Local sentence-transformers folder blended into retrieval (needs the package).",
    )
    unsure: Literal["handoff", "model"] = linked(
        PipelineConfig,
        "unsure",
        "Ungrounded question: handoff (honest note, flagged for agents) or model.",
    )
    related_answer: Literal["auto", "model", "handoff"] = linked(
        PipelineConfig,
        "related",
        "Related entries, no confident answer: model (entries in its prompt), handoff, auto.",
    )
    adapter_poll_s: float = linked(
        AdapterConfig, "poll_s", "Seconds between checks for a promoted adapter.", gt=0
    )
    company_name: str = linked(PromptConfig, "company", "Company named in the prompt.")
    system_prompt_style: Literal["auto", "compact", "full"] = linked(
        PromptConfig,
        "system_style",
        "auto: compact for the starter model (saves CPU), full for real models.",
    )
    system_prompt: str | None = linked(
        PromptConfig,
        "system_template",
        "Custom system prompt; {company} and {instruction} are filled in.",
    )
    history_tokens: int = linked(
        PromptConfig, "history_tokens", "Token budget for earlier turns of a chat.", ge=0
    )
    generation_backend: Literal["local", "vllm"] = Field(
        "local",
        description="Where model replies are generated: local (in-process) or vllm (a server).",
    )
    vllm_url: str = linked(
        VllmConfig, "url", "OpenAI-compatible URL of the vLLM server, ending in /v1."
    )
    vllm_api_key: SecretStr | None = Field(
        None, description="API key the vLLM server was started with (--api-key)."
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
