"""The chart's two deployment modes and the combinations it refuses at render time.

``mode: single`` (the default) runs every part in one pod (``inferwatch up``) on SQLite;
``mode: distributed`` runs one Deployment per part on PostgreSQL, replicated, rolled,
spread and protected by a PodDisruptionBudget. Rendered by Helm's SDK like the other chart
tests, validated against the Kubernetes schemas offline.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Iterator
from typing import Any

import helm_python
import kubernetes_validate
import pytest

Manifest = dict[str, Any]
OfKind = Callable[..., list[Manifest]]
Render = Callable[..., list[Manifest]]

CHART = "helm/inferwatch"
PARTS = ("collector", "drift", "rules", "actions")
OPERATOR = ("monitoring.coreos.com/v1", "monitoring.coreos.com/v1alpha1")
DISTRIBUTED: dict[str, Any] = {
    "mode": "distributed",
    "database": {"existingSecret": "inferwatch-db", "secretKey": "url"},
}
PG_URL = "postgresql+psycopg://inferwatch:pw@db-rw.monitoring.svc:5432/inferwatch"


def _merged(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merged(out[key], value)
        else:
            out[key] = value
    return out


def _env(container: dict[str, Any]) -> dict[str, Any]:
    return {item["name"]: item for item in container["env"]}


def _by_name(manifests: list[Manifest], kind: str) -> dict[str, Manifest]:
    return {m["metadata"]["name"]: m for m in manifests if m["kind"] == kind}


@pytest.fixture(autouse=True, scope="module")
def _parse_each_schema_once() -> Iterator[None]:
    """kubernetes-validate re-reads its JSON schema files on every call; cache them."""
    cached = functools.lru_cache(maxsize=None)(kubernetes_validate.utils.schema_contents)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(kubernetes_validate.utils, "schema_contents", cached)
        yield


@pytest.mark.parametrize(
    "values", [{}, DISTRIBUTED, _merged(DISTRIBUTED, {p: {"replicas": 3} for p in PARTS})]
)
def test_both_modes_lint_clean_and_render_valid_objects(
    render: Render, values: dict[str, Any]
) -> None:
    report = helm_python.lint(CHART, values, strict=True, kube_version="v1.31.0")
    assert report["errors"] == [] and report["messages"] == [], report
    manifests = render(values, api_versions=OPERATOR)
    for manifest in manifests:
        if manifest["kind"].startswith(("ServiceMonitor", "PrometheusRule", "Alertmanager")):
            continue
        kubernetes_validate.validate(manifest, "1.29.0", strict=True)


def test_single_is_the_default_one_pod_running_every_part_on_a_sqlite_claim(
    render: Render, of_kind: OfKind
) -> None:
    manifests = render(api_versions=OPERATOR)
    (deployment,) = of_kind(manifests, "Deployment")
    assert deployment["metadata"]["name"] == "rel-inferwatch-server"
    spec = deployment["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {"type": "Recreate"}
    pod = spec["template"]["spec"]
    (container,) = pod["containers"]
    assert container["args"] == ["up"]
    env = _env(container)
    for variable in (
        "INFERWATCH_COLLECTOR__ENABLED",
        "INFERWATCH_DRIFT__ENABLED",
        "INFERWATCH_ALERTS__RULES__ENABLED",
        "INFERWATCH_ALERTS__ACTIONS__ENABLED",
    ):
        assert env[variable]["value"] == "true", variable
    # the GPU exporter is a DaemonSet on GPU nodes, never part of the server
    assert env["INFERWATCH_EXPORTERS__ENABLED"]["value"] == "false"
    assert "INFERWATCH_DATABASE_URL" not in env
    (claim,) = of_kind(manifests, "PersistentVolumeClaim")
    assert claim["metadata"]["name"] == "rel-inferwatch-data"
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["data"]["persistentVolumeClaim"]["claimName"] == "rel-inferwatch-data"
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert mounts["data"] == env["INFERWATCH_DATA_DIR"]["value"]
    # one pod: nothing to spread or budget
    assert "topologySpreadConstraints" not in pod
    assert of_kind(manifests, "PodDisruptionBudget") == []
    for kind in ("Service", "ServiceAccount", "ServiceMonitor"):
        assert set(_by_name(manifests, kind)) == {"rel-inferwatch-server"}, kind


def test_single_mode_tells_the_server_which_parts_run(render: Render, of_kind: OfKind) -> None:
    manifests = render({"rules": {"enabled": False}, "actions": {"enabled": False}})
    (deployment,) = of_kind(manifests, "Deployment")
    env = _env(deployment["spec"]["template"]["spec"]["containers"][0])
    assert env["INFERWATCH_COLLECTOR__ENABLED"]["value"] == "true"
    assert env["INFERWATCH_ALERTS__RULES__ENABLED"]["value"] == "false"
    assert env["INFERWATCH_ALERTS__ACTIONS__ENABLED"]["value"] == "false"
    assert "INFERWATCH_ALERTS__ACTIONS__DRY_RUN" not in env
    # the server mounts a ServiceAccount token only when it runs the actions receiver
    assert deployment["spec"]["template"]["spec"]["automountServiceAccountToken"] is False
    nothing = render({p: {"enabled": False} for p in PARTS})
    assert of_kind(nothing, "Deployment") == []
    assert of_kind(nothing, "PersistentVolumeClaim") == []
    assert of_kind(nothing, "Service") == []


def test_single_mode_on_postgresql_makes_no_claim(render: Render, of_kind: OfKind) -> None:
    manifests = render({"database": {"url": PG_URL}})
    assert of_kind(manifests, "PersistentVolumeClaim") == []
    (deployment,) = of_kind(manifests, "Deployment")
    assert deployment["spec"]["replicas"] == 1
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert _env(container)["INFERWATCH_DATABASE_URL"]["value"] == PG_URL
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    assert volumes["data"] == {"name": "data", "emptyDir": {}}


def test_single_mode_claim_settings(render: Render, of_kind: OfKind) -> None:
    values = {"single": {"persistence": {"storageClass": "fast", "size": "20Gi"}}}
    (claim,) = of_kind(render(values), "PersistentVolumeClaim")
    assert claim["spec"]["storageClassName"] == "fast"
    assert claim["spec"]["resources"]["requests"]["storage"] == "20Gi"
    assert claim["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
    existing = render({"single": {"persistence": {"existingClaim": "iw-state"}}})
    assert of_kind(existing, "PersistentVolumeClaim") == []
    (deployment,) = of_kind(existing, "Deployment")
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    assert volumes["data"]["persistentVolumeClaim"]["claimName"] == "iw-state"
    off = render({"single": {"persistence": {"enabled": False}}})
    assert of_kind(off, "PersistentVolumeClaim") == []


def test_distributed_runs_one_replicated_rolling_deployment_per_part(
    render: Render, of_kind: OfKind
) -> None:
    replicas = {"collector": 3, "drift": 2, "rules": 2, "actions": 4}
    values = _merged(DISTRIBUTED, {p: {"replicas": n} for p, n in replicas.items()})
    manifests = render(values, api_versions=OPERATOR)
    deployments = _by_name(manifests, "Deployment")
    assert set(deployments) == {f"rel-inferwatch-{p}" for p in PARTS}
    assert of_kind(manifests, "PersistentVolumeClaim") == []
    budgets = _by_name(manifests, "PodDisruptionBudget")
    assert set(budgets) == set(deployments)
    for part in PARTS:
        name = f"rel-inferwatch-{part}"
        spec = deployments[name]["spec"]
        assert spec["replicas"] == replicas[part]
        assert spec["strategy"] == {
            "type": "RollingUpdate",
            "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
        }
        selector = spec["selector"]["matchLabels"]
        assert selector["app.kubernetes.io/component"] == part
        pod = spec["template"]["spec"]
        (container,) = pod["containers"]
        assert container["args"] == [part, "serve"]
        env = _env(container)
        ref = env["INFERWATCH_DATABASE_URL"]["valueFrom"]["secretKeyRef"]
        assert ref == {"name": "inferwatch-db", "key": "url"}
        # readiness is /readyz, which answers 503 while the database does not
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        volumes = {v["name"]: v for v in pod["volumes"]}
        assert volumes["data"] == {"name": "data", "emptyDir": {}}
        spread = pod["topologySpreadConstraints"]
        assert {c["topologyKey"] for c in spread} == {
            "topology.kubernetes.io/zone",
            "kubernetes.io/hostname",
        }
        for constraint in spread:
            assert constraint["labelSelector"] == {"matchLabels": selector}
            assert constraint["whenUnsatisfiable"] == "ScheduleAnyway"
        budget = budgets[name]["spec"]
        assert budget == {"maxUnavailable": 1, "selector": {"matchLabels": selector}}
        assert pod["automountServiceAccountToken"] is (part == "actions")
    assert "PersistentVolumeClaim" not in {m["kind"] for m in manifests}


def test_distributed_knobs_and_toggles(render: Render, of_kind: OfKind) -> None:
    values = _merged(
        DISTRIBUTED,
        {
            "rules": {"enabled": False},
            "distributed": {
                "podDisruptionBudget": {"maxUnavailable": "50%"},
                "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 1},
                "topologySpreadConstraints": [
                    {
                        "maxSkew": 2,
                        "topologyKey": "kubernetes.io/hostname",
                        "whenUnsatisfiable": "DoNotSchedule",
                    }
                ],
            },
        },
    )
    manifests = render(values)
    assert set(_by_name(manifests, "Deployment")) == {
        f"rel-inferwatch-{p}" for p in PARTS if p != "rules"
    }
    for budget in of_kind(manifests, "PodDisruptionBudget"):
        assert budget["spec"]["maxUnavailable"] == "50%"
    for deployment in of_kind(manifests, "Deployment"):
        spec = deployment["spec"]
        assert spec["strategy"]["rollingUpdate"] == {"maxSurge": "25%", "maxUnavailable": 1}
        (spread,) = spec["template"]["spec"]["topologySpreadConstraints"]
        assert spread["whenUnsatisfiable"] == "DoNotSchedule"
        assert spread["labelSelector"]["matchLabels"] == spec["selector"]["matchLabels"]
    no_budget = _merged(DISTRIBUTED, {"distributed": {"podDisruptionBudget": {"enabled": False}}})
    assert of_kind(render(no_budget), "PodDisruptionBudget") == []
    no_spread = _merged(DISTRIBUTED, {"distributed": {"topologySpreadConstraints": []}})
    for deployment in of_kind(render(no_spread), "Deployment"):
        assert "topologySpreadConstraints" not in deployment["spec"]["template"]["spec"]


def test_links_and_bindings_follow_the_workload_of_each_part(
    render: Render, of_kind: OfKind
) -> None:
    extra = {
        "monitoring": {"alertmanagerConfig": {"enabled": True}},
        "actions": {"rbac": {"scaleNamespaces": ["serving"]}},
    }
    for values, host in ((extra, "server"), (_merged(DISTRIBUTED, extra), None)):
        manifests = render(values, api_versions=OPERATOR)
        (amc,) = of_kind(manifests, "AlertmanagerConfig")
        webhook = amc["spec"]["receivers"][0]["webhookConfigs"][0]["url"]
        assert webhook == (
            f"http://rel-inferwatch-{host or 'actions'}.monitoring.svc:8686/actions/alertmanager"
        )
        (binding,) = of_kind(manifests, "RoleBinding")
        assert binding["subjects"][0]["name"] == f"rel-inferwatch-{host or 'actions'}"
        assert f"rel-inferwatch-{host or 'actions'}" in _by_name(manifests, "ServiceAccount")
        (pod,) = of_kind(manifests, "Pod")
        urls = pod["spec"]["containers"][0]["command"][3:]
        parts = ("server",) if host else PARTS
        assert urls == [f"http://rel-inferwatch-{p}.monitoring.svc:8686" for p in parts]
        # report links of the shipped drift alerts point at whatever runs the drift engine
        reports = {
            entry["annotations"]["report_url"]
            for rule in of_kind(manifests, "PrometheusRule")
            for group in rule["spec"]["groups"]
            for entry in group["rules"]
            if "report_url" in entry.get("annotations", {})
        }
        assert reports
        drift = f"http://rel-inferwatch-{host or 'drift'}.monitoring.svc:8686/drift/models/"
        assert all(url.startswith(drift) for url in reports), reports


REFUSED = [
    pytest.param(
        {"collector": {"replicas": 2}},
        r"collector\.replicas=2, but mode=single.*set mode=distributed with "
        r"database\.existingSecret",
        id="replicas>1-in-single-mode",
    ),
    pytest.param(
        {"collector": {"replicas": 2}, "database": {"url": "sqlite:////var/lib/inferwatch/a.db"}},
        r"collector\.replicas=2, but mode=single.*set mode=distributed",
        id="replicas>1-on-a-sqlite-url",
    ),
    pytest.param(
        {"actions": {"replicas": 3}, "database": {"url": PG_URL}},
        r"actions\.replicas=3, but mode=single.*set mode=distributed",
        id="replicas>1-in-single-mode-even-on-postgresql",
    ),
    pytest.param(
        {"mode": "distributed"},
        r"mode=distributed keeps every part's state in PostgreSQL: set "
        r"database\.existingSecret",
        id="distributed-without-database",
    ),
    pytest.param(
        {"mode": "distributed", "collector": {"replicas": 2}},
        r"mode=distributed keeps every part's state in PostgreSQL: set "
        r"database\.existingSecret",
        id="replicas>1-without-postgresql",
    ),
    pytest.param(
        {"mode": "distributed", "database": {"url": "sqlite:////var/lib/inferwatch/a.db"}},
        r"database\.url=sqlite:////var/lib/inferwatch/a\.db is SQLite.*needs PostgreSQL\. "
        r"Set database\.existingSecret",
        id="sqlite-url-in-distributed-mode",
    ),
    pytest.param(
        {
            "mode": "distributed",
            "database": {"url": "sqlite:///x.db", "existingSecret": "inferwatch-db"},
        },
        r"is SQLite.*needs PostgreSQL",
        id="sqlite-url-beside-a-secret-in-distributed-mode",
    ),
    pytest.param(
        {"mode": "distributed", "database": {"url": PG_URL}},
        r"mode=distributed reads the PostgreSQL URL from a Secret.*set database\.existingSecret",
        id="plain-postgresql-url-in-distributed-mode",
    ),
    pytest.param(
        _merged(DISTRIBUTED, {"drift": {"windows": "prometheus"}}),
        r"drift\.windows=prometheus reads the recorders' series: set prometheus\.url",
        id="histogram-path-without-prometheus",
    ),
    pytest.param(
        {"collector": {"persistence": {"enabled": False}}},
        r"collector\.persistence was removed in chart 0\.2\.0.*set single\.persistence",
        id="0.1-per-part-persistence",
    ),
]
# What one value alone gets wrong, the schema says (and `helm lint` reports it too).
REFUSED_BY_SCHEMA = [
    pytest.param({"mode": "multi"}, r"/mode.*'single', 'distributed'", id="unknown-mode"),
    pytest.param({"drift": {"windows": "pods"}}, r"/drift/windows", id="unknown-window-source"),
    pytest.param(
        {"database": {"url": "mysql://db/inferwatch"}}, r"/database/url", id="unknown-url-scheme"
    ),
    pytest.param(
        _merged(DISTRIBUTED, {"distributed": {"podDisruptionBudget": {"maxUnavailable": 0}}}),
        r"/distributed/podDisruptionBudget/maxUnavailable",
        id="budget-that-blocks-drains",
    ),
]


@pytest.mark.parametrize(("values", "message"), REFUSED)
def test_refused_combinations_fail_saying_what_to_set(
    render: Render, values: dict[str, Any], message: str
) -> None:
    """Combinations of values: `fail` in the templates (helm template/install/upgrade)."""
    with pytest.raises(helm_python.HelmError, match=message):
        render(values)


@pytest.mark.parametrize(("values", "message"), REFUSED_BY_SCHEMA)
def test_bad_single_values_fail_the_schema_naming_the_key(
    render: Render, values: dict[str, Any], message: str
) -> None:
    with pytest.raises(helm_python.HelmError, match=message):
        render(values)
    report = helm_python.lint(CHART, values, strict=True, kube_version="v1.31.0")
    assert report["errors"], values


def test_what_was_refused_renders_once_set_as_the_message_says(render: Render) -> None:
    """The fix each message names is enough: the refusals are not blanket."""
    assert render(_merged(DISTRIBUTED, {"collector": {"replicas": 2}}))
    assert render({"collector": {"replicas": 1}, "database": {"url": PG_URL}})
    assert render({"single": {"persistence": {"enabled": False}}})
