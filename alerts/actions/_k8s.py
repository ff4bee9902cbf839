"""Kubernetes scaling through the official ``kubernetes`` client, without fighting autoscalers.

If an HPA targets the Deployment, the action raises the HPA's ``minReplicas``
(the HPA then scales up itself and stays in charge); otherwise it patches the
Deployment's ``scale`` subresource. An HPA that KEDA manages (a ``ScaledObject``
owner or KEDA's labels) is left alone: the action is refused and audited. The
new count is bounded by the policy's ``min_replicas``/``max_replicas`` and, for
an HPA, by its own ``maxReplicas``. Which API answers are worth another attempt is
``inferwatch.http_client``'s rule (429 and 5xx, honouring ``Retry-After``); the
kubernetes client's own retries are off, the outbox retries.
"""

from __future__ import annotations

from typing import Any

from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException
from pydantic import SecretStr
from urllib3.exceptions import HTTPError as Urllib3Error

from inferwatch.alerts.actions._policy import KubernetesScaleTarget
from inferwatch.alerts.actions.targets import (
    ActionRequest,
    ActionResult,
    Target,
    TargetError,
    TargetRefusedError,
    workload,
)
from inferwatch.http_client import retry_after_seconds, retryable_status

MERGE_PATCH = "application/merge-patch+json"
KEDA_LABELS = ("scaledobject.keda.sh/name",)


def api_client(config: KubernetesScaleTarget, token: SecretStr | None) -> k8s.ApiClient:
    """A client for ``config.api_url`` (with the bearer token), else in-cluster or kubeconfig."""
    if config.api_url is None:
        configuration = k8s.Configuration()
        try:
            k8s_config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
        except k8s_config.ConfigException:
            k8s_config.load_kube_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
    else:
        configuration = k8s.Configuration(host=config.api_url.rstrip("/"))
        configuration.verify_ssl = config.verify_ssl
    if token is not None:
        configuration.api_key = {"BearerToken": token.get_secret_value()}
        configuration.api_key_prefix = {"BearerToken": "Bearer"}
    configuration.retries = 0
    return k8s.ApiClient(configuration)


def keda_owned(hpa: Any) -> bool:
    """True when KEDA created and manages this HPA."""
    meta = hpa.metadata
    labels = (meta.labels or {}) if meta else {}
    if any(key in labels for key in KEDA_LABELS):
        return True
    if labels.get("app.kubernetes.io/managed-by") == "keda-operator":
        return True
    owners = (meta.owner_references or []) if meta else []
    return any(
        o.kind == "ScaledObject" and str(o.api_version).startswith("keda.sh/") for o in owners
    )


class KubernetesScale:
    """The ``kubernetes_scale`` target."""

    def __init__(
        self, config: KubernetesScaleTarget, api: k8s.ApiClient, *, timeout: float
    ) -> None:
        self.config = config
        self._autoscaling = k8s.AutoscalingV2Api(api)
        self._apps = k8s.AppsV1Api(api)
        self._timeout = timeout

    def execute(self, request: ActionRequest) -> ActionResult:
        """Scale the model's Deployment up by one step, within bounds."""
        name = self._deployment(request)
        try:
            hpa = self._hpa_for(name)
            if hpa is not None:
                return self._raise_hpa_min(hpa, name)
            return self._scale_deployment(name)
        except ApiException as exc:
            status = int(exc.status or 0)
            headers = exc.headers or {}
            raise TargetError(
                f"kubernetes API answered {status} {exc.reason or ''} for deployment "
                f"{self.config.namespace}/{name}",
                retryable=status == 0 or retryable_status(status),  # 0: no answer
                retry_after=retry_after_seconds(headers.get("Retry-After")),
            ) from exc
        except Urllib3Error as exc:
            raise TargetError(
                f"kubernetes API unreachable: {type(exc).__name__}", retryable=True
            ) from exc

    def _deployment(self, request: ActionRequest) -> str:
        """The policy's ``deployment`` template for a model's alert; for an alert without a
        model (GPU, engine), the workload its labels name, in the target's namespace only."""
        labels = request.alert.get("labels") or {}
        if labels.get("model"):
            return self.config.deployment.format(model=request.model)
        name = workload(labels)
        if not name:
            raise TargetRefusedError("alert names no model, deployment or Deployment pod")
        namespace = labels.get("namespace")
        if namespace and namespace != self.config.namespace:
            raise TargetRefusedError(
                f"alert is about {namespace}/{name}; this target scales in "
                f"namespace {self.config.namespace} only"
            )
        return name

    def _hpa_for(self, deployment: str) -> Any:
        hpas = self._autoscaling.list_namespaced_horizontal_pod_autoscaler(
            self.config.namespace, _request_timeout=self._timeout
        )
        for hpa in hpas.items or []:
            ref = hpa.spec.scale_target_ref
            if ref.kind == "Deployment" and ref.name == deployment:
                return hpa
        return None

    def _bounded(self, wanted: int, ceiling: int | None = None) -> int:
        top = (
            self.config.max_replicas if ceiling is None else min(self.config.max_replicas, ceiling)
        )
        return max(self.config.min_replicas, min(wanted, top))

    def _raise_hpa_min(self, hpa: Any, deployment: str) -> ActionResult:
        hpa_name = hpa.metadata.name
        if keda_owned(hpa):
            raise TargetRefusedError(
                f"HPA {self.config.namespace}/{hpa_name} is managed by KEDA; not touching it"
            )
        current = hpa.spec.min_replicas if hpa.spec.min_replicas is not None else 1
        new = self._bounded(current + self.config.step, hpa.spec.max_replicas)
        if new <= current:
            return ActionResult(
                f"HPA {hpa_name} minReplicas already {current} (bound {new}); nothing to do"
            )
        self._autoscaling.patch_namespaced_horizontal_pod_autoscaler(
            hpa_name,
            self.config.namespace,
            {"spec": {"minReplicas": new}},
            _content_type=MERGE_PATCH,
            _request_timeout=self._timeout,
        )
        return ActionResult(
            f"HPA {hpa_name} (deployment {deployment}) minReplicas {current} -> {new}"
        )

    def _scale_deployment(self, name: str) -> ActionResult:
        scale = self._apps.read_namespaced_deployment_scale(
            name, self.config.namespace, _request_timeout=self._timeout
        )
        current = (scale.spec.replicas if scale.spec else None) or 0
        new = self._bounded(current + self.config.step)
        if new <= current:
            return ActionResult(f"deployment {name} already at {current} replicas (bound {new})")
        self._apps.patch_namespaced_deployment_scale(
            name,
            self.config.namespace,
            {"spec": {"replicas": new}},
            _content_type=MERGE_PATCH,
            _request_timeout=self._timeout,
        )
        return ActionResult(f"deployment {name} replicas {current} -> {new}")


def kubernetes_scale(config: KubernetesScaleTarget, timeout: float) -> Target:
    """The ``kubernetes_scale`` target of a policy entry (its token read now, if it names one)."""
    has_token = config.token_env is not None or config.token_file is not None
    token = config.token_ref().resolve("kubernetes") if has_token else None
    return KubernetesScale(config, api_client(config, token), timeout=timeout)
