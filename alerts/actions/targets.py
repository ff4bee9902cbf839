"""What an action target is, the request it gets, and how targets fail.

Errors of the actions receiver::

    InferwatchError
    └── ActionsError
        ├── TargetError          a call failed; ``retryable`` for 5xx, 429, network errors
        └── TargetRefusedError   the target will not act (KEDA owns the HPA): audited

Every target gets the same ``ActionRequest`` for every delivery of an episode,
including its ``idempotency_key``, so a receiver can drop the rare duplicate a
crash between "request sent" and "answer recorded" can cause.

Targets are chosen from a registry keyed by the policy's ``type``: each names the
builder ``"module:function"`` that turns the policy entry into a ``Target``, imported
only when a policy uses it (the ``kubernetes`` client loads for a ``kubernetes_scale``
target only). A new target is its module, its config model in ``actions._policy``, and
one ``register_target`` line.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

from inferwatch.errors import ConfigError, InferwatchError

PAYLOAD_VERSION = "1"
# A Deployment's pod is <deployment>-<pod-template-hash>-<5 chars>; the hash is 6 to 10
# characters of Kubernetes' safe alphabet (no vowels, no 0/1/3).
_DEPLOYMENT_POD = re.compile(
    r"^(?P<name>[a-z0-9][-a-z0-9]*?)-[bcdfghjklmnpqrstvwxz2456789]{6,10}-[bcdfghjklmnpqrstvwxz2456789]{5}$"
)


def workload(labels: Mapping[str, str]) -> str:
    """The Deployment an alert without a ``model`` label is about, or ''.

    From its ``deployment`` label, else from a ``pod`` label shaped like a Deployment's
    pod name (GPU and engine alerts carry the pod they were measured on).

    Example:
        >>> workload({"pod": "llama-7d9c6b5f4-x2x4z"}), workload({"deployment": "llama"})
        ('llama', 'llama')
        >>> workload({"pod": "node-exporter"})
        ''
    """
    if labels.get("deployment"):
        return labels["deployment"]
    match = _DEPLOYMENT_POD.match(labels.get("pod", ""))
    return match.group("name") if match else ""


class ActionsError(InferwatchError):
    """Base of the actions receiver's errors."""


class TargetError(ActionsError):
    """A target call failed; the message never holds a secret."""

    def __init__(self, message: str, *, retryable: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after
        """Seconds the target asked us to wait (``Retry-After``), if it said."""


class TargetRefusedError(ActionsError):
    """The target declines to act (the action is skipped and audited as ``ignored``)."""


@dataclass(frozen=True)
class ActionRequest:
    """One action to perform, as stored in the outbox."""

    model: str
    action: str
    idempotency_key: str
    alert: Mapping[str, Any] = field(default_factory=dict)
    """The alert as Alertmanager sent it (labels, annotations, startsAt, fingerprint)."""
    context: Mapping[str, Any] = field(default_factory=dict)
    """Facts looked up when the alert was accepted (``{"drift": ...}``: features, verdict)."""

    @property
    def report_url(self) -> str:
        """The drift report linked from the alert, or ''."""
        annotations = self.alert.get("annotations") or {}
        return str(annotations.get("report_url", ""))

    def drift_summary(self) -> dict[str, Any]:
        """What the alert says about the drift, plus the drift engine's result when known."""
        annotations = self.alert.get("annotations") or {}
        labels = self.alert.get("labels") or {}
        return {
            "alertname": labels.get("alertname", ""),
            "severity": labels.get("severity", ""),
            "summary": annotations.get("summary", ""),
            "description": annotations.get("description", ""),
            "labels": dict(labels),
            **dict(self.context.get("drift") or {}),
        }

    def payload(self) -> dict[str, Any]:
        """The versioned JSON body webhook and repository-dispatch targets receive."""
        return {
            "version": PAYLOAD_VERSION,
            "model": self.model,
            "action": self.action,
            "alert": dict(self.alert),
            "drift": self.drift_summary(),
            "report_url": self.report_url,
            "idempotency_key": self.idempotency_key,
        }


@dataclass(frozen=True)
class ActionResult:
    """What a target did, in one line for the audit log."""

    detail: str


class Target(Protocol):
    """Something that performs an action; raises ``TargetError`` or ``TargetRefusedError``."""

    def execute(self, request: ActionRequest) -> ActionResult:
        """Perform the action once."""
        ...


TargetBuilder = Callable[[Any, float], Target]
"""Builds a target from its policy entry and the request timeout (seconds); reads its
secrets now (``ConfigError`` when one is missing)."""

_BUILDERS: dict[str, str | TargetBuilder] = {
    "github_workflow_dispatch": "inferwatch.alerts.actions._ci:github_workflow_dispatch",
    "github_repository_dispatch": "inferwatch.alerts.actions._ci:github_repository_dispatch",
    "gitlab_trigger": "inferwatch.alerts.actions._ci:gitlab_trigger",
    "webhook": "inferwatch.alerts.actions._ci:signed_webhook",
    "kubernetes_scale": "inferwatch.alerts.actions._k8s:kubernetes_scale",
}


def register_target(type_name: str, builder: str | TargetBuilder) -> None:
    """Make policy entries of ``type: type_name`` build with ``builder``
    (a callable, or ``"module:function"`` imported on first use)."""
    _BUILDERS[type_name] = builder


def target_types() -> tuple[str, ...]:
    """The registered ``type`` names, sorted."""
    return tuple(sorted(_BUILDERS))


def build_target(config: Any, timeout: float) -> Target:
    """The target for one policy entry (anything with a registered ``type``)."""
    type_name = str(getattr(config, "type", ""))
    builder = _BUILDERS.get(type_name)
    if builder is None:
        raise ConfigError(
            f"no action target of type {type_name!r}; known: {', '.join(target_types())}"
        )
    if isinstance(builder, str):
        module, _, name = builder.partition(":")
        builder = cast(TargetBuilder, getattr(importlib.import_module(module), name))
        _BUILDERS[type_name] = builder
    return builder(config, timeout)
