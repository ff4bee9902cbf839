#!/usr/bin/env bash
# alibi-detect in its own virtual environment (bench/.venv-alibi), for bench/drift_quality.py:
# it pins numpy < 2 and other versions inferwatch's environment does not share.
# Safe to run again. Usage: bench/setup_alibi.sh
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -x .venv-alibi/bin/python ]; then
  python3 -m venv .venv-alibi
fi
.venv-alibi/bin/python -m pip install -q --upgrade pip
.venv-alibi/bin/python -m pip install -q "alibi-detect==0.13.0" "numpy<2" pandas pyarrow
.venv-alibi/bin/python -c "import alibi_detect; print('alibi-detect', alibi_detect.__version__)"
