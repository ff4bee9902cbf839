"""CI and webhook targets against loopback HTTP servers that record what they receive."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from urllib.parse import parse_qs

import pytest
from pydantic import SecretStr

from inferwatch.alerts.actions._ci import (
    GitHubRepositoryDispatch,
    GitHubWorkflowDispatch,
    GitLabPipelineTrigger,
    SignedWebhook,
)
from inferwatch.alerts.actions._policy import (
    GitHubRepositoryDispatchTarget,
    GitHubWorkflowTarget,
    GitLabTriggerTarget,
    WebhookTarget,
)
from inferwatch.alerts.actions.targets import ActionRequest, TargetError
from inferwatch.testing.actions import RecordingServer, Reply, webhook_alert

TOKEN = SecretStr("ghp_supersecret")
REQUEST = ActionRequest(
    model="fraud", action="retrain", idempotency_key="k123", alert=webhook_alert("fraud")
)


@pytest.fixture
def server() -> Iterator[RecordingServer]:
    with RecordingServer() as running:
        yield running


def test_github_workflow_dispatch_posts_ref_and_declared_inputs(server: RecordingServer) -> None:
    config = GitHubWorkflowTarget(
        type="github_workflow_dispatch",
        api_url=server.url,
        repository="acme/models",
        workflow="retrain.yml",
        ref="release",
        token_env="X",
    )
    result = GitHubWorkflowDispatch(config, TOKEN, timeout=2).execute(REQUEST)

    (call,) = server.requests
    assert call.method == "POST"
    assert call.path == "/repos/acme/models/actions/workflows/retrain.yml/dispatches"
    assert call.headers["authorization"] == "Bearer ghp_supersecret"
    assert call.headers["accept"] == "application/vnd.github+json"
    assert call.headers["x-github-api-version"] == "2022-11-28"
    assert call.json() == {
        "ref": "release",
        "inputs": {
            "model": "fraud",
            "idempotency_key": "k123",
            "report_url": "http://inferwatch.example/drift/models/fraud/report",
        },
    }
    assert "retrain.yml" in result.detail


def test_github_repository_dispatch_sends_versioned_payload(server: RecordingServer) -> None:
    config = GitHubRepositoryDispatchTarget(
        type="github_repository_dispatch", api_url=server.url, repository="acme/models"
    )
    GitHubRepositoryDispatch(config, TOKEN, timeout=2).execute(REQUEST)

    (call,) = server.requests
    assert call.path == "/repos/acme/models/dispatches"
    body = call.json()
    assert body["event_type"] == "inferwatch-retrain"
    payload = body["client_payload"]
    assert payload["version"] == "1"
    assert payload["model"] == "fraud"
    assert payload["idempotency_key"] == "k123"
    assert payload["drift"]["summary"] == "fraud drifted"
    assert len(payload) <= 10  # GitHub's limit on client_payload's top-level keys


def test_gitlab_trigger_sends_token_ref_and_variables(server: RecordingServer) -> None:
    server.responder = lambda _: Reply(201, {"id": 4242, "status": "created"})
    config = GitLabTriggerTarget(
        type="gitlab_trigger", api_url=server.url, project="17", ref="main", token_env="X"
    )
    result = GitLabPipelineTrigger(config, SecretStr("glptt-abc"), timeout=2).execute(REQUEST)

    (call,) = server.requests
    assert call.path == "/projects/17/trigger/pipeline"
    form = {k: v[0] for k, v in parse_qs(call.body.decode()).items()}
    assert form["token"] == "glptt-abc"
    assert form["ref"] == "main"
    assert form["variables[INFERWATCH_MODEL]"] == "fraud"
    assert form["variables[INFERWATCH_IDEMPOTENCY_KEY]"] == "k123"
    assert "4242" in result.detail


def test_webhook_is_hmac_signed_over_the_exact_body(server: RecordingServer) -> None:
    config = WebhookTarget(type="webhook", url=f"{server.url}/hooks/retrain", secret_env="X")
    SignedWebhook(config, SecretStr("whsec"), timeout=2, clock=lambda: 1_780_000_000.9).execute(
        REQUEST
    )

    (call,) = server.requests
    signed = b"1780000000." + call.body
    expected = hmac.new(b"whsec", signed, hashlib.sha256).hexdigest()
    assert call.headers["x-inferwatch-signature"] == f"t=1780000000,v1={expected}"
    assert call.headers["idempotency-key"] == "k123"
    body = json.loads(call.body)
    assert body["version"] == "1"
    assert body["report_url"].endswith("/drift/models/fraud/report")
    assert body["alert"]["labels"]["action"] == "retrain"


@pytest.mark.parametrize(
    ("reply", "retryable"),
    [
        pytest.param(Reply(500), True, id="500"),
        pytest.param(Reply(503), True, id="503"),
        pytest.param(Reply(429), True, id="429"),
        pytest.param(Reply(404), False, id="404"),
        pytest.param(Reply(422), False, id="422"),
        pytest.param(Reply(204, delay=1.0), True, id="timeout"),
    ],
)
def test_failures_are_classified_and_never_leak_secrets(
    server: RecordingServer, reply: Reply, retryable: bool
) -> None:
    server.responder = lambda _: reply
    url = server.url.replace("http://", "http://user:pw-secret@") + "/hook"
    config = WebhookTarget(type="webhook", url=url)
    target = SignedWebhook(config, SecretStr("whsec"), timeout=0.3)

    with pytest.raises(TargetError) as caught:
        target.execute(REQUEST)

    assert caught.value.retryable is retryable
    assert "pw-secret" not in str(caught.value)
    assert "whsec" not in str(caught.value)


def test_unreachable_endpoint_is_retryable() -> None:
    server = RecordingServer()
    url = server.url  # bound but never serving: connection refused once closed
    server.stop()
    server._server.server_close()
    target = GitHubWorkflowDispatch(
        GitHubWorkflowTarget(
            type="github_workflow_dispatch", api_url=url, repository="a/b", workflow="w.yml"
        ),
        TOKEN,
        timeout=0.5,
    )
    with pytest.raises(TargetError) as caught:
        target.execute(REQUEST)
    assert caught.value.retryable
    assert "ghp_supersecret" not in str(caught.value)
