#!/usr/bin/env bash
# Create .venv and install lorasent-tui with its test extras, offline-friendly.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
. .venv/bin/activate
python -m pip install --quiet --upgrade pip
# The CPU build of torch first: a plain torch requirement would otherwise pull a multi-GB CUDA build.
python -m pip show torch >/dev/null 2>&1 || python -m pip install --quiet "torch==2.13.0" \
  || python -m pip install --quiet "torch>=2.2,<2.15"
python -m pip install --quiet -e ".[test]"
