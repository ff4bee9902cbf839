"""Rule files: parsing, validation messages, durations, conventions of the shipped groups."""

from __future__ import annotations

from pathlib import Path

import pytest

from inferwatch.alerts.rules._export import export_groups
from inferwatch.alerts.rules.model import (
    RuleFileError,
    convention_problems,
    default_rule_files,
    format_duration,
    load_rule_files,
    parse_duration,
    parse_rule_text,
)

GOOD = """
groups:
  - name: g
    interval: 15s
    limit: 10
    rules:
      - alert: ModelDrift
        expr: inferwatch_drift_dataset_detected == 1
        for: 5m
        keep_firing_for: 1m30s
        labels: {severity: warning, action: retrain, model: "{{ $labels.model }}"}
        annotations:
          summary: drift on {{ $labels.model }}
          description: d
          runbook_url: http://r
          report_url: "{{ $externalURL }}/drift/models/{{ $labels.model }}/report"
"""


def test_parses_a_rule_file_into_typed_groups() -> None:
    (group,) = parse_rule_text(GOOD, "good.yaml")
    assert (group.name, group.interval_seconds, group.limit, group.source) == (
        "g",
        15.0,
        10,
        "good.yaml",
    )
    (rule,) = group.rules
    assert (rule.name, rule.hold_seconds, rule.keep_firing_seconds) == ("ModelDrift", 300.0, 90.0)
    assert rule.labels["action"] == "retrain"
    assert convention_problems([group]) == []
    exported = export_groups([group], "rulefile")
    assert parse_rule_text(exported, "good.yaml") == [group]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("groups: [", "not valid YAML", id="yaml"),
        pytest.param("rules: []", "'groups' list", id="no-groups"),
        pytest.param("groups: []\nextra: 1", "unknown top-level", id="top-key"),
        pytest.param("groups: [{rules: []}]", "'name' is required", id="no-name"),
        pytest.param("groups: [{name: a}, {name: a}]", "used twice", id="duplicate-group"),
        pytest.param(
            "groups: [{name: a, interval: 5 minutes}]", "not a Prometheus duration", id="interval"
        ),
        pytest.param("groups: [{name: a, interval: 0s}]", "must be positive", id="zero-interval"),
        pytest.param("groups: [{name: a, bogus: 1}]", "unknown keys", id="group-key"),
        pytest.param(
            "groups: [{name: a, rules: [{record: x, expr: up}]}]", "recording rule", id="record"
        ),
        pytest.param(
            "groups: [{name: a, rules: [{alert: 'bad name', expr: up}]}]",
            "valid name",
            id="alert-name",
        ),
        pytest.param(
            "groups: [{name: a, rules: [{alert: A}]}]", "'expr' is required", id="no-expr"
        ),
        pytest.param(
            "groups: [{name: a, rules: [{alert: A, expr: up, for: soon}]}]", "for", id="for"
        ),
        pytest.param(
            "groups: [{name: a, rules: [{alert: A, expr: up, labels: {0bad: x}}]}]",
            "not a valid label name",
            id="label-name",
        ),
        pytest.param(
            "groups: [{name: a, rules: [{alert: A, expr: up, annotations: {s: '{{ range }}'}}]}]",
            "range",
            id="template",
        ),
        pytest.param(
            "groups: [{name: a, rules: [{alert: A, expr: up, fro: 1m}]}]", "fro", id="typo"
        ),
    ],
)
def test_invalid_rule_files_name_the_problem(text: str, message: str) -> None:
    with pytest.raises(RuleFileError, match=message):
        parse_rule_text(text, "bad.yaml")


def test_errors_say_which_file_and_rule(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(
        "groups: [{name: grp, rules: [{alert: Ok, expr: up}, {alert: A, expr: up, for: x}]}]"
    )
    with pytest.raises(RuleFileError) as caught:
        load_rule_files([path])
    assert str(path) in str(caught.value)
    assert "rules[1] (A)" in str(caught.value)
    with pytest.raises(RuleFileError, match="cannot read"):
        load_rule_files([tmp_path / "missing.yaml"])


def test_group_names_must_be_unique_across_files(tmp_path: Path) -> None:
    for name in ("a.yaml", "b.yaml"):
        (tmp_path / name).write_text("groups: [{name: same, rules: []}]")
    with pytest.raises(RuleFileError, match="used twice"):
        load_rule_files([tmp_path / "a.yaml", tmp_path / "b.yaml"])


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("0", 0.0),
        ("30s", 30.0),
        ("5m", 300.0),
        ("1h30m", 5400.0),
        ("500ms", 0.5),
        ("1d", 86400.0),
        ("1w", 604800.0),
    ],
)
def test_durations_round_trip(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds
    assert parse_duration(format_duration(seconds)) == seconds


def test_shipped_groups_follow_the_conventions() -> None:
    groups = load_rule_files(default_rule_files())
    assert {g.name for g in groups} == {
        "inferwatch-drift",
        "inferwatch-gpu",
        "inferwatch-exporters",
        "inferwatch-inference",
        "inferwatch-quality",
    }
    assert convention_problems(groups) == []
    names = {r.name for g in groups for r in g.rules}
    assert {
        "InferwatchDriftDetected",
        "InferwatchDriftEngineStale",
        "InferwatchGpuSaturated",
        "InferwatchGpuMemoryNearFull",
        "InferwatchGpuXidErrors",
        "InferwatchGpuDown",
        "InferwatchLatencySLOBurnFast",
        "InferwatchLatencySLOBurnSlow",
        "InferwatchThroughputCollapse",
        "InferwatchRequestsWaiting",
        "InferwatchExporterDown",
        "InferwatchModelPerformanceDegraded",
    } <= names


def test_convention_problems_are_reported_per_rule() -> None:
    groups = parse_rule_text(
        "groups: [{name: g, rules: [{alert: A, expr: up,"
        " labels: {severity: loud, action: retrain}}]}]"
    )
    problems = convention_problems(groups)
    assert "g/A: label severity must be one of ('critical', 'warning', 'info')" in problems
    assert "g/A: label model is missing" in problems
    assert "g/A: annotation summary is missing" in problems
    assert "g/A: retrain rules need annotation report_url" in problems
