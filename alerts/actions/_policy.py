"""The actions policy: which ``action`` label runs which target, and the limits around it.

A YAML file (``alerts.actions.policy_file``)::

    version: 1
    dry_run: false              # decide and audit, call nothing
    max_actions_per_hour: 20    # over all models and actions
    ignore_repeats: true        # drop notifications the sender marks as repeats
    actions:
      retrain: {target: retrain-ci, cooldown_seconds: 3600}
      scale:   {target: scale-up, cooldown_seconds: 600}
    targets:
      retrain-ci:
        type: github_workflow_dispatch
        repository: acme/models
        workflow: retrain.yml
        token_env: GITHUB_TOKEN
      scale-up:
        type: kubernetes_scale
        namespace: serving
        deployment: "{model}-server"
        min_replicas: 2
        max_replicas: 10

Secrets are named, never written: ``token_env``/``token_file`` (and
``secret_env``/``secret_file``) are resolved when the policy loads.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator

from inferwatch.errors import ConfigError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SecretRef(_Strict):
    """Where a target's secret comes from: an environment variable or a file."""

    env: str | None = None
    file: Path | None = None

    def resolve(self, what: str) -> SecretStr:
        """Read the secret now; a missing one is a ``ConfigError`` naming where it looked."""
        if self.env:
            value = os.environ.get(self.env)
            if not value:
                raise ConfigError(f"{what}: environment variable {self.env} is not set")
            return SecretStr(value.strip())
        if self.file:
            try:
                return SecretStr(self.file.read_text().strip())
            except OSError as exc:
                raise ConfigError(f"{what}: cannot read {self.file}: {exc.strerror}") from exc
        raise ConfigError(f"{what}: give token_env or token_file")


class _SecretTarget(_Strict):
    token_env: str | None = Field(default=None, description="Env variable holding the token.")
    token_file: Path | None = Field(default=None, description="File holding the token.")

    def token_ref(self) -> SecretRef:
        """Where this target's token is read from."""
        return SecretRef(env=self.token_env, file=self.token_file)

    def secret_refs(self) -> list[SecretRef]:
        """Every secret this target reads when it is built (the token)."""
        return [self.token_ref()]


class GitHubWorkflowTarget(_SecretTarget):
    """``POST /repos/{repository}/actions/workflows/{workflow}/dispatches``."""

    type: Literal["github_workflow_dispatch"]
    api_url: str = "https://api.github.com"
    repository: str = Field(pattern=r"^[\w.-]+/[\w.-]+$")
    workflow: str = Field(min_length=1, description="Workflow file name or id.")
    ref: str = "main"
    inputs: tuple[str, ...] = Field(
        default=("model", "idempotency_key", "report_url"),
        description="Which fields to pass as workflow inputs (the workflow must declare them).",
    )


class GitHubRepositoryDispatchTarget(_SecretTarget):
    """``POST /repos/{repository}/dispatches`` with the versioned payload as client_payload."""

    type: Literal["github_repository_dispatch"]
    api_url: str = "https://api.github.com"
    repository: str = Field(pattern=r"^[\w.-]+/[\w.-]+$")
    event_type: str = "inferwatch-retrain"


class GitLabTriggerTarget(_SecretTarget):
    """``POST /projects/{project}/trigger/pipeline`` with a pipeline trigger token."""

    type: Literal["gitlab_trigger"]
    api_url: str = "https://gitlab.com/api/v4"
    project: str = Field(min_length=1, description="Project id or URL-encoded path.")
    ref: str = "main"


class WebhookTarget(_Strict):
    """A generic HTTP endpoint receiving the versioned JSON payload, HMAC-signed."""

    type: Literal["webhook"]
    url: str = Field(pattern=r"^https?://")
    secret_env: str | None = None
    secret_file: Path | None = None

    def secret_ref(self) -> SecretRef | None:
        """Where the HMAC secret is read from, or None for an unsigned webhook."""
        if self.secret_env is None and self.secret_file is None:
            return None
        return SecretRef(env=self.secret_env, file=self.secret_file)

    def secret_refs(self) -> list[SecretRef]:
        """The HMAC secret, when the webhook is signed."""
        ref = self.secret_ref()
        return [] if ref is None else [ref]


