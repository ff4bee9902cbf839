"""The Alertmanager API v2 client: body shape, retries only where they can help, redaction."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
import pytest

from inferwatch.alerts.alertmanager import AlertmanagerClient, AlertmanagerError, PostableAlert


def client_with(statuses: list[int], seen: list[httpx.Request]) -> AlertmanagerClient:
    answers = iter(statuses)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        status = next(answers)
        if status == 0:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(status, text="nope" if status >= 400 else "")

    return AlertmanagerClient(
        "http://user:secret@am:9093",
        transport=httpx.MockTransport(handler),
        retries=2,
        backoff=0.0,
        sleep=lambda _: None,
    )


ALERT = PostableAlert(
    labels={"alertname": "A", "model": "fraud"},
    annotations={"summary": "s"},
    starts_at=datetime(2026, 1, 1, tzinfo=UTC),
    ends_at=datetime(2026, 1, 1, 0, 5, tzinfo=UTC),
    generator_url="http://prom/graph",
)


def test_posts_postable_alerts_json() -> None:
    seen: list[httpx.Request] = []
    client_with([200], seen).post_alerts([ALERT])
    (request,) = seen
    assert request.method == "POST" and request.url.path == "/api/v2/alerts"
    assert json.loads(request.content) == [
        {
            "labels": {"alertname": "A", "model": "fraud"},
            "annotations": {"summary": "s"},
            "startsAt": "2026-01-01T00:00:00Z",
            "endsAt": "2026-01-01T00:05:00Z",
            "generatorURL": "http://prom/graph",
        }
    ]


@pytest.mark.parametrize(
    ("statuses", "calls"),
    [
        pytest.param([503, 200], 2, id="5xx-then-ok"),
        pytest.param([429, 200], 2, id="429-then-ok"),
        pytest.param([0, 0, 200], 3, id="network-twice-then-ok"),
    ],
)
def test_retries_network_errors_and_5xx(statuses: list[int], calls: int) -> None:
    seen: list[httpx.Request] = []
    client_with(statuses, seen).post_alerts([ALERT])
    assert len(seen) == calls


def test_gives_up_after_retries_with_a_retryable_error() -> None:
    seen: list[httpx.Request] = []
    with pytest.raises(AlertmanagerError) as caught:
        client_with([500, 502, 503], seen).post_alerts([ALERT])
    assert len(seen) == 3
    assert caught.value.retryable and caught.value.status_code == 503
    assert "secret" not in str(caught.value) and "***@am:9093" in str(caught.value)


def test_does_not_retry_a_4xx() -> None:
    seen: list[httpx.Request] = []
    with pytest.raises(AlertmanagerError) as caught:
        client_with([400], seen).post_alerts([ALERT])
    assert len(seen) == 1
    assert not caught.value.retryable and "nope" in str(caught.value)
