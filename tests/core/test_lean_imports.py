"""The lean client stays lean: what model pods import pulls in no server dependency.

Checked here in the dev venv, where every server dependency is installed, so an entry
point importing one (even lazily, on its first call) shows up in ``sys.modules`` of a
fresh interpreter. scripts/check_lean_client.sh checks the install itself in a fresh venv
beside pandas 3; both share the entry points and module lists of
scripts/check_lean_client.py.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from types import ModuleType

import pytest

from inferwatch.extras import INSTALL_SERVER, SERVER_MODULES, missing_server_extra

ROOT = Path(__file__).resolve().parents[2]


def _load_check() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "check_lean_client", ROOT / "scripts" / "check_lean_client.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


check = _load_check()


def _entry(name: str) -> object:
    if name not in check.PENDING:
        return pytest.param(name, id=name)
    why = f"still imports {sorted(check.PENDING[name])}: {check.PENDING_WHY[name]}"
    return pytest.param(name, id=name, marks=pytest.mark.xfail(strict=True, reason=why))


@pytest.mark.parametrize("name", [_entry(name) for name in check.ENTRY_POINTS])
def test_entry_point_imports_no_server_module(name: str) -> None:
    assert check.server_modules_imported(check.ENTRY_POINTS[name]) == set()


def test_the_check_sees_a_server_import() -> None:
    """The probe itself works: an import of FastAPI is reported as one."""
    assert check.server_modules_imported("import fastapi") >= {"fastapi", "starlette"}
    assert check.server_modules_imported("import inferwatch.app") >= {"fastapi", "sqlalchemy"}


def _requirement_names(requirements: list[str]) -> set[str]:
    return {re.split(r"[\s\[<>=!~;]", r, maxsplit=1)[0].lower() for r in requirements}


def test_base_dependencies_hold_no_server_dependency() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    base = _requirement_names(project["dependencies"])
    server = _requirement_names(project["optional-dependencies"]["server"])
    assert base.isdisjoint(server)
    assert base.isdisjoint({"pandas", *check.SERVER_DISTRIBUTIONS})
    assert set(check.SERVER_DISTRIBUTIONS) - {"starlette", "psycopg-binary"} <= server | {"psycopg"}
    assert {"prometheus-client", "opentelemetry-sdk", "nvidia-ml-py", "httpx", "numpy"} <= base
    for extra in ("dev", "bench"):
        assert "inferwatch[server]" in project["optional-dependencies"][extra], extra


def test_setup_and_the_image_install_the_server_extra() -> None:
    setup = (ROOT / "scripts" / "setup.sh").read_text()
    (default,) = re.findall(r'extras="\$\{INFERWATCH_EXTRAS:-([^}]*)\}"', setup)
    assert "server" in default.split(",")
    dockerfile = (ROOT / "Dockerfile").read_text()
    (install,) = re.findall(
        r"pip install \"\$\(ls /dist/inferwatch-\*\.whl\)\[([^\]]*)\]\"", dockerfile
    )
    assert "server" in install.split(",")


_BLOCKING = """
import sys

class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {blocked!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None

sys.meta_path.insert(0, Block())
sys.argv = ["inferwatch", *{argv!r}]
from inferwatch.cli import main
main()
"""


def test_a_service_verb_on_the_lean_install_says_what_to_install(tmp_path: Path) -> None:
    """As on the lean install, where no server module can be imported: `inferwatch up`."""
    code = _BLOCKING.format(blocked=set(SERVER_MODULES), argv=["up", "--port", "0"])
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"XDG_DATA_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 2, done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("error: this needs the inferwatch services' dependencies (")
    assert line.endswith(INSTALL_SERVER)


def test_other_missing_modules_are_not_blamed_on_the_extra() -> None:
    assert missing_server_extra(ModuleNotFoundError(name="grpc")) is None
    assert missing_server_extra(ModuleNotFoundError()) is None
    message = missing_server_extra(ModuleNotFoundError(name="sqlalchemy.dialects"))
    assert message is not None and "sqlalchemy is not installed" in message
