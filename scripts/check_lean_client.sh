#!/usr/bin/env bash
# The lean client install, as a model pod gets it: build the wheel, make a fresh venv
# (nothing borrowed from .venv), install pandas 3 first and then `inferwatch` (no extra)
# beside it, pinned so pip fails rather than change pandas. scripts/check_lean_client.py
# then, in that venv and outside the source tree: instruments a plain ASGI app, records
# batches against a baseline file, serves simulated GPUs with `inferwatch exporter serve`,
# checks that no server dependency got installed and which server modules each entry
# point imports. The baseline file comes from the dev install (`drift baseline show
# --json`, the document the recorder loads).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=build/lean
rm -rf "$work"
mkdir -p "$work/data"
rm -rf build/lib build/bdist.*  # setuptools keeps build/lib between builds: moved modules would linger
.venv/bin/python -m pip wheel -q --no-deps --no-build-isolation -w "$work/wheel" . \
  >"$work/wheel.log" 2>&1 || { cat "$work/wheel.log" >&2; exit 1; }

printf 'age,plan\n' > "$work/reference.csv"
for i in $(seq 1 200); do printf '%d,%s\n' "$((18 + i % 60))" "$(printf 'abc' | cut -c$((1 + i % 3)))"; done \
  >> "$work/reference.csv"
export INFERWATCH_DATA_DIR="$root/$work/data"
.venv/bin/inferwatch drift baseline create "$work/reference.csv" --model lean >/dev/null
.venv/bin/inferwatch drift baseline show lean --json > "$work/baseline.json"
unset INFERWATCH_DATA_DIR

.venv/bin/python -m venv "$work/venv"
py="$root/$work/venv/bin/python"
"$py" -m pip install -q "pandas>=3"
pandas_version=$("$py" -c 'import pandas; print(pandas.__version__)')
echo "pandas==$pandas_version" > "$work/keep-pandas.txt"
"$py" -m pip install -q -c "$work/keep-pandas.txt" "$work"/wheel/inferwatch-*.whl
cd "$work/data"
"$py" "$root/scripts/check_lean_client.py" "$root/$work/baseline.json" "$pandas_version"
