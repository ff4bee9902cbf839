#!/usr/bin/env bash
# Install what inferwatch needs on a fresh machine: the Prometheus, Alertmanager and
# PostgreSQL binaries the tests start (Debian packages), and a virtual environment in .venv
# with inferwatch installed editable plus the services (`server`) and its dev extras. Safe
# to run again: it skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

extras="${INFERWATCH_EXTRAS:-server,dev,bench}"
need_pkgs=()
command -v prometheus >/dev/null 2>&1 || need_pkgs+=(prometheus)
command -v prometheus-alertmanager >/dev/null 2>&1 || command -v alertmanager >/dev/null 2>&1 \
  || need_pkgs+=(prometheus-alertmanager)
# The tests start a throw-away PostgreSQL with initdb/pg_ctl (inferwatch.pgserver).
ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || command -v pg_ctl >/dev/null 2>&1 \
  || need_pkgs+=(postgresql)
if [ "${#need_pkgs[@]}" -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "setup: installing ${need_pkgs[*]} (Debian packages)" >&2
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
      "${need_pkgs[@]}" >/dev/null
    # The packages enable system services; the tests start their own copies.
    for svc in prometheus prometheus-alertmanager postgresql; do
      $sudo systemctl stop "$svc" >/dev/null 2>&1 || true
    done
  else
    echo "setup: need ${need_pkgs[*]} on PATH; install Prometheus and Alertmanager" \
         "from https://prometheus.io/download/ and PostgreSQL's initdb/pg_ctl" \
         "(no apt-get on this machine)" >&2
    exit 1
  fi
fi

python="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$python" -m venv .venv
stamp=".venv/.inferwatch-installed"
want="$(cat pyproject.toml | sha256sum | cut -d' ' -f1) $extras"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: installing inferwatch[$extras] into .venv" >&2
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null
  .venv/bin/python -m pip install -q -e ".[$extras]"
  echo "$want" > "$stamp"
fi
