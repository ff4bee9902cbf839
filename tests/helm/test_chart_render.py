"""The chart lints clean and each value toggles exactly what it says (rendered by Helm's SDK).

Per-part objects exist in mode distributed (one Deployment per part), so the tests of a
part's own Deployment, Service or monitor render that mode (``_distributed``); mode single
(the default, one server running every part) is covered beside them and in test_chart_modes.
"""

from __future__ import annotations

import base64
import copy
from collections.abc import Callable
from typing import Any

import helm_python
import pytest

Manifest = dict[str, Any]
OfKind = Callable[..., list[Manifest]]

CHART = "helm/inferwatch"
SERVICES = ("collector", "drift", "rules", "actions")
OPERATOR = ("monitoring.coreos.com/v1", "monitoring.coreos.com/v1alpha1")
DISTRIBUTED: dict[str, Any] = {"mode": "distributed", "database": {"existingSecret": "pg"}}


def _distributed(values: dict[str, Any] | None = None) -> dict[str, Any]:
    """``values`` in mode distributed, on PostgreSQL from Secret ``pg``."""
    merged = copy.deepcopy(DISTRIBUTED)
    for key, value in (values or {}).items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


def _names(manifests: list[Manifest], kind: str) -> set[str]:
    return {m["metadata"]["name"] for m in manifests if m["kind"] == kind}


def _env(container: dict[str, Any]) -> dict[str, Any]:
    return {item["name"]: item for item in container["env"]}


def _containers(manifests: list[Manifest], kind: str = "Deployment") -> dict[str, Any]:
    return {
        m["metadata"]["name"]: m["spec"]["template"]["spec"]["containers"][0]
        for m in manifests
        if m["kind"] == kind
    }


def test_lint_is_clean_with_defaults_and_every_ci_values_file(
    ci_values: dict[str, dict[str, Any]],
) -> None:
    assert set(ci_values) >= {"default", "minimal", "gpu", "production", "public"}
    for name, values in {"(chart defaults)": None, **ci_values}.items():
        report = helm_python.lint(CHART, values, strict=True, kube_version="v1.31.0")
        assert report["errors"] == [], (name, report)
        assert report["messages"] == [], (name, report)


def test_default_values_deploy_one_server_and_no_operator_objects_without_the_api(
    render: Callable[..., list[Manifest]],
) -> None:
    manifests = render()
    assert _names(manifests, "Deployment") == {"rel-inferwatch-server"}
    assert _names(manifests, "Service") == {"rel-inferwatch-server"}
    assert _names(manifests, "ServiceAccount") == {"rel-inferwatch-server"}
    kinds = {m["kind"] for m in manifests}
    assert not kinds & {"ServiceMonitor", "PodMonitor", "PrometheusRule", "AlertmanagerConfig"}
    assert not kinds & {"Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"}
    (container,) = _containers(manifests).values()
    assert container["args"] == ["up"]
    assert container["image"] == "ghcr.io/inferwatch/inferwatch:0.1.0"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"


def test_distributed_values_deploy_every_service_and_no_operator_objects_without_the_api(
    render: Callable[..., list[Manifest]],
) -> None:
    manifests = render(_distributed())
    assert _names(manifests, "Deployment") == {f"rel-inferwatch-{c}" for c in SERVICES}
    assert _names(manifests, "Service") == {f"rel-inferwatch-{c}" for c in SERVICES}
    assert _names(manifests, "ServiceAccount") == {f"rel-inferwatch-{c}" for c in SERVICES}
    assert _names(manifests, "DaemonSet") == set()
    kinds = {m["kind"] for m in manifests}
    assert not kinds & {"ServiceMonitor", "PodMonitor", "PrometheusRule", "AlertmanagerConfig"}
    assert not kinds & {"Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"}
    assert "NetworkPolicy" not in kinds
    for name, container in _containers(manifests).items():
        component = name.removeprefix("rel-inferwatch-")
        assert container["args"] == [component, "serve"]
        assert container["image"] == "ghcr.io/inferwatch/inferwatch:0.1.0"
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"


def test_every_ci_values_file_renders(
    render: Callable[..., list[Manifest]], ci_values: dict[str, dict[str, Any]]
) -> None:
    for name, values in ci_values.items():
        assert render(values, api_versions=OPERATOR), name


