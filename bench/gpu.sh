#!/usr/bin/env bash
# GPU benchmarks on one GPU machine, in under 10 minutes, offline:
#   1. `uttor init --size large`: the ~60M-parameter starter, pretrained on the host's CPUs
#      (nothing is downloaded; a model big enough to keep a GPU busy);
#   2. CUDA NF4 + LoRA generation (local backend) and vLLM with LoRA loaded at run time, side
#      by side through the whole pipeline at 16 and 64 chats (bench/backends.py --lora);
#   3. QLoRA training tokens/s on the GPU (bench/retrain.py: the nightly job's training).
#
# Usage, from a checkout with uttor's environment (CUDA torch, bitsandbytes) active:
#   VLLM_PYTHON=/path/to/vllm-env/bin/python bench/gpu.sh [OUT_DIR]
# VLLM_PYTHON is a python with a CUDA build of vLLM (default .venv-vllm/bin/python). Each step
# writes one JSON file to OUT_DIR (default bench-gpu); a summary goes to stdout.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python}
VLLM_PYTHON=${VLLM_PYTHON:-.venv-vllm/bin/python}
OUT=${1:-bench-gpu}
mkdir -p "$OUT"
export UTTOR_HOME=${UTTOR_HOME:-$OUT/home}

say() { printf '%s  %s\n' "$(date -u +%H:%M:%S)" "$*"; }

# Fail in seconds, not minutes, when the machine cannot run this.
"$PYTHON" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'no CUDA in torch')"
"$PYTHON" -c "import bitsandbytes, peft, transformers" \
  || { echo "uttor's environment is not active (bitsandbytes, peft, transformers)" >&2; exit 1; }
"$VLLM_PYTHON" -c "import vllm" 2>/dev/null \
  || { echo "no vLLM at VLLM_PYTHON=$VLLM_PYTHON" >&2; exit 1; }

{
  echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "gpu: $(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores"
  echo "uptime: $(uptime)"
  echo "torch: $("$PYTHON" -c 'import torch; print(torch.__version__, torch.version.cuda)')"
  echo "vllm: $("$VLLM_PYTHON" -c 'import vllm; print(vllm.__version__)')"
} | tee "$OUT/machine.txt"

say "1/3 starter model, --size large (CPU pretraining)"
timeout 240 "$PYTHON" -m cli.main init --size large --json > "$OUT/init.json"
MODEL=$("$PYTHON" -c "import json, sys; print(json.load(open(sys.argv[1]))['base_model'])" \
  "$OUT/init.json")
say "model: $MODEL"

say "2/3 local CUDA NF4 + LoRA vs vLLM + LoRA, 16 and 64 chats"
# Half the GPU for vLLM's KV cache: the local backend shares the GPU in the same run.
timeout 270 "$PYTHON" bench/backends.py --model "$MODEL" --lora --chats 16,64 --requests 256 \
  --python "$VLLM_PYTHON" --vllm-arg=--gpu-memory-utilization=0.5 --json \
  > "$OUT/backends.json"

say "3/3 QLoRA training tokens/s on the GPU"
timeout 90 "$PYTHON" bench/retrain.py --model "$MODEL" --pairs 192 --json > "$OUT/retrain.json"

"$PYTHON" - "$OUT" <<'EOF'
import json, sys
from pathlib import Path

out = Path(sys.argv[1])
backends = json.loads((out / "backends.json").read_text())
retrain = json.loads((out / "retrain.json").read_text())
for name, result in backends["backends"].items():
    for chats, row in result["chats"].items():
        print(f"{name:5} {chats:>3} chats: {row['replies_per_s']:8} replies/s, "
              f"p50 {row['p50_ms']} ms, p95 {row['p95_ms']} ms, adapter {result['adapter']}")
print("vLLM / local:", backends["vllm_over_local"])
short = retrain["short"]
print(f"QLoRA training ({short['quantization']}, {short['pairs']} pairs): "
      f"{short['tokens_per_s']} tokens/s, {short['s_per_step']} s/step")
EOF
say "done; figures in $OUT/"
