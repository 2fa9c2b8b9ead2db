# The uttor image: the bot (`uttor serve`) and the worker (`uttor worker`) run from it.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 UTTOR_HOME=/data
WORKDIR /app

# The CPU build of torch first: a plain requirement would pull a multi-GB CUDA build.
# For a GPU host, build with --build-arg TORCH_INDEX=https://download.pytorch.org/whl/cu128
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
RUN pip install --index-url "$TORCH_INDEX" "torch==2.13.0"

COPY pyproject.toml README.md alembic.ini ./
# Every package pyproject.toml lists (the import layers of docs/architecture.md).
COPY cli ./cli
COPY wiring ./wiring
COPY bot ./bot
COPY operations ./operations
COPY training ./training
COPY model ./model
COPY storage ./storage
COPY migrations ./migrations
RUN pip install ".[postgres]"

VOLUME ["/data"]
# Polling by default; with UTTOR_WEBHOOK_URL set the bot listens on UTTOR_WEBHOOK_PORT.
EXPOSE 8443
CMD ["uttor", "serve"]
