"""The shipped rules checked by Prometheus's own tools: syntax, unit tests, coverage, export."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from inferwatch.alerts.rules._export import ExportFormat, export_groups
from inferwatch.alerts.rules.model import default_rule_files, load_rule_files

pytestmark = pytest.mark.stack

PROMTOOL_TESTS = sorted((Path(__file__).parent / "promtool").glob("*.yaml"))


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("promtool")
    assert binary, "promtool is not on PATH; run scripts/setup.sh"
    return subprocess.run([binary, *args], capture_output=True, text=True, check=False, timeout=120)


@pytest.mark.parametrize("path", default_rule_files(), ids=lambda p: p.name)
def test_promtool_checks_every_shipped_rule_file(path: Path) -> None:
    result = promtool("check", "rules", str(path))
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_unit_tests_pass() -> None:
    result = promtool("test", "rules", *map(str, PROMTOOL_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr


def _cases() -> list[dict[str, Any]]:
    cases = []
    for path in PROMTOOL_TESTS:
        for test in yaml.safe_load(path.read_text())["tests"]:
            cases.extend(test.get("alert_rule_test", []))
    return cases


def test_every_shipped_rule_has_a_firing_and_a_not_firing_case() -> None:
    names = {r.name for g in load_rule_files(default_rule_files()) for r in g.rules}
    cases = _cases()
    firing = {c["alertname"] for c in cases if c.get("exp_alerts")}
    quiet = {c["alertname"] for c in cases if not c.get("exp_alerts")}
    assert names - firing == set(), "rules without a firing test"
    assert names - quiet == set(), "rules without a not-firing test"
    assert (firing | quiet) - names == set(), "tests for rules that do not exist"


def test_every_shipped_file_is_exercised_by_a_test_file() -> None:
    loaded: set[str] = set()
    for path in PROMTOOL_TESTS:
        for rule_file in yaml.safe_load(path.read_text())["rule_files"]:
            loaded.add((path.parent / rule_file).resolve().name)
    assert {p.name for p in default_rule_files()} <= loaded


@pytest.mark.parametrize("fmt", ["rulefile", "prometheusrule"])
def test_exports_are_accepted_by_promtool(fmt: ExportFormat, tmp_path: Path) -> None:
    groups = load_rule_files(default_rule_files())
    text = export_groups(
        groups,
        fmt,
        namespace="monitoring",
        report_base_url="https://iw.example",
    )
    doc = yaml.safe_load(text)
    if fmt == "prometheusrule":
        assert doc["apiVersion"] == "monitoring.coreos.com/v1" and doc["kind"] == "PrometheusRule"
        assert doc["metadata"]["namespace"] == "monitoring"
        doc = doc["spec"]
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(doc))
    result = promtool("check", "rules", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {sum(len(g.rules) for g in groups)} rules found" in result.stdout
    drift = next(
        r for g in doc["groups"] for r in g["rules"] if r["alert"] == "InferwatchDriftDetected"
    )
    assert drift["annotations"]["report_url"] == (
        "https://iw.example/drift/models/{{ $labels.model }}/report"
    )
    assert drift["for"] == "30m" and drift["keep_firing_for"] == "15m"
