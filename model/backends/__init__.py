"""Generation backends other than the in-process service of :mod:`model.service`.

:mod:`model.backends.vllm` sends each prompt to a vLLM server (OpenAI-compatible HTTP API)
and follows the adapter registry by loading LoRA adapters into that server at run time
(:mod:`model.backends.vllm_adapters`). Both fit :class:`model.backend.GenerationBackend`.
"""
