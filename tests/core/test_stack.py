"""The foundation's proof: real Prometheus scrapes an inferwatch service, and a real
Alertmanager takes an alert through API v2 and gives it back."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from inferwatch.alerts.alertmanager import AlertmanagerClient, AlertmanagerError, PostableAlert
from inferwatch.app import create_app
from inferwatch.settings import Settings
from inferwatch.stack import AlertmanagerProcess, PrometheusProcess, ServedApp, free_port

pytestmark = pytest.mark.stack


def test_prometheus_scrapes_an_inferwatch_service(
    settings: Settings,
    serve: Callable[[Any], ServedApp],
    prometheus_factory: Callable[..., PrometheusProcess],
) -> None:
    service = serve(create_app(settings))
    prometheus = prometheus_factory(scrape_targets=[f"127.0.0.1:{service.port}"])
    up = prometheus.wait_for('up{job="inferwatch"} == 1')
    assert up[0]["metric"]["instance"] == f"127.0.0.1:{service.port}"
    build = prometheus.wait_for("inferwatch_build_info")
    assert build[0]["metric"]["version"]


def test_alert_posted_to_alertmanager_v2_reads_back(alertmanager: AlertmanagerProcess) -> None:
    client = AlertmanagerClient(alertmanager.url)
    now = datetime.now(UTC)
    alert = PostableAlert(
        labels={
            "alertname": "InferwatchDriftDetected",
            "model": "fraud",
            "severity": "warning",
            "action": "retrain",
        },
        annotations={"summary": "fraud drifted", "report_url": "http://iw/report/fraud"},
        starts_at=now,
        ends_at=now + timedelta(minutes=5),
    )
    client.post_alerts([alert])
    alerts = client.get_alerts(['model="fraud"'])
    assert len(alerts) == 1
    assert alerts[0]["labels"] == dict(alert.labels)
    assert alerts[0]["annotations"]["report_url"] == "http://iw/report/fraud"
    assert alerts[0]["status"]["state"] == "active"
    assert client.status()["versionInfo"]["version"]
    client.close()


def test_alertmanager_client_errors_do_not_leak_credentials() -> None:
    client = AlertmanagerClient(f"http://user:pw@127.0.0.1:{free_port()}", timeout=0.5)
    with pytest.raises(AlertmanagerError) as caught:
        client.post_alerts([PostableAlert(labels={"alertname": "x"})])
    assert "pw" not in str(caught.value)
    assert "***@127.0.0.1" in str(caught.value)
