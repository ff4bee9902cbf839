"""The GPU cost recording rules reach Prometheus as a PrometheusRule, with the prices of
``monitoring.prometheusRule.gpuPricePerHour`` rendered as the Python renderer does."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import helm_python
import pytest
import yaml

from inferwatch.alerts.gpu_cost import price_rules

Manifest = dict[str, Any]
OPERATOR = ("monitoring.coreos.com/v1", "monitoring.coreos.com/v1alpha1")
CHART_DIR = Path(__file__).resolve().parents[2] / "helm" / "inferwatch"


def cost_rule(manifests: list[Manifest]) -> Manifest:
    (rule,) = [
        m
        for m in manifests
        if m["kind"] == "PrometheusRule"
        and m["metadata"]["annotations"]["inferwatch.io/source"] == "recording/gpu_cost.yaml"
    ]
    return rule


def test_recording_rules_and_prices_become_one_prometheus_rule(
    render: Callable[..., list[Manifest]],
) -> None:
    prices = {"NVIDIA H100 80GB HBM3": 4.25, "NVIDIA L4": 0.8}
    manifests = render(
        {"monitoring": {"prometheusRule": {"gpuPricePerHour": prices}}}, api_versions=OPERATOR
    )
    groups = cost_rule(manifests)["spec"]["groups"]
    shipped = yaml.safe_load((CHART_DIR / "recording" / "gpu_cost.yaml").read_text())["groups"]
    assert groups[:-1] == shipped
    assert groups[-1] == price_rules(prices)["groups"][0]


def test_without_prices_only_the_formulas_ship_and_without_the_api_nothing(
    render: Callable[..., list[Manifest]],
) -> None:
    groups = cost_rule(render({}, api_versions=OPERATOR))["spec"]["groups"]
    assert [g["name"] for g in groups] == ["inferwatch-gpu-cost"]
    assert not [m for m in render({}) if m["kind"] == "PrometheusRule"]


def test_a_negative_price_is_refused_by_the_schema(render: Callable[..., list[Manifest]]) -> None:
    with pytest.raises(helm_python.HelmError, match="gpuPricePerHour"):
        render({"monitoring": {"prometheusRule": {"gpuPricePerHour": {"NVIDIA L4": -1}}}})
