#!/usr/bin/env bash
# NannyML in its own virtual environment (bench/.venv-nannyml), for bench/quality.py: it
# pins versions inferwatch's environment does not share. Safe to run again.
# Usage: bench/setup_nannyml.sh
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -x .venv-nannyml/bin/python ]; then
  python3 -m venv .venv-nannyml
fi
.venv-nannyml/bin/python -m pip install -q --upgrade pip
# statsmodels: nannyml 0.13.1 imports it (plots) without declaring it.
.venv-nannyml/bin/python -m pip install -q "nannyml==0.13.1" statsmodels
.venv-nannyml/bin/python -c "import nannyml; print('nannyml', nannyml.__version__)"
