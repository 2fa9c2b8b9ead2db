"""Settings into the parts' configs: the only place that maps one onto the other.

Fields are filled from the settings that :func:`wiring.settings.linked` ties to them; the few
settings that change unit or shape on the way (minutes to seconds, the base model's folder)
are converted here, once. Nothing below ``wiring/`` reads the environment.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, TypeVar

from bot.config import BotConfig
from model.config import (
    AdapterConfig,
    DecodingConfig,
    LoadConfig,
    MemoryConfig,
    PipelineConfig,
    PromptConfig,
    ServiceConfig,
)
from model.errors import NoBaseModel
from training.config import (
    EvalConfig,
    ExportConfig,
    FactsConfig,
    GateConfig,
    RetrainConfig,
    TrainConfig,
)
from wiring.settings import FILLS, Settings

if TYPE_CHECKING:
    from training.schedule import ScheduleConfig

__all__ = [
    "NoBaseModel",
    "adapter_config",
    "bot_config",
    "eval_config",
    "facts_config",
    "fill",
    "load_config",
    "memory_config",
    "pipeline_config",
    "resolve_base_model",
    "retrain_config",
    "schedule_config",
    "service_config",
]

C = TypeVar("C")


def _links(config: type) -> dict[str, str]:
    """Config field name -> settings name, for every setting :func:`linked` to ``config``."""
    prefix = f"{config.__name__}."
    links = {}
    for name, info in Settings.model_fields.items():
        extra = info.json_schema_extra
        target = extra.get(FILLS) if isinstance(extra, dict) else None
        if isinstance(target, str) and target.startswith(prefix):
            links[target.removeprefix(prefix)] = name
    return links


def fill(config: type[C], settings: Settings, **given: Any) -> C:
    """``config`` with every linked field taken from ``settings``; ``given`` adds the rest."""
    values: dict[str, Any] = {}
    for field_name, setting in _links(config).items():
        value = getattr(settings, setting)
        values[field_name] = tuple(value) if isinstance(value, list) else value
    names = {f.name for f in dataclasses.fields(config)}  # type: ignore[arg-type]
    unknown = set(given) - names
    if unknown:
        raise TypeError(f"{config.__name__} has no field {sorted(unknown)}")
    return config(**{**values, **given})


def bot_config(settings: Settings) -> BotConfig:
    return fill(BotConfig, settings)


def load_config(settings: Settings, base_model: str) -> LoadConfig:
    return LoadConfig(base_model, quantization=settings.quantization, device=settings.device)


def service_config(settings: Settings) -> ServiceConfig:
    return fill(ServiceConfig, settings, decoding=fill(DecodingConfig, settings))


def adapter_config(settings: Settings) -> AdapterConfig:
    return fill(AdapterConfig, settings)


def memory_config(settings: Settings) -> MemoryConfig:
    return fill(MemoryConfig, settings)


def pipeline_config(settings: Settings) -> PipelineConfig:
    return fill(PipelineConfig, settings, prompt=fill(PromptConfig, settings))


def resolve_base_model(settings: Settings) -> str:
    """``UTTOR_BASE_MODEL``, else the starter model ``uttor init`` built."""
    from model.starter import default_model_dir

    if settings.base_model:
        return settings.base_model
    starter = default_model_dir(settings.models_dir)
    if starter is None:
        raise NoBaseModel(
            "no base model: run `uttor init` to build the starter model, or set UTTOR_BASE_MODEL"
        )
    return str(starter)


def eval_config(settings: Settings) -> EvalConfig:
    """Evaluation decodes exactly as serving does (token limit, repetition penalty)."""
    return fill(EvalConfig, settings, decoding=service_config(settings).decoding)


def retrain_config(settings: Settings) -> RetrainConfig:
    """Everything one retrain run needs; raises :class:`NoBaseModel`."""
    return fill(
        RetrainConfig,
        settings,
        home=settings.home,
        base_model=resolve_base_model(settings),
        quantization=settings.quantization,
        device=settings.device,
        prompt=pipeline_config(settings).prompt,
        timeout_s=settings.retrain_timeout_min * 60,
        operators_chat_id=settings.operators_chat_id,
        export=fill(ExportConfig, settings),
        train=fill(TrainConfig, settings),
        eval=eval_config(settings),
        gate=fill(GateConfig, settings),
        facts=facts_config(settings),
    )


def facts_config(settings: Settings) -> FactsConfig:
    """The fact-check set, asked through a pipeline configured as serving's is."""
    return fill(
        FactsConfig, settings, memory=memory_config(settings), pipeline=pipeline_config(settings)
    )


def schedule_config(settings: Settings) -> ScheduleConfig:
    """When the nightly retrain runs."""
    from training.schedule import ScheduleConfig

    return ScheduleConfig(
        cron=settings.retrain_cron,
        timezone=settings.timezone,
        misfire_grace_s=int(settings.retrain_misfire_hours * 3600),
    )
