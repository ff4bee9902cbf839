"""Kubernetes scaling through the official client against a loopback fake API server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr

from inferwatch.alerts.actions._k8s import KubernetesScale, api_client
from inferwatch.alerts.actions._policy import KubernetesScaleTarget
from inferwatch.alerts.actions.targets import ActionRequest, TargetError, TargetRefusedError
from inferwatch.testing.actions import FakeKubernetesApi, Reply, hpa, webhook_alert

REQUEST = ActionRequest(model="fraud", action="scale", idempotency_key="k", alert=webhook_alert())
HPA_PATH = "/apis/autoscaling/v2/namespaces/serving/horizontalpodautoscalers"
SCALE_PATH = "/apis/apps/v1/namespaces/serving/deployments/fraud-server/scale"


@pytest.fixture
def api() -> Iterator[FakeKubernetesApi]:
    fake = FakeKubernetesApi()
    with fake.server:
        yield fake


def target(api: FakeKubernetesApi, **overrides: object) -> KubernetesScale:
    fields: dict[str, object] = {
        "type": "kubernetes_scale",
        "api_url": api.server.url,
        "namespace": "serving",
        "deployment": "{model}-server",
        "min_replicas": 2,
        "max_replicas": 5,
        "token_env": "K8S_TOKEN",
    }
    config = KubernetesScaleTarget.model_validate({**fields, **overrides})
    return KubernetesScale(config, api_client(config, SecretStr("k8s-token")), timeout=2)


def test_raises_hpa_min_replicas_instead_of_fighting_it(api: FakeKubernetesApi) -> None:
    api.hpas["fraud-hpa"] = hpa("fraud-hpa", "fraud-server", min_replicas=2, max_replicas=8)
    api.replicas["fraud-server"] = 3

    result = target(api).execute(REQUEST)

    (patch,) = api.patches()
    assert patch.path == f"{HPA_PATH}/fraud-hpa"
    assert patch.headers["content-type"] == "application/merge-patch+json"
    assert patch.json() == {"spec": {"minReplicas": 3}}
    assert patch.headers["authorization"] == "Bearer k8s-token"
    assert api.replicas["fraud-server"] == 3  # the Deployment itself is left to the HPA
    assert "minReplicas 2 -> 3" in result.detail


def test_hpa_min_is_bounded_by_policy_max_and_hpa_max(api: FakeKubernetesApi) -> None:
    api.hpas["fraud-hpa"] = hpa("fraud-hpa", "fraud-server", min_replicas=4, max_replicas=4)
    result = target(api, step=3).execute(REQUEST)
    assert api.patches() == []
    assert "already 4" in result.detail


def test_patches_deployment_scale_when_no_hpa_targets_it(api: FakeKubernetesApi) -> None:
    api.hpas["other"] = hpa("other", "another-deployment")
    api.replicas["fraud-server"] = 4

    result = target(api, step=3).execute(REQUEST)

    (patch,) = api.patches()
    assert patch.path == SCALE_PATH
    assert patch.json() == {"spec": {"replicas": 5}}  # 4 + 3, bounded by max_replicas 5
    assert api.replicas["fraud-server"] == 5
    assert "replicas 4 -> 5" in result.detail
    assert [r.method for r in api.server.requests] == ["GET", "GET", "PATCH"]


@pytest.mark.parametrize(
    "keda_hpa",
    [
        pytest.param(
            hpa("keda-hpa-fraud", "fraud-server", labels={"scaledobject.keda.sh/name": "fraud"}),
            id="label",
        ),
        pytest.param(
            hpa(
                "keda-hpa-fraud",
                "fraud-server",
                owner_references=[
                    {
                        "apiVersion": "keda.sh/v1alpha1",
                        "kind": "ScaledObject",
                        "name": "fraud",
                        "uid": "0e1f",
                    }
                ],
            ),
            id="owner",
        ),
    ],
)
def test_never_touches_a_keda_managed_hpa(api: FakeKubernetesApi, keda_hpa: dict[str, Any]) -> None:
    api.hpas["keda-hpa-fraud"] = keda_hpa
    api.replicas["fraud-server"] = 1
    with pytest.raises(TargetRefusedError, match="KEDA"):
        target(api).execute(REQUEST)
    assert api.patches() == []


def test_missing_deployment_is_a_final_error(api: FakeKubernetesApi) -> None:
    with pytest.raises(TargetError) as caught:
        target(api).execute(REQUEST)
    assert caught.value.retryable is False
    assert "404" in str(caught.value)
    assert "k8s-token" not in str(caught.value)


def test_server_error_is_retryable(api: FakeKubernetesApi) -> None:
    api.server.responder = lambda _: Reply(503, {"kind": "Status", "code": 503})
    with pytest.raises(TargetError) as caught:
        target(api).execute(REQUEST)
    assert caught.value.retryable is True


def test_unreachable_api_server_is_retryable() -> None:
    fake = FakeKubernetesApi()
    url = fake.server.url
    fake.server._server.server_close()  # nothing listens there any more
    config = KubernetesScaleTarget(
        type="kubernetes_scale", api_url=url, namespace="serving", max_replicas=3
    )
    with pytest.raises(TargetError) as caught:
        KubernetesScale(config, api_client(config, None), timeout=1).execute(REQUEST)
    assert caught.value.retryable is True
