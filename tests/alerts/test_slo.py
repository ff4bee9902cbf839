"""SLO specs (Sloth prometheus/v1) to rules: parsing, Sloth's output semantics, and promtool
proof that each burn-rate alert fires at its rate and stays silent below it."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from inferwatch.alerts.slo.rules import RUNBOOK, rule_file
from inferwatch.alerts.slo.spec import SloSpecError, parse_spec
from inferwatch.cli import app

EXAMPLE = Path(__file__).resolve().parents[2] / "alerts" / "examples" / "slo-llm.yaml"

# Sloth's getting-started spec (slok/sloth README, examples/getting-started.yml).
SLOTH_EXAMPLE = """
version: "prometheus/v1"
service: "myservice"
labels:
  owner: "myteam"
  repo: "myorg/myservice"
  tier: "2"
slos:
  - name: "requests-availability"
    objective: 99.9
    description: "Common SLO based on availability for HTTP request responses."
    sli:
      events:
        error_query: >-
          sum(rate(http_request_duration_seconds_count{job="myservice",code=~"(5..|429)"}[{{.window}}]))
        total_query: >-
          sum(rate(http_request_duration_seconds_count{job="myservice"}[{{.window}}]))
    alerting:
      name: MyServiceHighErrorRate
      labels:
        category: "availability"
      annotations:
        summary: "High error rate on 'myservice' requests responses"
      page_alert:
        labels:
          severity: pageteam
          routing_key: myteam
      ticket_alert:
        labels:
          severity: "slack"
          slack_channel: "#alerts-myteam"
"""


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("promtool")
    assert binary, "promtool is not on PATH; run scripts/setup.sh"
    return subprocess.run([binary, *args], capture_output=True, text=True, check=False, timeout=300)


def _one(sli: dict[str, Any], objective: float = 99, alerting: Any = None) -> str:
    """A spec with one SLO, as YAML text."""
    slo = {"name": "x", "objective": objective, "sli": sli}
    slo["alerting"] = {"name": "A"} if alerting is None else alerting
    return yaml.safe_dump({"version": "prometheus/v1", "service": "a", "slos": [slo]})


RAW = {"raw": {"error_ratio_query": "r[{{.window}}]"}}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            "version: v2\nservice: a\nslos: []", "version must be 'prometheus/v1'", id="version"
        ),
        pytest.param(_one(RAW, 100), "objective must be above 0 and below 100", id="objective"),
        pytest.param(
            _one({"plugin": {"id": "sloth-common/kubernetes/apiserver/availability"}}),
            "plugin 'sloth-common/kubernetes/apiserver/availability' is not available; "
            "inferwatch provides inferwatch/latency, inferwatch/availability",
            id="plugin",
        ),
        pytest.param(
            _one(
                {
                    "events": {
                        "error_query": "sum(rate(e[5m]))",
                        "total_query": "sum(rate(t[{{.window}}]))",
                    }
                }
            ),
            "slos[0] (x): sli.events.error_query must use {{.window}}",
            id="window",
        ),
        pytest.param(
            _one({"plugin": {"id": "inferwatch/latency", "options": {"threshold_seconds": -1}}}),
            "threshold_seconds must be a positive number",
            id="threshold",
        ),
        pytest.param(_one(RAW, alerting={}), "alerting.name is required", id="alert-name"),
    ],
)
def test_bad_specs_are_refused_with_the_field_named(text: str, message: str) -> None:
    with pytest.raises(SloSpecError) as caught:
        parse_spec(text, "spec.yaml")
    assert message in str(caught.value)
    assert str(caught.value).startswith("spec.yaml")


def test_cli_refuses_a_bad_spec_with_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: prometheus/v1\nservice: a\nslos: []\n")
    result = CliRunner().invoke(app, ["slo", "generate", str(bad), "-o", str(tmp_path)])
    assert result.exit_code == 2
    assert "slos must be a non-empty list" in result.output


def test_cli_refuses_an_invalid_namespace(tmp_path: Path) -> None:
    args = ["slo", "generate", str(EXAMPLE), "-o", str(tmp_path), "--namespace", "Bad_NS"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert "'Bad_NS' is not a valid Kubernetes namespace" in result.output
    assert list(tmp_path.iterdir()) == []


def test_output_follows_sloths_documented_semantics() -> None:
    """The getting-started spec gives Sloth's groups, record names, labels and burn factors."""
    doc = rule_file(parse_spec(SLOTH_EXAMPLE))
    sli, meta, alerts = doc["groups"]
    assert [g["name"] for g in doc["groups"]] == [
        "sloth-slo-sli-recordings-myservice-requests-availability",
        "sloth-slo-meta-recordings-myservice-requests-availability",
        "sloth-slo-alerts-myservice-requests-availability",
    ]
    windows = [r["labels"]["sloth_window"] for r in sli["rules"]]
    assert windows == ["5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d"]
    assert all(
        r["record"] == f"slo:sli_error:ratio_rate{w}"
        for r, w in zip(sli["rules"], windows, strict=True)
    )
    first = sli["rules"][0]
    assert first["labels"] == {
        "owner": "myteam",
        "repo": "myorg/myservice",
        "tier": "2",
        "sloth_id": "myservice-requests-availability",
        "sloth_service": "myservice",
        "sloth_slo": "requests-availability",
        "sloth_window": "5m",
    }
    assert 'code=~"(5..|429)"}[5m]' in first["expr"] and '{job="myservice"}[5m]' in first["expr"]
    assert "sum_over_time(slo:sli_error:ratio_rate5m{" in sli["rules"][-1]["expr"]
    assert "[30d]" in sli["rules"][-1]["expr"]
    assert [r["record"] for r in meta["rules"]] == [
        "slo:objective:ratio",
        "slo:error_budget:ratio",
        "slo:time_period:days",
        "slo:current_burn_rate:ratio",
        "slo:period_burn_rate:ratio",
        "slo:period_error_budget_remaining:ratio",
        "sloth_slo_info",
    ]
    assert meta["rules"][0]["expr"] == "vector(0.999)"
    assert meta["rules"][1]["expr"] == "vector(0.001)"
    page, ticket = alerts["rules"]
    assert page["alert"] == ticket["alert"] == "MyServiceHighErrorRate"
    for rule, severity, pairs in (
        (page, "page", [("5m", "1h", "14.4"), ("30m", "6h", "6")]),
        (ticket, "ticket", [("2h", "1d", "3"), ("6h", "3d", "1")]),
    ):
        assert rule["labels"]["sloth_severity"] == severity
        assert rule["labels"]["category"] == "availability"
        for short, long, factor in pairs:
            for window in (short, long):
                assert f"ratio_rate{window}{{" in rule["expr"]
            assert f"> ({factor} * 0.001)) without (sloth_window)" in rule["expr"]
        assert rule["annotations"]["summary"] == "High error rate on 'myservice' requests responses"
    # The spec's own severities win over inferwatch's defaults, as in Sloth.
    assert page["labels"]["severity"] == "pageteam" and ticket["labels"]["severity"] == "slack"
    assert page["labels"]["routing_key"] == "myteam"