@pytest.mark.parametrize("component", SERVICES)
def test_each_service_toggles_alone(
    render: Callable[..., list[Manifest]], of_kind: OfKind, component: str
) -> None:
    off = render(_distributed({component: {"enabled": False}}), api_versions=OPERATOR)
    name = f"rel-inferwatch-{component}"
    for kind in ("Deployment", "Service", "ServiceAccount", "ServiceMonitor"):
        assert not of_kind(off, kind, name), (kind, name)
        assert len(of_kind(off, kind)) == len(SERVICES) - 1, kind
    test_pod = of_kind(off, "Pod")[0]
    urls = test_pod["spec"]["containers"][0]["command"][3:]
    assert f"http://{name}.monitoring.svc:8686" not in urls
    assert len(urls) == len(SERVICES) - 1
    (server,) = _containers(render({component: {"enabled": False}})).values()
    flags = {k: v["value"] for k, v in _env(server).items() if k.endswith("__ENABLED")}
    assert sorted(flags.values()) == ["false", "false", "true", "true", "true"]  # exporter too


@pytest.mark.parametrize("mode", ["single", "distributed"])
def test_secure_defaults_on_every_pod(render: Callable[..., list[Manifest]], mode: str) -> None:
    values: dict[str, Any] = {"exporter": {"daemonset": {"enabled": True}}}
    manifests = render(_distributed(values) if mode == "distributed" else values)
    pods = [m["spec"]["template"]["spec"] for m in manifests if "template" in m.get("spec", {})]
    pods += [m["spec"] for m in manifests if m["kind"] == "Pod"]
    workloads = len(SERVICES) if mode == "distributed" else 1
    assert len(pods) == workloads + 2  # services, the exporter, the helm test pod
    for pod in pods:
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] == 10001
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
        for container in pod["containers"]:
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True
            assert context["allowPrivilegeEscalation"] is False
            assert context["capabilities"]["drop"] == ["ALL"]
            assert container["resources"]["requests"]["cpu"]
            assert container["resources"]["requests"]["memory"]
    tokens = {
        m["metadata"]["name"]: m["spec"]["template"]["spec"]["automountServiceAccountToken"]
        for m in manifests
        if m["kind"] in {"Deployment", "DaemonSet"}
    }
    actions = "rel-inferwatch-actions" if mode == "distributed" else "rel-inferwatch-server"
    assert {name for name, mounted in tokens.items() if mounted} == {actions}


def test_chart_made_secret_carries_the_token_every_container_reads(
    render: Callable[..., list[Manifest]], of_kind: OfKind
) -> None:
    manifests = render({"auth": {"token": "s3cret-token"}})
    (secret,) = of_kind(manifests, "Secret")
    assert base64.b64decode(secret["data"]["api-token"]).decode() == "s3cret-token"
    for container in _containers(manifests).values():
        env = _env(container)
        ref = env["INFERWATCH_SERVER__API_TOKEN"]["valueFrom"]["secretKeyRef"]
        assert ref == {"name": secret["metadata"]["name"], "key": "api-token"}
        assert env["INFERWATCH_SERVER__HOST"]["value"] == "0.0.0.0"
        assert "INFERWATCH_SERVER__ALLOW_PUBLIC_WITHOUT_TOKEN" not in env


def test_generated_token_is_random_and_long(render: Callable[..., list[Manifest]]) -> None:
    first, second = (
        base64.b64decode(s["data"]["api-token"])
        for s in (next(m for m in render() if m["kind"] == "Secret") for _ in range(2))
    )
    assert len(first) == 40
    assert first != second


def test_existing_secret_is_referenced_and_none_is_made(
    render: Callable[..., list[Manifest]], of_kind: OfKind
) -> None:
    values = {
        "auth": {"existingSecret": "my-token", "secretKey": "tok"},
        "monitoring": {"alertmanagerConfig": {"enabled": True}},
    }
    manifests = render(_distributed(values), api_versions=OPERATOR)
    assert of_kind(manifests, "Secret") == []
    for container in _containers(manifests).values():
        ref = _env(container)["INFERWATCH_SERVER__API_TOKEN"]["valueFrom"]["secretKeyRef"]
        assert ref == {"name": "my-token", "key": "tok"}
    (amc,) = of_kind(manifests, "AlertmanagerConfig")
    (receiver,) = amc["spec"]["receivers"]
    (webhook,) = receiver["webhookConfigs"]
    assert (
        webhook["url"] == "http://rel-inferwatch-actions.monitoring.svc:8686/actions/alertmanager"
    )
    assert webhook["httpConfig"]["authorization"]["credentials"] == {
        "name": "my-token",
        "key": "tok",
    }
    assert amc["spec"]["route"]["receiver"] == receiver["name"]


