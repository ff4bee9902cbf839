"""CI and webhook targets: GitHub Actions, GitLab pipeline triggers, a signed HTTP webhook.

All go through ``inferwatch.http_client``: a timeout, 5xx, 429 and network errors
retryable and other 4xx final, and never a token or a URL's credentials in an error.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

import httpx
from pydantic import SecretStr

from inferwatch.alerts.actions._policy import (
    GitHubRepositoryDispatchTarget,
    GitHubWorkflowTarget,
    GitLabTriggerTarget,
    WebhookTarget,
)
from inferwatch.alerts.actions._signature import SIGNATURE_HEADER, sign
from inferwatch.alerts.actions.targets import ActionRequest, ActionResult, Target, TargetError
from inferwatch.http_client import Call, HttpCallError, HttpClient, auth_for
from inferwatch.httputil import redact_url

__all__ = [
    "GitHubRepositoryDispatch",
    "GitHubWorkflowDispatch",
    "GitLabPipelineTrigger",
    "SignedWebhook",
    "github_repository_dispatch",
    "github_workflow_dispatch",
    "gitlab_trigger",
    "signed_webhook",
]
GITHUB_API_VERSION = "2022-11-28"


class _HttpTarget:
    """Posts one request through the house HTTP helper and turns its failure into a
    ``TargetError``.

    Every action carries an idempotency key the receiver can deduplicate by, so a
    delivery is an idempotent write; the outbox, not this process, waits and retries
    (one attempt here), honouring the ``Retry-After`` a 429 or 503 asked for.
    """

    def __init__(self, *, timeout: float, transport: httpx.BaseTransport | None = None) -> None:
        self._timeout = timeout
        self._transport = transport

    def _post(
        self,
        url: str,
        *,
        content: bytes | None = None,
        data: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
        bearer: SecretStr | None = None,
    ) -> httpx.Response:
        auth = auth_for(bearer_token=bearer.get_secret_value() if bearer is not None else None)
        try:
            with HttpClient(timeout=self._timeout, auth=auth, transport=self._transport) as http:
                return http.request(
                    "POST",
                    url,
                    call=Call.IDEMPOTENT_WRITE,
                    idempotency_key=idempotency_key,
                    content=content,
                    data=data,
                    headers=headers,
                )
        except HttpCallError as exc:
            raise TargetError(
                str(exc), retryable=exc.retryable, retry_after=exc.retry_after
            ) from exc


_Config = TypeVar("_Config")


class _TokenTarget(_HttpTarget, Generic[_Config]):
    """A CI target: its policy entry and the token resolved from its secret."""

    def __init__(self, config: _Config, token: SecretStr, *, timeout: float, **kw: Any) -> None:
        super().__init__(timeout=timeout, **kw)
        self.config = config
        self._token = token


class GitHubWorkflowDispatch(_TokenTarget[GitHubWorkflowTarget]):
    """Start a workflow run with ``workflow_dispatch`` (GitHub answers 204)."""

    def execute(self, request: ActionRequest) -> ActionResult:
        """Dispatch the workflow with the configured inputs."""
        c = self.config
        base = f"{c.api_url.rstrip('/')}/repos/{c.repository}"
        url = f"{base}/actions/workflows/{c.workflow}/dispatches"
        fields = {
            "model": request.model,
            "action": request.action,
            "idempotency_key": request.idempotency_key,
            "report_url": request.report_url,
            "alertname": str((request.alert.get("labels") or {}).get("alertname", "")),
        }
        inputs = {name: fields.get(name, "") for name in c.inputs}
        body = json.dumps({"ref": c.ref, "inputs": inputs}).encode()
        self._post(url, content=body, headers=GITHUB_HEADERS, bearer=self._token)
        return ActionResult(f"workflow {c.workflow} dispatched on {c.repository}@{c.ref}")


class GitHubRepositoryDispatch(_TokenTarget[GitHubRepositoryDispatchTarget]):
    """Send a ``repository_dispatch`` event carrying the versioned payload."""

    def execute(self, request: ActionRequest) -> ActionResult:
        """Post the event; GitHub limits client_payload to 10 top-level keys (we send 7)."""
        c = self.config
        url = f"{c.api_url.rstrip('/')}/repos/{c.repository}/dispatches"
        body = json.dumps({"event_type": c.event_type, "client_payload": request.payload()})
        self._post(url, content=body.encode(), headers=GITHUB_HEADERS, bearer=self._token)
        return ActionResult(f"repository_dispatch {c.event_type} sent to {c.repository}")


GITHUB_HEADERS = {
    "Accept": "application/vnd.github+json",
    "X-GitHub-Api-Version": GITHUB_API_VERSION,
    "Content-Type": "application/json",
}
"""What GitHub's REST API asks for besides the token (sent as bearer auth)."""


