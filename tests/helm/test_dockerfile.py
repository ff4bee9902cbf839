"""The Dockerfile builds the image the chart runs, as docs/helm.md says (no Docker engine here).

Its instructions are checked against pyproject.toml (what the wheel needs), the chart (uid,
port, data dir, entry point) and the docs (the exact build command); and its build stage's
wheel step is replayed on exactly the files its COPY lines (minus .dockerignore) bring in.
"""

from __future__ import annotations

import fnmatch
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART_DIR = ROOT / "helm" / "inferwatch"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    found = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            word, _, rest = stripped.partition(" ")
            found.append((word.upper(), " ".join(rest.split())))
    return found


def stages() -> dict[str, list[tuple[str, str]]]:
    """Instructions per ``FROM ... AS name`` stage."""
    named: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] | None = None
    for word, rest in instructions():
        if word == "FROM":
            current = named.setdefault(rest.split(" AS ")[-1].strip(), [])
        elif current is not None:
            current.append((word, rest))
    return named


def pyproject() -> dict[str, Any]:
    data: dict[str, Any] = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return data


def ignored(relative: str, patterns: list[str]) -> bool:
    """Whether .dockerignore keeps ``relative`` out of the build context (simple patterns)."""
    parts = relative.split("/")
    for pattern in patterns:
        bare = pattern.removeprefix("**/")
        if fnmatch.fnmatch(relative, pattern) or any(fnmatch.fnmatch(p, bare) for p in parts):
            return True
    return False


def dockerignore() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def test_two_stages_on_python_311_slim() -> None:
    assert instructions()[0] == ("ARG", "PYTHON_IMAGE=python:3.11-slim-bookworm")
    froms = [rest for word, rest in instructions() if word == "FROM"]
    assert froms == ["${PYTHON_IMAGE} AS build", "${PYTHON_IMAGE} AS runtime"]


def test_build_stage_copies_what_the_wheel_needs() -> None:
    project = pyproject()
    copies = [rest for word, rest in stages()["build"] if word == "COPY"]
    sources = {src for rest in copies for src in rest.split()[:-1]}
    folders = set(project["tool"]["setuptools"]["package-dir"].values())
    assert sources == {"pyproject.toml", project["project"]["readme"], *folders}
    patterns = dockerignore()
    for source in sorted(sources):
        assert not ignored(source, patterns), f".dockerignore drops {source}"
    for noise in (".venv", ".git", "tests", "build", "collector/__pycache__"):
        assert ignored(noise, patterns), noise


def test_runtime_stage_runs_inferwatch_as_the_charts_user() -> None:
    runtime = dict(stages()["runtime"])
    values = yaml.safe_load((CHART_DIR / "values.yaml").read_text())
    assert runtime["ENTRYPOINT"] == '["inferwatch"]'
    assert "inferwatch" in pyproject()["project"]["scripts"]
    user, group = runtime["USER"].split(":")
    assert int(user) == values["podSecurityContext"]["runAsUser"] != 0
    assert int(group) == values["podSecurityContext"]["runAsGroup"]
    assert runtime["EXPOSE"] == str(values["server"]["port"])
    assert "INFERWATCH_DATA_DIR=/var/lib/inferwatch" in runtime["ENV"]
    assert runtime["COPY"] == "--from=build /opt/inferwatch /opt/inferwatch"
    # nothing but the virtual environment comes from the build stage
    assert [rest for word, rest in stages()["runtime"] if word == "COPY"] == [runtime["COPY"]]


def test_versions_agree_between_pyproject_chart_and_docs() -> None:
    version = pyproject()["project"]["version"]
    chart = yaml.safe_load((CHART_DIR / "Chart.yaml").read_text())
    values = yaml.safe_load((CHART_DIR / "values.yaml").read_text())
    assert chart["appVersion"] == version
    image = f"{values['image']['repository']}:{version}"
    docs = (ROOT / "docs" / "helm.md").read_text()
    assert f"docker build -t {image} ." in docs
    assert f"docker build -t {image} ." in (ROOT / "Dockerfile").read_text()
    assert f"docker push {image}" in docs


@pytest.mark.slow
def test_build_stage_wheel_step_works_on_the_copied_files(tmp_path: Path) -> None:
    """Replay ``pip wheel --no-deps`` on the build context the COPY lines produce."""
    patterns = dockerignore()
    context = tmp_path / "src"
    for rest in (rest for word, rest in stages()["build"] if word == "COPY"):
        *sources, destination = rest.split()
        for source in sources:
            origin = ROOT / source
            target = context / (source if destination in {"./", "."} else destination)
            if origin.is_dir():
                shutil.copytree(
                    origin,
                    target,
                    ignore=lambda folder, names: [
                        n
                        for n in names
                        if ignored(str(Path(folder, n).relative_to(ROOT)), patterns)
                    ],
                )
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(origin, target)
    run = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"]
    result = subprocess.run(
        [*run, "--wheel-dir", str(tmp_path / "dist"), str(context)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    (wheel,) = (tmp_path / "dist").glob("inferwatch-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        entry_points = next(n for n in names if n.endswith("entry_points.txt"))
        assert "inferwatch = inferwatch.cli:main" in archive.read(entry_points).decode()
    setuptools = pyproject()["tool"]["setuptools"]
    for package in setuptools["packages"]:
        folder = package.replace(".", "/")
        if package in setuptools["package-dir"]:
            assert f"{folder}/__init__.py" in names, package
        else:  # a data folder listed so that setuptools ships it without warnings
            assert any(n.startswith(f"{folder}/") for n in names), package