def test_read_token_comes_from_the_existing_secret(
    render: Callable[..., list[Manifest]],
) -> None:
    values = {"auth": {"existingSecret": "my-token", "secretKey": "tok", "readTokenKey": "ro"}}
    for container in _containers(render(values)).values():
        ref = _env(container)["INFERWATCH_SERVER__READ_TOKEN"]["valueFrom"]["secretKeyRef"]
        assert ref == {"name": "my-token", "key": "ro"}
    for container in _containers(render()).values():
        assert "INFERWATCH_SERVER__READ_TOKEN" not in _env(container)
    with pytest.raises(helm_python.HelmError, match=r"readTokenKey.*existingSecret"):
        render({"auth": {"readTokenKey": "ro"}})


def test_public_without_token_makes_no_secret(
    render: Callable[..., list[Manifest]], of_kind: OfKind
) -> None:
    manifests = render({"auth": {"allowPublicWithoutToken": True}})
    assert of_kind(manifests, "Secret") == []
    for container in _containers(manifests).values():
        env = _env(container)
        assert env["INFERWATCH_SERVER__ALLOW_PUBLIC_WITHOUT_TOKEN"]["value"] == "true"
        assert "INFERWATCH_SERVER__API_TOKEN" not in env


def test_persistence_makes_one_claim_for_the_server_with_recreate(
    render: Callable[..., list[Manifest]], of_kind: OfKind
) -> None:
    manifests = render({"single": {"persistence": {"storageClass": "fast", "size": "3Gi"}}})
    (claim,) = of_kind(manifests, "PersistentVolumeClaim")
    assert claim["metadata"]["name"] == "rel-inferwatch-data"
    assert claim["spec"]["storageClassName"] == "fast"
    assert claim["spec"]["resources"]["requests"]["storage"] == "3Gi"
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    (deployment,) = of_kind(manifests, "Deployment")
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    assert volumes["data"]["persistentVolumeClaim"]["claimName"] == "rel-inferwatch-data"
    assert deployment["spec"]["strategy"]["type"] == "Recreate"
    for deployment in of_kind(render(_distributed()), "Deployment"):
        volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
        assert volumes["data"] == {"name": "data", "emptyDir": {}}
        assert deployment["spec"]["strategy"]["type"] == "RollingUpdate"


def test_existing_claim_is_used_and_not_created(
    render: Callable[..., list[Manifest]], of_kind: OfKind
) -> None:
    manifests = render({"single": {"persistence": {"existingClaim": "iw-state"}}})
    assert of_kind(manifests, "PersistentVolumeClaim") == []
    (server,) = of_kind(manifests, "Deployment", "rel-inferwatch-server")
    volumes = {v["name"]: v for v in server["spec"]["template"]["spec"]["volumes"]}
    assert volumes["data"]["persistentVolumeClaim"]["claimName"] == "iw-state"


def test_database_url_replaces_the_claims(
    render: Callable[..., list[Manifest]], of_kind: OfKind
) -> None:
    url = "sqlite:////var/lib/inferwatch/shared.db"
    manifests = render({"database": {"url": url}})
    assert of_kind(manifests, "PersistentVolumeClaim") == []
    for container in _containers(manifests).values():
        assert _env(container)["INFERWATCH_DATABASE_URL"]["value"] == url
    from_secret = render({"database": {"existingSecret": "pg", "secretKey": "dsn"}})
    assert of_kind(from_secret, "PersistentVolumeClaim") == []
    for container in _containers(from_secret).values():
        ref = _env(container)["INFERWATCH_DATABASE_URL"]["valueFrom"]["secretKeyRef"]
        assert ref == {"name": "pg", "key": "dsn"}


def test_more_replicas_without_postgresql_fail_with_a_message(
    render: Callable[..., list[Manifest]],
) -> None:
    with pytest.raises(helm_python.HelmError, match=r"drift\.replicas=2, but mode=single"):
        render({"drift": {"replicas": 2}})
    with pytest.raises(helm_python.HelmError, match=r"drift\.persistence was removed"):
        render({"drift": {"replicas": 2, "persistence": {"enabled": False}}})
    assert render(_distributed({"drift": {"replicas": 2}}))


