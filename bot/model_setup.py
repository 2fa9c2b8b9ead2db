"""The model layer's configuration from the ``UTTOR_`` settings, and the pipeline built from it.

``model/`` never reads settings itself (it may import only ``storage/``); this module turns
the settings into its dataclasses. ``uttor chat`` and ``uttor serve`` both build their
pipeline with :func:`build_pipeline`, so the terminal answers exactly as Telegram does.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from model.config import (
    AdapterConfig,
    DecodingConfig,
    LoadConfig,
    MemoryConfig,
    PipelineConfig,
    PromptConfig,
    ServiceConfig,
)

if TYPE_CHECKING:
    from bot.settings import Settings
    from model.pipeline import Pipeline
    from storage.db import Database

__all__ = [
    "adapter_config",
    "build_pipeline",
    "load_config",
    "memory_config",
    "pipeline_config",
    "service_config",
]


def load_config(settings: Settings, base_model: str) -> LoadConfig:
    return LoadConfig(base_model, quantization=settings.quantization, device=settings.device)


def service_config(settings: Settings) -> ServiceConfig:
    return ServiceConfig(
        max_batch=settings.max_batch,
        max_wait_ms=settings.max_wait_ms,
        timeout_s=settings.generation_timeout_s,
        threads=settings.threads,
        decoding=DecodingConfig(
            max_new_tokens=settings.max_new_tokens,
            repetition_penalty=settings.repetition_penalty,
        ),
    )


def adapter_config(settings: Settings) -> AdapterConfig:
    return AdapterConfig(poll_s=settings.adapter_poll_s)


def memory_config(settings: Settings) -> MemoryConfig:
    return MemoryConfig(
        threshold=settings.memory_threshold, use_knowledge=settings.memory_knowledge
    )


def pipeline_config(settings: Settings) -> PipelineConfig:
    return PipelineConfig(
        prompt=PromptConfig(
            company=settings.company_name,
            system_style=settings.system_prompt_style,
            system_template=settings.system_prompt,
            history_tokens=settings.history_tokens,
        )
    )


def build_pipeline(settings: Settings, database: Database, base_model: str) -> Pipeline:
    """Load the base model and wire service, memory and storage (slow: call off the loop).

    Raises :class:`model.loading.ModelLoadError` when the base model cannot be loaded.
    """
    from model.loading import load_base
    from model.memory import CorrectionMemory
    from model.pipeline import Pipeline
    from model.service import GenerationService
    from model.starter import is_starter_model

    loaded = load_base(load_config(settings, base_model))
    service = GenerationService(
        loaded, service_config(settings), database=database, adapters=adapter_config(settings)
    )
    memory = CorrectionMemory(database, memory_config(settings))
    # The starter model was pretrained with the compact system prompt (docs/model.md).
    compact = is_starter_model(Path(base_model))
    return Pipeline(database, service, memory, pipeline_config(settings), compact_prompt=compact)
