"""Policy files and receiver settings: validation that names the problem, secrets kept secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from inferwatch.alerts.actions._policy import check_secrets, load_policy, parse_policy
from inferwatch.errors import ConfigError
from inferwatch.settings import load_settings

FULL = """
version: 1
max_actions_per_hour: 5
actions:
  retrain: {target: gh, cooldown_seconds: 3600}
  scale: {target: k8s, cooldown_seconds: 600, models: [fraud]}
targets:
  gh: {type: github_workflow_dispatch, repository: acme/models, workflow: r.yml, token_env: GH}
  k8s: {type: kubernetes_scale, namespace: serving, min_replicas: 2, max_replicas: 6}
  hook: {type: webhook, url: "https://ml.example/hook", secret_file: SECRET_FILE}
  gl: {type: gitlab_trigger, project: "42", token_file: SECRET_FILE}
"""


def test_full_policy_loads_and_resolves_rules(tmp_path: Path) -> None:
    policy = parse_policy(FULL)
    assert policy.rule_for("retrain", "anything") is not None
    assert policy.rule_for("scale", "fraud") is not None
    assert policy.rule_for("scale", "churn") is None  # not in models
    assert policy.rule_for("none", "fraud") is None
    assert policy.targets["k8s"].type == "kubernetes_scale"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        pytest.param("actions: {retrain: {target: x}}", "'x', which is not defined", id="target"),
        pytest.param("version: 2", "version", id="version"),
        pytest.param("targets: {t: {type: ftp}}", "targets.t", id="type"),
        pytest.param(
            "targets: {k: {type: kubernetes_scale, namespace: n, min_replicas: 5,"
            " max_replicas: 2}}",
            "min_replicas must not exceed",
            id="bounds",
        ),
        pytest.param("bogus: 1", "bogus", id="unknown-key"),
        pytest.param("actions: [", "not valid YAML", id="yaml"),
        pytest.param(
            "targets: {w: {type: webhook, url: 'ftp://x'}}", "targets.w.webhook.url", id="url"
        ),
    ],
)
def test_bad_policies_name_the_problem(text: str, says: str) -> None:
    with pytest.raises(ConfigError, match=r"invalid policy|not valid YAML") as caught:
        parse_policy(text)
    assert says in str(caught.value)


def test_secrets_come_from_env_or_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = tmp_path / "secret"
    secret.write_text("file-secret\n")
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text(FULL.replace("SECRET_FILE", str(secret)))
    policy = load_policy(policy_file)
    with pytest.raises(ConfigError, match="environment variable GH is not set"):
        check_secrets(policy)
    monkeypatch.setenv("GH", "env-secret")
    check_secrets(policy)
    token = policy.targets["gl"].token_ref().resolve("gl")  # type: ignore[union-attr]
    assert token.get_secret_value() == "file-secret"
    assert "file-secret" not in repr(token)


def test_missing_policy_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read policy file"):
        load_policy(tmp_path / "nope.yaml")


def test_receiver_secrets_from_files_never_shown(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("am-token-from-file\n")
    settings = load_settings(
        data_dir=tmp_path,
        alerts={"actions": {"bearer_token_file": str(token), "hmac_secret": "h"}},
    )
    actions = settings.alerts.actions
    assert actions.bearer_token is not None
    assert actions.bearer_token.get_secret_value() == "am-token-from-file"
    assert "am-token-from-file" not in repr(settings)


@pytest.mark.parametrize(
    ("actions", "says"),
    [
        pytest.param({"bearer_token": "a", "bearer_token_file": "/x"}, "not both", id="both"),
        pytest.param({"bearer_token": "  "}, "set but empty", id="empty"),
        pytest.param({"bearer_token_file": "/nonexistent/t"}, "cannot read", id="unreadable"),
        pytest.param({"basic_auth_username": "am"}, "go together", id="half-basic"),
        pytest.param({"workers": 0}, "workers", id="workers"),
    ],
)
def test_bad_receiver_settings_are_refused(
    tmp_path: Path, actions: dict[str, object], says: str
) -> None:
    with pytest.raises(ConfigError, match=says):
        load_settings(data_dir=tmp_path, alerts={"actions": actions})