def test_schema_rejects_bad_values_naming_the_key(render: Callable[..., list[Manifest]]) -> None:
    cases = [
        ({"logLevel": "LOUD"}, "logLevel"),
        ({"image": {"pullPolicy": "Sometimes"}}, "pullPolicy"),
        ({"service": {"type": "ExternalName"}}, "type"),
        ({"collector": {"enabled": "yes"}}, "enabled"),
        ({"single": {"persistence": {"accessModes": ["ReadWriteSometimes"]}}}, "accessModes"),
        ({"mode": "replicated"}, "mode"),
        ({"actions": {"rbac": {"scaleNamespaces": ["Not_A_Namespace"]}}}, "scaleNamespaces"),
        ({"tpyo": True}, "tpyo"),
    ]
    for values, key in cases:
        with pytest.raises(helm_python.HelmError, match=key):
            render(values)


def test_actions_role_only_patches_scale_in_the_named_namespaces(
    render: Callable[..., list[Manifest]], of_kind: OfKind
) -> None:
    manifests = render(
        _distributed({"actions": {"rbac": {"scaleNamespaces": ["inference", "canary"]}}})
    )
    assert of_kind(manifests, "ClusterRole") == []
    assert of_kind(manifests, "ClusterRoleBinding") == []
    roles = of_kind(manifests, "Role")
    assert {r["metadata"]["namespace"] for r in roles} == {"inference", "canary"}
    for role in roles:
        granted = {
            (group, resource, verb)
            for rule in role["rules"]
            for group in rule["apiGroups"]
            for resource in rule["resources"]
            for verb in rule["verbs"]
        }
        # what inferwatch.alerts.actions._k8s calls: list HPAs to find the one targeting the
        # deployment, patch its minReplicas; or read and patch the deployment's scale
        assert granted == {
            ("autoscaling", "horizontalpodautoscalers", "list"),
            ("autoscaling", "horizontalpodautoscalers", "patch"),
            ("apps", "deployments/scale", "get"),
            ("apps", "deployments/scale", "patch"),
        }
    bindings = of_kind(manifests, "RoleBinding")
    assert {b["metadata"]["namespace"] for b in bindings} == {"inference", "canary"}
    for binding in bindings:
        assert binding["subjects"] == [
            {"kind": "ServiceAccount", "name": "rel-inferwatch-actions", "namespace": "monitoring"}
        ]
        assert binding["roleRef"]["kind"] == "Role"
    assert (
        of_kind(render({"actions": {"enabled": False, "rbac": {"scaleNamespaces": ["x"]}}}), "Role")
        == []
    )


def test_policy_scale_targets_add_their_namespaces(
    render: Callable[..., list[Manifest]], of_kind: OfKind
) -> None:
    scale = {"type": "kubernetes_scale", "namespace": "serving", "max_replicas": 5}
    webhook = {"type": "webhook", "url": "http://ci.example.com/hook"}
    values = {
        "actions": {
            "policy": {
                "actions": {"scale": {"target": "up"}},
                "targets": {"up": scale, "hook": webhook},
            },
            "rbac": {"scaleNamespaces": ["serving", "canary"]},
        }
    }
    manifests = render(_distributed(values))
    assert sorted(r["metadata"]["namespace"] for r in of_kind(manifests, "Role")) == [
        "canary",
        "serving",
    ]
    (actions,) = [c for n, c in _containers(manifests).items() if n.endswith("-actions")]
    env = _env(actions)
    assert env["INFERWATCH_ALERTS__ACTIONS__POLICY_FILE"]["value"] == (
        "/etc/inferwatch/actions-policy.yaml"
    )
    (config,) = of_kind(manifests, "ConfigMap", "rel-inferwatch-config")
    assert "kubernetes_scale" in config["data"]["actions-policy.yaml"]
    assert "INFERWATCH_ALERTS__ACTIONS__POLICY_FILE" not in _env(
        _containers(render(_distributed()))["rel-inferwatch-actions"]
    )
    # mode single: the server runs the actions receiver with the same policy
    (server,) = _containers(render(values)).values()
    assert "INFERWATCH_ALERTS__ACTIONS__POLICY_FILE" in _env(server)