def test_generate_writes_a_rule_file_and_a_prometheusrule_promtool_accepts(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["slo", "generate", str(EXAMPLE), "-o", str(tmp_path), "--namespace", "monitoring"]
    )
    assert result.exit_code == 0, result.output
    rules = tmp_path / "llm-serving.rules.yaml"
    resource = yaml.safe_load((tmp_path / "llm-serving.prometheusrule.yaml").read_text())
    assert (
        resource["kind"] == "PrometheusRule" and resource["metadata"]["namespace"] == "monitoring"
    )
    assert resource["spec"] == yaml.safe_load(rules.read_text())
    checked = promtool("check", "rules", str(rules))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 34 rules found" in checked.stdout


# -- burn rates, proven by promtool ---------------------------------------------------------

SPEC = """
version: prometheus/v1
service: chat
slos:
  - name: availability
    objective: 99
    sli:
      plugin:
        id: inferwatch/availability
        options:
          total_metric: requests_total
          error_metric: failures_total
    alerting:
      name: ChatBurn
  - name: latency
    objective: 99
    sli:
      plugin:
        id: inferwatch/latency
        options: {metric: duration_seconds, threshold_seconds: 1}
    alerting:
      name: ChatLatencyBurn
"""


def _alert(severity: str) -> dict[str, Any]:
    return {
        "exp_labels": {
            "alertname": "ChatBurn",
            "model": "m",
            "severity": "critical" if severity == "page" else "warning",
            "action": "none",
            "sloth_severity": severity,
            "sloth_id": "chat-availability",
            "sloth_service": "chat",
            "sloth_slo": "availability",
        },
        "exp_annotations": {
            "title": f"({severity}) chat availability SLO error budget burn rate is too fast.",
            "summary": "chat availability SLO error budget burn rate is over expected.",
            "description": (
                "The error ratio of SLO availability (99% objective) burns its 30d error budget "
                "too fast: "
                + (
                    "5m and 1h above 14.4x the budget or 30m and 6h above 6x the budget."
                    if severity == "page"
                    else "2h and 1d above 3x the budget or 6h and 3d above 1x the budget."
                )
            ),
            "runbook_url": RUNBOOK,
        },
    }


def _case(
    name: str, total: str, failures: str, eval_time: str, expected: list[str]
) -> dict[str, Any]:
    return {
        "name": name,
        "interval": "1m",
        "input_series": [
            {"series": 'requests_total{model="m"}', "values": total},
            {"series": 'failures_total{model="m"}', "values": failures},
        ],
        "alert_rule_test": [
            {
                "eval_time": eval_time,
                "alertname": "ChatBurn",
                "exp_alerts": [_alert(s) for s in expected],
            }
        ],
    }


