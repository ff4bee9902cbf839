"""Rendered manifests are valid Kubernetes objects (offline, kubernetes-validate's schemas).

The Prometheus Operator kinds are CRDs kubernetes-validate ships no schema for; their shape
is asserted here instead, against the fields the operator's v1/v1alpha1 APIs define.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import helm_python
import kubernetes_validate
import pytest
import yaml

Manifest = dict[str, Any]
OPERATOR = ("monitoring.coreos.com/v1", "monitoring.coreos.com/v1alpha1")
CRD_KINDS = {
    "ServiceMonitor",
    "PodMonitor",
    "PrometheusRule",
    "AlertmanagerConfig",
    "ScaledObject",
}
# The floor of Chart.yaml's kubeVersion (native sidecars) and a recent release.
KUBE_VERSIONS = ("1.29.0", "1.33.0")
CHART_DIR = Path(__file__).resolve().parents[2] / "helm" / "inferwatch"
DURATION = re.compile(r"^([0-9]+(ms|s|m|h|d|w|y))+$")


@pytest.fixture(autouse=True, scope="module")
def _parse_each_schema_once() -> Iterator[None]:
    """kubernetes-validate re-reads its (large) JSON schema files on every call; cache them."""
    cached = functools.lru_cache(maxsize=None)(kubernetes_validate.utils.schema_contents)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(kubernetes_validate.utils, "schema_contents", cached)
        yield


def _validate_all(manifests: list[Manifest], version: str) -> list[str]:
    problems = []
    for manifest in manifests:
        if manifest["kind"] in CRD_KINDS:
            continue
        try:
            kubernetes_validate.validate(manifest, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            path = ".".join(str(p) for p in exc.path)
            problems.append(
                f"{manifest['kind']}/{manifest['metadata']['name']}: {path}: {exc.message}"
            )
    return problems


def test_schemas_are_shipped_for_the_versions_we_check() -> None:
    for version in KUBE_VERSIONS:
        minor = ".".join(version.split(".")[:2])
        assert kubernetes_validate.utils.major_minor(version) == minor
        assert minor <= kubernetes_validate.latest_version()


@pytest.mark.parametrize("version", KUBE_VERSIONS)
def test_every_ci_values_file_renders_valid_kubernetes_objects(
    render: Callable[..., list[Manifest]], ci_values: dict[str, dict[str, Any]], version: str
) -> None:
    seen: set[str] = set()
    for name, values in ci_values.items():
        manifests = render(values, api_versions=OPERATOR, kube_version=f"v{version}")
        seen |= {m["kind"] for m in manifests}
        assert _validate_all(manifests, version) == [], name
    # the matrix covers every kind the chart can make
    assert seen >= {
        "Deployment", "DaemonSet", "Service", "ServiceAccount", "ConfigMap", "Secret",
        "PersistentVolumeClaim", "Role", "RoleBinding", "NetworkPolicy", "Pod",
        "PodDisruptionBudget",
        "ServiceMonitor", "PodMonitor", "AlertmanagerConfig",
        "HorizontalPodAutoscaler", "ScaledObject",
    }  # fmt: skip


def test_a_broken_manifest_is_caught() -> None:
    """The validator is not vacuous: a misspelt field fails strict validation."""
    bad = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "x"},
        "spec": {"prots": [{"port": 80}]},
    }
    assert _validate_all([bad], KUBE_VERSIONS[0])


def test_native_sidecar_example_is_a_valid_deployment() -> None:
    text = (CHART_DIR / "examples" / "native-sidecar.yaml").read_text()
    example, monitor = yaml.safe_load_all(text)
    for version in KUBE_VERSIONS:
        assert _validate_all([example], version) == []
    pod = example["spec"]["template"]["spec"]
    (sidecar,) = pod["initContainers"]
    assert sidecar["restartPolicy"] == "Always"
    assert sidecar["args"] == ["exporter", "serve"]
    env = {e["name"]: e for e in sidecar["env"]}
    assert env["POD_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    assert env["POD_NAMESPACE"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.namespace"
    assert env["NODE_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "spec.nodeName"
    assert env["CONTAINER_NAME"]["value"] in {c["name"] for c in pod["containers"]}
    assert env["INFERWATCH_EXPORTERS__GPU__POD_LABELS"]["value"] == "downward"
    assert monitor["kind"] == "PodMonitor"
    assert monitor["spec"]["selector"]["matchLabels"].items() <= (
        example["spec"]["template"]["metadata"]["labels"].items()
    )
    (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
    assert endpoint["port"] == sidecar["ports"][0]["name"]
    assert endpoint["honorLabels"] is True


def _assert_monitor_endpoints(endpoints: list[dict[str, Any]]) -> None:
    assert endpoints
    for endpoint in endpoints:
        allowed = {"port", "path", "interval", "scrapeTimeout", "relabelings", "honorLabels"}
        assert set(endpoint) <= allowed
        assert endpoint["port"] == "http"
        assert endpoint["path"] == "/metrics"
        for key in ("interval", "scrapeTimeout"):
            if key in endpoint:
                assert DURATION.match(endpoint[key]), endpoint


def test_operator_objects_have_the_operator_shape(
    render: Callable[..., list[Manifest]], ci_values: dict[str, dict[str, Any]]
) -> None:
    manifests = render(ci_values["production"], api_versions=OPERATOR)
    crds = [m for m in manifests if m["kind"] in CRD_KINDS]
    assert {m["kind"] for m in crds} >= {"ServiceMonitor", "PodMonitor", "AlertmanagerConfig"}
    for crd in crds:
        expected = "v1alpha1" if crd["kind"] == "AlertmanagerConfig" else "v1"
        assert crd["apiVersion"] == f"monitoring.coreos.com/{expected}"
        assert set(crd) == {"apiVersion", "kind", "metadata", "spec"}
        assert crd["metadata"]["namespace"] == "monitoring"
        assert crd["metadata"]["labels"]["release"] == "kube-prometheus-stack"
        spec = crd["spec"]
        if crd["kind"] == "ServiceMonitor":
            assert set(spec) == {"selector", "namespaceSelector", "endpoints"}
            _assert_monitor_endpoints(spec["endpoints"])
        elif crd["kind"] == "PrometheusRule":
            assert set(spec) == {"groups"}
        elif crd["kind"] == "PodMonitor":
            assert set(spec) == {"selector", "namespaceSelector", "podMetricsEndpoints"}
            _assert_monitor_endpoints(spec["podMetricsEndpoints"])
            assert spec["podMetricsEndpoints"][0]["honorLabels"] is True
        else:
            assert set(spec) == {"route", "receivers"}
            assert DURATION.match(spec["route"]["repeatInterval"])
            for matcher in spec["route"]["matchers"]:
                assert matcher["matchType"] in {"=", "!=", "=~", "!~"}
                assert set(matcher) == {"name", "value", "matchType"}


RULES = """\
groups:
  - name: inferwatch-drift
    rules:
      - alert: InferwatchDriftDetected
        expr: max by (model) (inferwatch_drift_dataset_detected) == 1
        for: 10m
        labels: {severity: warning, action: retrain}
        annotations:
          summary: "Drift on {{ $labels.model }}"
      - record: inferwatch:drift_features:max
        expr: max by (model) (inferwatch_drift_dataset_drifted_features)