def test_rules_service_leaves_the_shipped_rules_to_prometheus_when_it_has_them(
    render: Callable[..., list[Manifest]],
) -> None:
    def include_default(manifests: list[Manifest]) -> str | None:
        containers = _containers(manifests)
        rules = containers.get("rel-inferwatch-rules") or containers["rel-inferwatch-server"]
        item = _env(rules).get("INFERWATCH_ALERTS__RULES__INCLUDE_DEFAULT_RULES")
        return None if item is None else str(item["value"])

    off = {"monitoring": {"prometheusRule": {"enabled": False}}}
    for mode in (_distributed, dict):
        assert include_default(render(mode())) is None
        assert include_default(render(mode(), api_versions=OPERATOR)) == "false"
        assert include_default(render(mode(off), api_versions=OPERATOR)) is None


def test_prometheus_url_reaches_rules_and_drift_only(render: Callable[..., list[Manifest]]) -> None:
    url = "http://prometheus-operated.monitoring:9090"
    by_default = _containers(render(_distributed({"prometheus": {"url": url}})))
    drift = _env(by_default["rel-inferwatch-drift"])  # reads the collectors' merged windows
    assert "INFERWATCH_DRIFT__PROMETHEUS_URL" not in drift
    histogram_path = {"prometheus": {"url": url}, "drift": {"windows": "prometheus"}}
    containers = _containers(render(_distributed(histogram_path)))
    wanted = {
        "rel-inferwatch-rules": "INFERWATCH_ALERTS__RULES__QUERY_URL",
        "rel-inferwatch-drift": "INFERWATCH_DRIFT__PROMETHEUS_URL",
    }
    for name, container in containers.items():
        env = _env(container)
        prometheus_vars = {k for k in env if "QUERY_URL" in k or "PROMETHEUS_URL" in k}
        assert prometheus_vars == ({wanted[name]} if name in wanted else set()), name
        if name in wanted:
            assert env[wanted[name]]["value"] == url
    # mode single: the drift engine reads the collector's windows in process
    (server,) = _containers(render({"prometheus": {"url": url}})).values()
    env = _env(server)
    assert env["INFERWATCH_ALERTS__RULES__QUERY_URL"]["value"] == url
    assert "INFERWATCH_DRIFT__PROMETHEUS_URL" not in env


