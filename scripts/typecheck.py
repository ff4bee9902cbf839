"""Run mypy over the package as it installs (``inferwatch.<part>`` from top-level folders).

mypy cannot follow setuptools' editable-install import hook, so this lays out a
tree of symbolic links that mirrors the installed package and checks that.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    """Build the link tree and run mypy on it; mypy's exit code is ours."""
    package_dir: dict[str, str] = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"][
        "setuptools"
    ]["package-dir"]
    # A fresh tree per run, so two runs at once cannot pull links from under each other.
    tree = Path(tempfile.mkdtemp(prefix="inferwatch-typecheck-"))
    try:
        return _check(tree, package_dir)
    finally:
        shutil.rmtree(tree, ignore_errors=True)


def _check(tree: Path, package_dir: dict[str, str]) -> int:
    (tree / "inferwatch").mkdir(parents=True)
    for source in (ROOT / package_dir["inferwatch"]).iterdir():
        (tree / "inferwatch" / source.name).symlink_to(source)
    for package, folder in package_dir.items():
        if package != "inferwatch":
            (tree / package.replace(".", "/")).symlink_to(ROOT / folder)
    # Tests, benchmarks and scripts are checked as namespace packages rooted at the tree
    # (``tests.core.test_cli``), so equal file names in two folders do not collide.
    extra = [p for p in ("tests", "bench", "scripts") if any((ROOT / p).rglob("*.py"))]
    cache = ["--cache-dir", str(ROOT / ".mypy_cache")]
    cmd = [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"), *cache]
    cmd += ["-p", "inferwatch"]
    result = subprocess.run(cmd, cwd=tree, check=False)
    if result.returncode:
        return result.returncode
    env_cmd = [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"), *cache]
    env_cmd += ["--explicit-package-bases"]
    env = {**os.environ, "MYPYPATH": str(tree)}
    return subprocess.run([*env_cmd, *extra], cwd=ROOT, env=env, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
