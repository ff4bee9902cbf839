"""What the chart hands each container (env + the settings ConfigMap) is accepted by inferwatch.

The rendered environment and config file are fed to the real ``load_settings``, so a
renamed setting or an unsafe combination (public bind without a token) fails here, not
in a cluster. Secret and Downward API references are replaced by plausible values.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from inferwatch.alerts.actions._policy import check_secrets, parse_policy
from inferwatch.parts import enabled_parts
from inferwatch.settings import load_settings

Manifest = dict[str, Any]
OPERATOR = ("monitoring.coreos.com/v1", "monitoring.coreos.com/v1alpha1")
PARTS = ("collector", "drift", "rules", "actions")
SECRET_STAND_INS = {
    "INFERWATCH_SERVER__API_TOKEN": "a-token-from-the-secret",
    "INFERWATCH_DATABASE_URL": "postgresql+psycopg://inferwatch:pw@db.example:5432/inferwatch",
}


def _containers(manifests: list[Manifest]) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for manifest in manifests:
        if manifest["kind"] in {"Deployment", "DaemonSet"}:
            for container in manifest["spec"]["template"]["spec"]["containers"]:
                found.append((manifest["metadata"]["name"], container))
    return found


def _environment(container: dict[str, Any]) -> dict[str, str]:
    env = {}
    for item in container["env"]:
        if "value" in item:
            env[item["name"]] = str(item["value"])
        elif "secretKeyRef" in item["valueFrom"]:
            env[item["name"]] = SECRET_STAND_INS.get(item["name"], "a-value-from-a-secret")
        else:
            env[item["name"]] = "from-the-downward-api"
    return env


@pytest.mark.parametrize("matrix_name", ["default", "minimal", "gpu", "production", "public"])
def test_rendered_settings_load_in_every_container(
    render: Callable[..., list[Manifest]],
    ci_values: dict[str, dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    matrix_name: str,
) -> None:
    values = ci_values[matrix_name]
    manifests = render(values, api_versions=OPERATOR)
    (config_map,) = [m for m in manifests if m["metadata"]["name"] == "rel-inferwatch-config"]
    config_file = tmp_path / "config.yaml"
    config_file.write_text(config_map["data"]["config.yaml"])
    containers = _containers(manifests)
    assert containers
    for name, container in containers:
        env = _environment(container)
        mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
        assert Path(env["INFERWATCH_CONFIG"]).parent.as_posix() in mounts, name
        assert env["INFERWATCH_DATA_DIR"] in mounts, name
        with monkeypatch.context() as patch:
            for key, value in env.items():
                patch.setenv(key, value)
            patch.setenv("INFERWATCH_CONFIG", str(config_file))
            settings = load_settings()
            policy_file = settings.alerts.actions.policy_file
            if policy_file is not None:
                assert policy_file.parent.as_posix() in mounts, name
                policy = parse_policy(config_map["data"][policy_file.name], policy_file.name)
                check_secrets(policy)  # every token_env it names is in the container's env
                assert policy.actions, name
        assert settings.server.host == "0.0.0.0", name
        assert settings.server.port == container["ports"][0]["containerPort"], name
        assert settings.data_dir == Path("/var/lib/inferwatch"), name
        public = bool(values.get("auth", {}).get("allowPublicWithoutToken"))
        assert settings.server.allow_public_without_token is public, name
        assert (settings.server.api_token is None) is public, name
        prometheus = values.get("prometheus", {}).get("url") or None
        runs = {name.rsplit("-", 1)[1]}
        if name.endswith("-server"):
            # mode single: `inferwatch up` runs exactly the enabled parts, no GPU exporter
            wanted = [p for p in PARTS if values.get(p, {}).get("enabled", True)]
            assert enabled_parts(settings) == wanted, name
            assert container["args"] == ["up"], name
            runs = set(wanted)
        if "rules" in runs:
            assert settings.alerts.rules.query_url == prometheus
            # rendered with the operator's API: Prometheus evaluates the shipped rules
            assert settings.alerts.rules.include_default_rules is False
        if "actions" in runs:
            dry_run = bool(values.get("actions", {}).get("dryRun"))
            assert settings.alerts.actions.dry_run is dry_run
            has_policy = bool(values.get("actions", {}).get("policy"))
            assert (settings.alerts.actions.policy_file is not None) is has_policy
        if "drift" in runs:
            # windows come from the database (in process on the server) unless the values
            # pick the histogram path for the drift Deployment
            histogram = values.get("drift", {}).get("windows") == "prometheus"
            from_prometheus = histogram and not name.endswith("-server")
            assert settings.drift.prometheus_url == (prometheus if from_prometheus else None)
        if name.endswith("-gpu-exporter"):
            socket = values["exporter"]["daemonset"].get("podResources", {}).get("enabled")
            assert settings.exporters.gpu.pod_labels == ("kubelet" if socket else "none")
            assert settings.exporters.gpu.kubelet_socket.parent.as_posix() in mounts or not socket


def test_the_config_value_reaches_the_settings_file(
    render: Callable[..., list[Manifest]], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    manifests = render(
        {"config": {"log_level": "DEBUG", "log_format": "text"}, "auth": {"token": "t"}}
    )
    (config_map,) = [m for m in manifests if m["metadata"]["name"] == "rel-inferwatch-config"]
    config_file = tmp_path / "config.yaml"
    config_file.write_text(config_map["data"]["config.yaml"])
    settings = load_settings(config_file)
    assert settings.log_level == "DEBUG"
    assert settings.log_format == "text"