"""


def test_prometheus_rules_carry_the_rule_files(
    render_dir: Callable[..., list[Manifest]], chart_copy: Path
) -> None:
    (chart_copy / "rules" / "drift_alerts.yaml").write_text(RULES)
    (chart_copy / "rules" / "empty.yaml").write_text("# nothing yet\n")
    labels = {"monitoring": {"additionalLabels": {"release": "kps"}}}
    manifests = render_dir(chart_copy, labels, api_versions=OPERATOR)
    (rule,) = [
        m
        for m in manifests
        if m["kind"] == "PrometheusRule"
        and m["metadata"]["annotations"]["inferwatch.io/source"].startswith("rules/")
    ]
    assert rule["apiVersion"] == "monitoring.coreos.com/v1"
    assert rule["metadata"]["name"] == "rel-inferwatch-alerts-drift-alerts"
    assert rule["metadata"]["labels"]["release"] == "kps"
    # the template strings of annotations reach the operator untouched
    assert rule["spec"] == yaml.safe_load(RULES)
    without_api = render_dir(chart_copy, labels)
    assert not [m for m in without_api if m["kind"] == "PrometheusRule"]
    (chart_copy / "rules" / "broken.yaml").write_text("groups: [\n")
    with pytest.raises(helm_python.HelmError, match=r"rules/broken\.yaml is not valid YAML"):
        render_dir(chart_copy, labels, api_versions=OPERATOR)


def test_shipped_rule_files_become_prometheus_rules(
    render: Callable[..., list[Manifest]],
) -> None:
    shipped = [
        p
        for folder in ("rules", "recording")  # alerting rules, and the engine adapters
        for p in sorted((CHART_DIR / folder).glob("*.yaml"))
        if (yaml.safe_load(p.read_text()) or {}).get("groups")
    ]
    if not shipped:
        pytest.skip("no rule files synced into helm/inferwatch/rules yet")
    distributed = {"mode": "distributed", "database": {"existingSecret": "pg"}}  # a drift Service
    manifests = render(distributed, api_versions=OPERATOR)
    by_source = {
        m["metadata"]["annotations"]["inferwatch.io/source"]: m
        for m in manifests
        if m["kind"] == "PrometheusRule"
    }
    assert set(by_source) == {f"{p.parent.name}/{p.name}" for p in shipped}
    drift_url = "http://rel-inferwatch-drift.monitoring.svc:8686"
    for path in shipped:
        spec = by_source[f"{path.parent.name}/{path.name}"]["spec"]
        # In Prometheus, $externalURL is Prometheus's own URL: report links get the drift service.
        text = path.read_text().replace("{{ $externalURL }}", drift_url)
        assert spec == {"groups": yaml.safe_load(text)["groups"]}
        assert "$externalURL" not in json.dumps(spec)
        for group in spec["groups"]:
            for entry in group["rules"]:
                assert ("alert" in entry) != ("record" in entry)
                assert entry["expr"]


def test_rule_report_links_use_the_public_url_when_set(
    render: Callable[..., list[Manifest]],
) -> None:
    manifests = render({"server": {"publicUrl": "https://iw.example"}}, api_versions=OPERATOR)
    reports = [
        entry["annotations"]["report_url"]
        for m in manifests
        if m["kind"] == "PrometheusRule"
        for group in m["spec"]["groups"]
        for entry in group["rules"]
        if "report_url" in entry.get("annotations", {})
    ]
    assert reports
    assert all(url.startswith("https://iw.example/drift/models/") for url in reports)


def test_dashboards_become_sidecar_config_maps(
    render_dir: Callable[..., list[Manifest]], chart_copy: Path
) -> None:
    dashboard = '{"title": "Inferwatch drift", "uid": "iw-drift", "panels": []}\n'
    (chart_copy / "dashboards" / "inferwatch_drift.json").write_text(dashboard)
    manifests = render_dir(chart_copy, {})
    (config_map,) = [
        m for m in manifests if m["metadata"]["name"].startswith("rel-inferwatch-dashboard")
    ]
    assert config_map["metadata"]["name"] == "rel-inferwatch-dashboard-drift"
    assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert config_map["metadata"]["annotations"] == {"grafana_folder": "inferwatch"}
    assert json.loads(config_map["data"]["inferwatch_drift.json"]) == json.loads(dashboard)
    assert _validate_all([config_map], KUBE_VERSIONS[-1]) == []
    custom = {
        "dashboards": {
            "label": "my_dash",
            "labelValue": "yes",
            "folder": "",
            "namespace": "grafana",
        }
    }
    (moved,) = [m for m in render_dir(chart_copy, custom) if "dashboard" in m["metadata"]["name"]]
    assert moved["metadata"]["namespace"] == "grafana"
    assert moved["metadata"]["labels"]["my_dash"] == "yes"
    assert "annotations" not in moved["metadata"]
    off = render_dir(chart_copy, {"dashboards": {"enabled": False}})
    assert not [m for m in off if "dashboard" in m["metadata"]["name"]]
