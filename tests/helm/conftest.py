"""Render the chart with Helm's own Go SDK (helm-python-sdk, no helm binary) for the tests.

``Chart.render`` does not expose the capability options of ``helm template``
(``--api-versions``, ``--kube-version``); the library's ``helm_render`` shim accepts them
in its options JSON, so ``render`` calls it directly. Schema validation of the values
happens inside the render, as with ``helm template``.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import helm_python
import pytest
import yaml
from helm_python import _native

ROOT = Path(__file__).resolve().parents[2]
CHART_DIR = ROOT / "helm" / "inferwatch"
RELEASE = "rel"
NAMESPACE = "monitoring"
KUBE_VERSION = "v1.31.0"
PROMETHEUS_OPERATOR = ("monitoring.coreos.com/v1", "monitoring.coreos.com/v1alpha1")

Manifest = dict[str, Any]
Render = Callable[..., list[Manifest]]


@pytest.fixture(scope="session")
def chart() -> Iterator[helm_python.Chart]:
    """The chart, loaded once."""
    with helm_python.Chart.load(CHART_DIR) as loaded:
        yield loaded


def render_chart(
    chart: helm_python.Chart,
    values: dict[str, Any] | None = None,
    *,
    api_versions: tuple[str, ...] = (),
    kube_version: str = KUBE_VERSION,
) -> list[Manifest]:
    """Render like ``helm template rel -n monitoring --api-versions ... --kube-version ...``.

    NOTES.txt is left out; every other template's documents are parsed, empty ones dropped.
    """
    options = {
        "name": RELEASE,
        "namespace": NAMESPACE,
        "is_install": True,
        "api_versions": list(api_versions),
        "kube_version": kube_version,
    }
    payload = None if values is None else json.dumps(values)
    rendered: dict[str, str] = json.loads(
        _native.call_string("helm_render", chart._raw(), payload, json.dumps(options))
    )
    manifests: list[Manifest] = []
    for path, text in sorted(rendered.items()):
        if path.endswith("NOTES.txt"):
            continue
        manifests.extend(doc for doc in yaml.safe_load_all(text) if doc)
    return manifests


@pytest.fixture(scope="session")
def render(chart: helm_python.Chart) -> Render:
    """``render(values, api_versions=(), kube_version=KUBE_VERSION)`` -> the manifests."""

    def _render(values: dict[str, Any] | None = None, **options: Any) -> list[Manifest]:
        return render_chart(chart, values, **options)

    return _render


@pytest.fixture
def chart_copy(tmp_path: Path) -> Path:
    """A scratch copy of the chart with no rule or dashboard files, for the test to add its own."""
    target = tmp_path / "inferwatch"
    shutil.copytree(CHART_DIR, target)
    for synced in [*target.glob("rules/*.yaml"), *target.glob("dashboards/*.json")]:
        synced.unlink()
    return target


@pytest.fixture(scope="session")
def render_dir() -> Callable[..., list[Manifest]]:
    """``render_dir(chart_dir, values, api_versions=...)``: render another chart directory."""

    def _render(
        chart_dir: Path, values: dict[str, Any] | None = None, **options: Any
    ) -> list[Manifest]:
        with helm_python.Chart.load(chart_dir) as loaded:
            return render_chart(loaded, values, **options)

    return _render


@pytest.fixture(scope="session")
def ci_values() -> dict[str, dict[str, Any]]:
    """The chart's CI matrix: ``ci/<name>-values.yaml`` by name."""
    matrix: dict[str, dict[str, Any]] = {}
    for path in sorted((CHART_DIR / "ci").glob("*-values.yaml")):
        matrix[path.name.removesuffix("-values.yaml")] = yaml.safe_load(path.read_text()) or {}
    return matrix


def select(manifests: list[Manifest], kind: str, name: str | None = None) -> list[Manifest]:
    """The manifests of ``kind`` (and ``name``)."""
    return [
        m
        for m in manifests
        if m["kind"] == kind and (name is None or m["metadata"]["name"] == name)
    ]


@pytest.fixture(scope="session")
def of_kind() -> Callable[..., list[Manifest]]:
    """``of_kind(manifests, kind, name=None)``: filter rendered manifests."""
    return select