class KubernetesScaleTarget(_SecretTarget):
    """Raise an HPA's minReplicas, or a Deployment's replicas when no HPA targets it."""

    type: Literal["kubernetes_scale"]
    api_url: str | None = Field(
        default=None, description="API server URL; default: in-cluster or kubeconfig."
    )
    verify_ssl: bool = True
    namespace: str = Field(min_length=1)
    deployment: str = Field(
        default="{model}", description="Deployment name; `{model}` is the alert's model label."
    )
    step: int = Field(default=1, ge=1, description="Replicas added per action.")
    min_replicas: int = Field(default=1, ge=0)
    max_replicas: int = Field(ge=1)

    def secret_refs(self) -> list[SecretRef]:
        """The token, when one is named (otherwise in-cluster or kubeconfig credentials)."""
        return [self.token_ref()] if self.token_env or self.token_file else []

    @model_validator(mode="after")
    def _bounds(self) -> KubernetesScaleTarget:
        if self.min_replicas > self.max_replicas:
            raise ValueError("min_replicas must not exceed max_replicas")
        return self


TargetConfig = Annotated[
    GitHubWorkflowTarget
    | GitHubRepositoryDispatchTarget
    | GitLabTriggerTarget
    | WebhookTarget
    | KubernetesScaleTarget,
    Field(discriminator="type"),
]


class ActionRule(_Strict):
    """What one ``action`` label value does."""

    target: str
    cooldown_seconds: float = Field(
        default=3600, ge=0, description="No second action for the same model within this time."
    )
    models: tuple[str, ...] | None = Field(
        default=None, description="Only these models (default: any)."
    )


class Policy(_Strict):
    """The whole policy file."""

    version: Literal[1] = 1
    dry_run: bool = False
    max_actions_per_hour: int = Field(default=20, ge=0)
    ignore_repeats: bool = True
    actions: dict[str, ActionRule] = Field(default_factory=dict)
    targets: dict[str, TargetConfig] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _targets_exist(self) -> Policy:
        for action, rule in self.actions.items():
            if rule.target not in self.targets:
                known = ", ".join(sorted(self.targets)) or "none"
                raise ValueError(
                    f"action {action!r} names target {rule.target!r}, which is not defined "
                    f"(targets: {known})"
                )
        if "none" in self.actions:
            raise ValueError("action 'none' means no action; it cannot have a rule")
        return self

    def rule_for(self, action: str, model: str) -> ActionRule | None:
        """The rule that applies, or None when this action/model is not handled."""
        rule = self.actions.get(action)
        if rule is None or (rule.models is not None and model not in rule.models):
            return None
        return rule


EMPTY_POLICY = Policy()


def parse_policy(text: str, source: str = "policy") -> Policy:
    """Validate policy YAML text, one readable ``ConfigError`` for every problem."""
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: not valid YAML: {exc}") from exc
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        lines = [f"{source}: invalid policy:"]
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"]) or "policy"
            lines.append(f"  {where}: {err['msg']}")
        raise ConfigError("\n".join(lines)) from exc


def load_policy(path: Path | None) -> Policy:
    """The policy at ``path`` (an empty one, which ignores every alert, when None)."""
    if path is None:
        return EMPTY_POLICY
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read policy file {path}: {exc.strerror}") from exc
    return parse_policy(text, str(path))


def check_secrets(policy: Policy) -> None:
    """Read every secret the policy names; ``ConfigError`` for the first one missing."""
    for name, target in policy.targets.items():
        for ref in target.secret_refs():
            ref.resolve(f"target {name}")
