#!/usr/bin/env bash
# Build the wheel, install it (without the editable hook) into a scratch venv that
# borrows .venv's dependencies, and import every part from it outside the source
# tree. Proves the distribution ships every part under inferwatch.* (with each part's
# Alembic revisions) and nothing at top level (`import drift` must fail).
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf build/wheel build/wheelenv build/lib build/bdist.*  # setuptools keeps build/lib between builds: moved modules would linger
.venv/bin/python -m pip wheel -q --no-deps --no-build-isolation -w build/wheel . >/dev/null
.venv/bin/python -m venv build/wheelenv
site_pkgs=$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
wheel_site=$(build/wheelenv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
echo "$site_pkgs" > "$wheel_site/_inferwatch_deps.pth"
build/wheelenv/bin/python -m pip install -q --no-deps build/wheel/inferwatch-*.whl
cd /tmp
"$OLDPWD/build/wheelenv/bin/python" - <<'PY'
import importlib, importlib.util, pkgutil
import inferwatch
assert "/build/wheelenv/" in inferwatch.__file__, inferwatch.__file__
parts = ["contracts", "collector", "exporters", "drift", "dashboards", "alerts", "demo", "testing"]
for part in parts:
    pkg = importlib.import_module(f"inferwatch.{part}")
    for mod in pkgutil.iter_modules(pkg.__path__):
        importlib.import_module(f"inferwatch.{part}.{mod.name}")
for mod in pkgutil.iter_modules(inferwatch.__path__):
    importlib.import_module(f"inferwatch.{mod.name}")
for name in parts + ["core"]:
    assert importlib.util.find_spec(name) is None, f"top-level {name!r} must not be importable"
from inferwatch.migrate import script_directory
branches = {b for r in script_directory().walk_revisions() for b in r.branch_labels}
assert branches == {"core", "collector", "drift", "rules", "actions"}, branches
print("wheel ok: every part imports from the installed wheel, with every migration branch;"
      " no top-level collisions")
PY
