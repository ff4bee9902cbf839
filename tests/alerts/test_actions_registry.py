"""Action targets come from a registry keyed by the policy's ``type``."""

from __future__ import annotations

import subprocess
import sys
from typing import Any, get_args

import pytest
from pydantic import SecretStr

from inferwatch.alerts.actions._ci import SignedWebhook
from inferwatch.alerts.actions._policy import TargetConfig, WebhookTarget
from inferwatch.alerts.actions.targets import (
    ActionRequest,
    ActionResult,
    Target,
    build_target,
    register_target,
    target_types,
)
from inferwatch.errors import ConfigError


def test_every_target_type_of_the_policy_has_a_builder() -> None:
    union = get_args(get_args(TargetConfig)[0])
    policy_types = {get_args(model.model_fields["type"].annotation)[0] for model in union}
    assert policy_types <= set(target_types())


def test_a_policy_entry_builds_its_registered_target(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOK_SECRET", "whsec")
    config = WebhookTarget(type="webhook", url="https://ml.example/hook", secret_env="HOOK_SECRET")
    target = build_target(config, 2.0)
    assert isinstance(target, SignedWebhook) and target._secret == SecretStr("whsec")


def test_the_kubernetes_client_loads_only_for_a_kubernetes_target() -> None:
    script = (
        "import sys\n"
        "from inferwatch.alerts.actions._policy import parse_policy\n"
        "from inferwatch.alerts.actions._worker import build_targets\n"
        "policy = parse_policy('targets: {h: {type: webhook, url: \"https://x/h\"}}')\n"
        "build_targets(policy, 1.0)\n"
        "assert 'kubernetes' not in sys.modules, 'kubernetes imported for a webhook'\n"
        'policy = parse_policy(\'targets: {k: {type: kubernetes_scale, api_url: "http://k",'
        " namespace: n, max_replicas: 2}}')\n"
        "build_targets(policy, 1.0)\n"
        "assert 'kubernetes' in sys.modules\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], check=False, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr


def test_a_new_target_is_one_registration(monkeypatch: pytest.MonkeyPatch) -> None:
    class Echo:
        def __init__(self, config: Any, timeout: float) -> None:
            self.timeout = timeout

        def execute(self, request: ActionRequest) -> ActionResult:
            return ActionResult(f"echo {request.model}")

    def echo(config: Any, timeout: float) -> Target:
        return Echo(config, timeout)

    monkeypatch.setattr("inferwatch.alerts.actions.targets._BUILDERS", {"echo": echo})
    register_target("echo", echo)

    class Config:
        type = "echo"

    target = build_target(Config(), 3.0)
    assert target.execute(ActionRequest("fraud", "retrain", "k")).detail == "echo fraud"
    with pytest.raises(ConfigError, match=r"no action target of type 'ftp'; known: echo"):
        Config.type = "ftp"
        build_target(Config(), 3.0)