# 100 requests a minute; the error budget is 1%.
HOURS_CASES = [
    # The 1h/5m page arm: 5 quiet hours, then an hour at 30% (30x): the 6h ratio is 5%,
    # under 6x, so only the fast arm can page.
    _case("page 1h/5m at 30x", "0+100x361", "0x300 0+30x60", "6h", ["page", "ticket"]),
    # The same hour at 12%: under 14.4x in 1h, 2% over 6h: no page.
    _case("no page 1h/5m at 12x", "0+100x361", "0x300 0+12x60", "6h", ["ticket"]),
    # The 6h/30m page arm: 7% for six hours (7x > 6x), under 14.4x in the last hour.
    _case("page 6h/30m at 7x", "0+100x360", "0+7x360", "6h", ["page", "ticket"]),
    _case("no page 6h/30m at 5x", "0+100x360", "0+5x360", "6h", ["ticket"]),
]
# Three-day cases, evaluated every 10 minutes to keep promtool quick.
DAYS_CASES = [
    # The 1d/2h ticket arm: two busy error-free days (1000/min) then a day at 100/min with
    # 3.5% errors: 1d and 2h at 3.5x, 3d far below 1x, so only the 3x arm can ticket.
    _case(
        "ticket 1d/2h at 3.5x",
        "0+1000x2880 2880000+100x1440",
        "0x2880 0+3.5x1440",
        "3d",
        ["ticket"],
    ),
    _case("no ticket 1d/2h at 2.5x", "0+1000x2880 2880000+100x1440", "0x2880 0+2.5x1440", "3d", []),
    # The 3d/6h ticket arm: 1.2% for three days.
    _case("ticket 3d/6h at 1.2x", "0+100x4320", "0+1.2x4320", "3d", ["ticket"]),
    _case("no ticket 3d/6h at 0.8x", "0+100x4320", "0+0.8x4320", "3d", []),
]


def _recordings_case() -> dict[str, Any]:
    """Latency from buckets (le="1" and le="1.0" both count), budget and compliance."""
    return {
        "name": "latency ratio from buckets and the meta recordings",
        "interval": "1m",
        "input_series": [
            {"series": 'duration_seconds_bucket{model="m", le="1.0"}', "values": "0+97x60"},
            {"series": 'duration_seconds_bucket{model="m", le="+Inf"}', "values": "0+100x60"},
            {"series": 'duration_seconds_count{model="m"}', "values": "0+100x60"},
            {"series": 'duration_seconds_bucket{model="n", le="1"}', "values": "0+100x60"},
            {"series": 'duration_seconds_count{model="n"}', "values": "0+100x60"},
            {"series": 'requests_total{model="m"}', "values": "0+100x60"},
        ],
        "promql_expr_test": [
            {
                "expr": 'round(slo:sli_error:ratio_rate5m{sloth_slo="latency"}, 0.0001)',
                "eval_time": "1h",
                "exp_samples": [
                    {"labels": _rec("latency", "5m", "m"), "value": 0.03},
                    {"labels": _rec("latency", "5m", "n"), "value": 0},
                ],
            },
            {
                "expr": 'round(slo:current_burn_rate:ratio{sloth_slo="latency", model="m"}, 0.01)',
                "eval_time": "1h",
                "exp_samples": [{"labels": _rec("latency", "5m", "m"), "value": 3}],
            },
            {
                # No failure series at all: the availability ratio is 0, not absent.
                "expr": 'slo:period_error_budget_remaining:ratio{sloth_slo="availability"}',
                "eval_time": "1h",
                "exp_samples": [
                    {
                        "labels": _rec(
                            "availability", "30d", "m", "slo:period_error_budget_remaining:ratio"
                        ),
                        "value": 1,
                    }
                ],
            },
        ],
    }


def _rec(slo: str, window: str | None, model: str, name: str = "") -> str:
    labels = {"model": model, "sloth_id": f"chat-{slo}", "sloth_service": "chat", "sloth_slo": slo}
    if window:
        labels["sloth_window"] = window
    inner = ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return f"{name}{{{inner}}}"


@pytest.mark.stack
@pytest.mark.slow
def test_each_alert_fires_at_its_burn_rate_and_stays_silent_below(tmp_path: Path) -> None:
    spec = parse_spec(SPEC)
    both = tmp_path / "chat.rules.yaml"
    both.write_text(yaml.safe_dump(rule_file(spec)))
    # The burn cases need only the availability SLO; leaving latency out halves the work.
    availability = tmp_path / "availability.rules.yaml"
    availability.write_text(yaml.safe_dump(rule_file(replace(spec, slos=spec.slos[:1]))))
    files = []
    for name, rules, interval, cases in (
        ("recordings", both, "1m", [_recordings_case()]),
        ("hours", availability, "1m", HOURS_CASES),
        ("days", availability, "10m", DAYS_CASES),
    ):
        path = tmp_path / f"{name}_test.yaml"
        doc = {
            "rule_files": [rules.name],
            "evaluation_interval": interval,
            # Recordings before the alerts that read them, at every step (promtool's own
            # order is not fixed, and a 10m-old recording is past the 5m lookback).
            "group_eval_order": [g["name"] for g in yaml.safe_load(rules.read_text())["groups"]],
            "tests": cases,
        }
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        files.append(str(path))
    result = promtool("test", "rules", *files)
    assert result.returncode == 0, result.stdout + result.stderr
