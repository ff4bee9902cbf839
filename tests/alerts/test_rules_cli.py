"""`inferwatch rules export|check|list`."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from typer.testing import CliRunner

from inferwatch.alerts.rules.cli import app

runner = CliRunner()


def test_export_prometheusrule_to_a_file(tmp_path: Path) -> None:
    out = tmp_path / "rule.yaml"
    result = runner.invoke(
        app,
        [
            "export",
            "--format",
            "prometheusrule",
            "-o",
            str(out),
            "--namespace",
            "monitoring",
            "--label",
            "release=kps",
            "--name",
            "iw",
        ],
    )
    assert result.exit_code == 0, result.output
    doc = yaml.safe_load(out.read_text())
    assert doc["metadata"] == {
        "name": "iw",
        "namespace": "monitoring",
        "labels": {
            "app.kubernetes.io/name": "inferwatch",
            "app.kubernetes.io/component": "rules",
            "release": "kps",
        },
    }
    assert len(doc["spec"]["groups"]) == 5  # drift, exporters, gpu, inference, quality


def test_export_rulefile_from_given_files_only(tmp_path: Path) -> None:
    rules = tmp_path / "mine.yaml"
    rules.write_text("groups: [{name: mine, rules: [{alert: A, expr: up == 0, for: 90s}]}]")
    result = runner.invoke(app, ["export", "--no-defaults", "-f", str(rules)])
    assert result.exit_code == 0, result.output
    assert yaml.safe_load(result.stdout) == {
        "groups": [{"name": "mine", "rules": [{"alert": "A", "expr": "up == 0", "for": "1m30s"}]}]
    }


def test_export_refuses_bad_options() -> None:
    assert runner.invoke(app, ["export", "--format", "jsonnet"]).exit_code == 2
    assert runner.invoke(app, ["export", "--label", "novalue"]).exit_code == 2
    bad_name = runner.invoke(app, ["export", "--format", "prometheusrule", "--name", "Bad_Name"])
    assert bad_name.exit_code == 2 and "Bad_Name" in bad_name.output


def test_check_reports_conventions_and_invalid_files(tmp_path: Path) -> None:
    loose = tmp_path / "loose.yaml"
    loose.write_text("groups: [{name: g, rules: [{alert: A, expr: up == 0}]}]")
    result = runner.invoke(app, ["check", str(loose), "--json"])
    assert result.exit_code == 1
    assert "g/A: label model is missing" in json.loads(result.stdout)["problems"]
    broken = tmp_path / "broken.yaml"
    broken.write_text("groups: [{name: g, rules: [{record: r, expr: up}]}]")
    result = runner.invoke(app, ["check", str(broken)])
    assert result.exit_code == 2 and "recording rule" in result.output


def test_list_shows_the_default_groups() -> None:
    result = runner.invoke(app, ["list", "--json"])
    assert result.exit_code == 0, result.output
    groups = {g["group"]: g for g in json.loads(result.stdout)}
    drift = groups["inferwatch-drift"]["rules"][0]
    assert drift == {
        "alert": "InferwatchDriftDetected",
        "for_seconds": 1800.0,
        "keep_firing_for_seconds": 900.0,
        "severity": "warning",
        "action": "retrain",
    }


def test_export_warns_when_external_url_is_left_for_prometheus(tmp_path: Path) -> None:
    left = runner.invoke(app, ["export"])
    assert left.exit_code == 0, left.output
    assert "{{ $externalURL }}" in left.stdout  # the shipped drift rule links its report
    assert left.stderr.startswith("warning: ")
    assert "{{ $externalURL }}" in left.stderr and "--report-base-url" in left.stderr

    resolved = runner.invoke(app, ["export", "--report-base-url", "https://iw.example"])
    assert resolved.exit_code == 0, resolved.output
    assert "$externalURL" not in resolved.stdout and "https://iw.example/drift" in resolved.stdout
    assert resolved.stderr == ""

    rules = tmp_path / "plain.yaml"
    rules.write_text("groups: [{name: g, rules: [{alert: A, expr: up == 0}]}]")
    plain = runner.invoke(app, ["export", "--no-defaults", "-f", str(rules)])
    assert plain.exit_code == 0 and plain.stderr == ""
