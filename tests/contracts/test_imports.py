"""The contract package runs in model pods: the standard library and numpy, nothing else.

Checked in a fresh interpreter, since this test process has loaded everything already.
"""

from __future__ import annotations

import json
import subprocess
import sys

MODULES = (
    "binning",
    "categories",
    "defaults",
    "names",
    "quality",
    "results",
    "sample",
    "spec",
    "windows",
)
SERVER_ONLY = ("pandas", "scipy", "pyarrow", "fastapi", "sqlalchemy", "evidently")


def _loaded_after(imports: str) -> list[str]:
    code = f"import json, sys\n{imports}\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    return list(json.loads(result.stdout.splitlines()[-1]))


def test_contracts_import_only_the_standard_library_and_numpy() -> None:
    loaded = _loaded_after("\n".join(f"import inferwatch.contracts.{m}" for m in MODULES))
    at_start = set(_loaded_after(""))  # site hooks (the editable install's finder, ...)
    roots = {name.split(".")[0] for name in set(loaded) - at_start}
    foreign = sorted(roots - set(sys.stdlib_module_names) - {"numpy", "inferwatch"})
    assert foreign == []
    owned = {name for name in loaded if name.startswith("inferwatch.")}
    assert all(name.startswith("inferwatch.contracts") for name in owned), owned


def test_defaults_and_names_do_not_load_numpy() -> None:
    """Settings and CLI options name them; ``inferwatch --help`` must stay light."""
    loaded = _loaded_after("import inferwatch.contracts.defaults, inferwatch.contracts.names")
    assert "numpy" not in {name.split(".")[0] for name in loaded}


def test_the_recorder_loads_no_server_dependency() -> None:
    loaded = _loaded_after("import inferwatch.exporters.recorder")
    roots = {name.split(".")[0] for name in loaded}
    assert roots.isdisjoint(SERVER_ONLY), sorted(roots & set(SERVER_ONLY))
    assert not any(name.startswith("inferwatch.drift") for name in loaded)