class GitLabPipelineTrigger(_TokenTarget[GitLabTriggerTarget]):
    """Trigger a pipeline with a trigger token; the payload goes in ``INFERWATCH_*`` variables."""

    def execute(self, request: ActionRequest) -> ActionResult:
        """POST the trigger (GitLab answers 201 with the pipeline)."""
        c = self.config
        url = f"{c.api_url.rstrip('/')}/projects/{c.project}/trigger/pipeline"
        data = {
            "token": self._token.get_secret_value(),
            "ref": c.ref,
            "variables[INFERWATCH_MODEL]": request.model,
            "variables[INFERWATCH_ACTION]": request.action,
            "variables[INFERWATCH_IDEMPOTENCY_KEY]": request.idempotency_key,
            "variables[INFERWATCH_REPORT_URL]": request.report_url,
        }
        response = self._post(url, data=data)
        try:
            pipeline = response.json().get("id")
        except (ValueError, AttributeError):
            pipeline = None
        return ActionResult(f"pipeline {pipeline} triggered on {c.project}@{c.ref}")


class SignedWebhook(_HttpTarget):
    """POST the versioned payload, signed when a secret is configured.

    ``X-Inferwatch-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "t.body">``; each
    delivery (retries included) is signed afresh, so its timestamp is current.
    """

    def __init__(
        self,
        config: WebhookTarget,
        secret: SecretStr | None,
        *,
        timeout: float,
        clock: Callable[[], float] = time.time,
        **kw: Any,
    ) -> None:
        super().__init__(timeout=timeout, **kw)
        self.config = config
        self._secret = secret
        self._clock = clock

    def execute(self, request: ActionRequest) -> ActionResult:
        """Deliver the payload; the idempotency key rides in a header and in the body."""
        body = json.dumps(request.payload(), sort_keys=True).encode()
        headers = {"Content-Type": "application/json"}
        if self._secret is not None:
            headers[SIGNATURE_HEADER] = sign(self._secret, body, int(self._clock()))
        response = self._post(
            self.config.url,
            content=body,
            headers=headers,
            idempotency_key=request.idempotency_key,
        )
        return ActionResult(
            f"webhook {redact_url(self.config.url)} answered {response.status_code}"
        )


def github_workflow_dispatch(config: GitHubWorkflowTarget, timeout: float) -> Target:
    """The ``github_workflow_dispatch`` target of a policy entry."""
    return GitHubWorkflowDispatch(config, config.token_ref().resolve("github"), timeout=timeout)


def github_repository_dispatch(config: GitHubRepositoryDispatchTarget, timeout: float) -> Target:
    """The ``github_repository_dispatch`` target of a policy entry."""
    token = config.token_ref().resolve("github")
    return GitHubRepositoryDispatch(config, token, timeout=timeout)


def gitlab_trigger(config: GitLabTriggerTarget, timeout: float) -> Target:
    """The ``gitlab_trigger`` target of a policy entry."""
    return GitLabPipelineTrigger(config, config.token_ref().resolve("gitlab"), timeout=timeout)


def signed_webhook(config: WebhookTarget, timeout: float) -> Target:
    """The ``webhook`` target of a policy entry (signed when it names a secret)."""
    ref = config.secret_ref()
    return SignedWebhook(
        config, ref.resolve("webhook") if ref is not None else None, timeout=timeout
    )
