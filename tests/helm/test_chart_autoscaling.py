"""The optional scaling of a model server on requests waiting or KV-cache use."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import helm_python
import pytest

Render = Callable[..., list[dict[str, Any]]]
BASE = {"deployment": "llama", "model": "llama-3-8b", "namespace": "serving"}


def _of(manifests: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [m for m in manifests if m["kind"] == kind]


def test_off_by_default(render: Render) -> None:
    manifests = render({})
    assert _of(manifests, "ScaledObject") == []
    assert _of(manifests, "HorizontalPodAutoscaler") == []


def test_keda_scales_on_requests_waiting_per_replica(render: Render) -> None:
    values = {
        "prometheus": {"url": "http://prometheus.monitoring:9090"},
        "autoscaling": {**BASE, "keda": {"enabled": True}, "threshold": "6", "maxReplicas": 5},
    }
    (scaled,) = _of(render(values), "ScaledObject")
    assert scaled["apiVersion"] == "keda.sh/v1alpha1"
    assert scaled["metadata"]["namespace"] == "serving"
    assert scaled["spec"]["scaleTargetRef"] == {"kind": "Deployment", "name": "llama"}
    assert scaled["spec"]["maxReplicaCount"] == 5
    (trigger,) = scaled["spec"]["triggers"]
    assert trigger["type"] == "prometheus" and trigger["metricType"] == "AverageValue"
    assert trigger["metadata"] == {
        "serverAddress": "http://prometheus.monitoring:9090",
        "query": 'sum(inferwatch_inference_queued_requests{model="llama-3-8b", namespace="serving"})',
        "threshold": "6",
    }


def test_keda_on_kv_cache_compares_the_mean_use(render: Render) -> None:
    values = {
        "autoscaling": {
            **BASE,
            "keda": {"enabled": True},
            "signal": "kvCache",
            "threshold": "0.8",
            "serverAddress": "http://thanos:9090",
        }
    }
    (scaled,) = _of(render(values), "ScaledObject")
    (trigger,) = scaled["spec"]["triggers"]
    assert trigger["metricType"] == "Value"
    assert trigger["metadata"]["query"].startswith(
        "avg(inferwatch_gen_ai_server_kv_cache_usage_ratio{"
    )
    assert trigger["metadata"]["serverAddress"] == "http://thanos:9090"


def test_hpa_reads_the_external_metric_prometheus_adapter_serves(render: Render) -> None:
    values = {"autoscaling": {**BASE, "hpa": {"enabled": True}}}
    (hpa,) = _of(render(values), "HorizontalPodAutoscaler")
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"]["name"] == "llama"
    (metric,) = hpa["spec"]["metrics"]
    assert metric["external"]["metric"] == {
        "name": "inferwatch_llm_scaling_signal",
        "selector": {"matchLabels": {"model": "llama-3-8b"}},
    }
    assert metric["external"]["target"] == {"type": "AverageValue", "averageValue": "4"}
    assert (
        "inferwatch_inference_queued_requests"
        in hpa["metadata"]["annotations"]["inferwatch.io/query"]
    )


@pytest.mark.parametrize(
    ("values", "message"),
    [
        pytest.param(
            {"keda": {"enabled": True}}, "autoscaling.deployment is required", id="deployment"
        ),
        pytest.param(
            {"hpa": {"enabled": True}, "deployment": "llama"},
            "autoscaling.model is required",
            id="model",
        ),
        pytest.param(
            {**BASE, "keda": {"enabled": True}},
            "autoscaling.serverAddress or prometheus.url",
            id="url",
        ),
        pytest.param({**BASE, "signal": "gpu"}, "signal", id="signal"),
    ],
)
def test_missing_or_wrong_values_fail_the_render_saying_which(
    render: Render, values: dict[str, Any], message: str
) -> None:
    with pytest.raises(helm_python.HelmError, match=message):
        render({"autoscaling": values})