def test_daemonset_option_runs_the_gpu_exporter_with_the_nvidia_runtime(
    render: Callable[..., list[Manifest]], of_kind: OfKind
) -> None:
    values = {
        "exporter": {
            "daemonset": {
                "enabled": True,
                "runtimeClassName": "nvidia",
                "podResources": {"enabled": True},
            }
        }
    }
    manifests = render(values, api_versions=OPERATOR)
    (daemonset,) = of_kind(manifests, "DaemonSet")
    pod = daemonset["spec"]["template"]["spec"]
    assert pod["runtimeClassName"] == "nvidia"
    assert pod["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    (container,) = pod["containers"]
    assert container["args"] == ["exporter", "serve"]
    env = _env(container)
    assert env["NODE_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "spec.nodeName"
    assert env["NVIDIA_VISIBLE_DEVICES"]["value"] == "all"
    assert env["INFERWATCH_EXPORTERS__GPU__POD_LABELS"]["value"] == "kubelet"
    assert env["INFERWATCH_EXPORTERS__GPU__KUBELET_SOCKET"]["value"].startswith(
        "/var/lib/kubelet/pod-resources/"
    )
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["pod-resources"]["hostPath"] == {
        "path": "/var/lib/kubelet/pod-resources",
        "type": "Directory",
    }
    mounts = {m["name"]: m for m in container["volumeMounts"]}
    assert mounts["pod-resources"]["readOnly"] is True
    (monitor,) = of_kind(manifests, "PodMonitor")
    assert (
        monitor["spec"]["selector"]["matchLabels"] == daemonset["spec"]["selector"]["matchLabels"]
    )
    no_socket = render({"exporter": {"daemonset": {"enabled": True}}})
    (plain,) = of_kind(no_socket, "DaemonSet")
    assert "runtimeClassName" not in plain["spec"]["template"]["spec"]
    assert "pod-resources" not in {v["name"] for v in plain["spec"]["template"]["spec"]["volumes"]}
    plain_env = _env(plain["spec"]["template"]["spec"]["containers"][0])
    assert plain_env["INFERWATCH_EXPORTERS__GPU__POD_LABELS"]["value"] == "none"


def test_operator_objects_need_the_capability_and_carry_additional_labels(
    render: Callable[..., list[Manifest]], of_kind: OfKind
) -> None:
    values = _distributed(
        {"monitoring": {"additionalLabels": {"release": "kube-prometheus-stack"}}}
    )
    without = render(values)
    assert of_kind(without, "ServiceMonitor") == []
    with_api = render(values, api_versions=("monitoring.coreos.com/v1",))
    monitors = of_kind(with_api, "ServiceMonitor")
    assert len(monitors) == len(SERVICES)
    services = {s["metadata"]["name"]: s for s in of_kind(with_api, "Service")}
    for monitor in monitors:
        assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
        service = services[monitor["metadata"]["name"]]
        selector = monitor["spec"]["selector"]["matchLabels"]
        assert selector.items() <= service["metadata"]["labels"].items()
        assert monitor["spec"]["endpoints"][0]["port"] == service["spec"]["ports"][0]["name"]
        assert monitor["spec"]["endpoints"][0]["path"] == "/metrics"
    # v1alpha1 is a separate capability: no AlertmanagerConfig without it
    amc = {"monitoring": {"alertmanagerConfig": {"enabled": True}}}
    assert (
        of_kind(render(amc, api_versions=("monitoring.coreos.com/v1",)), "AlertmanagerConfig") == []
    )
    assert of_kind(render(amc, api_versions=OPERATOR), "AlertmanagerConfig")
    off = {"monitoring": {"serviceMonitor": {"enabled": False}}}
    assert of_kind(render(off, api_versions=OPERATOR), "ServiceMonitor") == []
    (single,) = of_kind(render(api_versions=OPERATOR), "ServiceMonitor")
    assert single["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"] == "server"


def test_network_policy_allows_only_http_from_the_release_and_named_peers(
    render: Callable[..., list[Manifest]], of_kind: OfKind
) -> None:
    peer = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
    values = {
        "networkPolicy": {"enabled": True, "ingressFrom": [peer]},
        "exporter": {"daemonset": {"enabled": True}},
    }
    manifests = render(_distributed(values))
    policies = of_kind(manifests, "NetworkPolicy")
    assert len(policies) == len(SERVICES) + 1
    assert len(of_kind(render(values), "NetworkPolicy")) == 2  # mode single: server, exporter
    for policy in policies:
        spec = policy["spec"]
        assert spec["policyTypes"] == ["Ingress"]
        (rule,) = spec["ingress"]
        assert rule["ports"] == [{"port": "http", "protocol": "TCP"}]
        assert rule["from"][0] == {
            "podSelector": {"matchLabels": {"app.kubernetes.io/instance": "rel"}}
        }
        assert rule["from"][1] == peer
        assert "egress" not in spec
    egress = render({"networkPolicy": {"enabled": True, "restrictEgress": True}})
    for policy in of_kind(egress, "NetworkPolicy"):
        assert policy["spec"]["policyTypes"] == ["Ingress", "Egress"]
        dns = policy["spec"]["egress"][0]["ports"]
        assert {"port": 53, "protocol": "UDP"} in dns


def test_helm_test_hook_checks_readyz(
    render: Callable[..., list[Manifest]], of_kind: OfKind
) -> None:
    (pod,) = of_kind(render(_distributed()), "Pod")
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    assert pod["spec"]["restartPolicy"] == "Never"
    (container,) = pod["spec"]["containers"]
    assert "/readyz" in container["command"][2]
    assert container["command"][3:] == [
        f"http://rel-inferwatch-{c}.monitoring.svc:8686" for c in SERVICES
    ]
    (single,) = of_kind(render(), "Pod")
    assert single["spec"]["containers"][0]["command"][3:] == [
        "http://rel-inferwatch-server.monitoring.svc:8686"
    ]
    assert of_kind(render({"tests": {"enabled": False}}), "Pod") == []


def test_config_changes_roll_the_pods(
    render: Callable[..., list[Manifest]], of_kind: OfKind
) -> None:
    def checksum(values: dict[str, Any]) -> str:
        (server,) = of_kind(render(values), "Deployment", "rel-inferwatch-server")
        value: str = server["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
        return value

    assert checksum({}) != checksum({"config": {"log_level": "DEBUG"}})
