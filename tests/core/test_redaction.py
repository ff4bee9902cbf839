"""Secrets are masked wherever a URL or header is printed or stored (issue 14, item 3)."""

from __future__ import annotations

import json
import logging

import pytest
from typer.testing import CliRunner

from inferwatch.cli import app as cli
from inferwatch.httputil import (
    is_secret_name,
    redact_headers,
    redact_settings,
    redact_text,
    redact_url,
)
from inferwatch.logs import JsonFormatter, TextFormatter


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        pytest.param("http://u:p@h:9093/api", "http://***@h:9093/api", id="userinfo"),
        pytest.param("http://u@h/", "http://***@h/", id="user-only"),
        pytest.param(
            "https://h/hook?apikey=K1&page=2", "https://h/hook?apikey=***&page=2", id="apikey"
        ),
        pytest.param(
            "https://h/x?access_token=K&X-Amz-Signature=K&sig=K&password=K&client_secret=K",
            "https://h/x?access_token=***&X-Amz-Signature=***&sig=***&password=***"
            "&client_secret=***",
            id="many",
        ),
        pytest.param("https://h/cb#access_token=K", "https://h/cb#***", id="fragment"),
        pytest.param("http://h/metrics", "http://h/metrics", id="clean"),
        pytest.param("http://[::1/x", "***", id="unparseable"),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown
    assert "K1" not in redact_url(url)


def test_secret_names() -> None:
    for name in ("apikey", "API_KEY", "token", "X-Auth-Token", "Authorization", "signature"):
        assert is_secret_name(name), name
    for name in ("page", "model", "Content-Type", "Accept", "v"):
        assert not is_secret_name(name), name


def test_redact_headers_and_text() -> None:
    shown = redact_headers({"Authorization": "Basic YWRtaW4=", "X-Api-Key": "k", "Accept": "a"})
    assert shown == {"Authorization": "***", "X-Api-Key": "***", "Accept": "a"}
    text = redact_text("POST http://a:b@h/x?token=T1 failed (Bearer Zm9vYmFy99); bearer token")
    assert text == "POST http://***@h/x?token=*** failed (Bearer ***); bearer token"


def test_log_lines_are_redacted() -> None:
    record = logging.LogRecord(
        "httpx", logging.INFO, __file__, 1, 'HTTP Request: POST %s "%s"', None, None
    )
    record.args = ("https://hooks.example/x?apikey=SECRET1", "HTTP/1.1 500")
    record.fields = {"target": "https://u:SECRET2@h/"}
    line = JsonFormatter().format(record)
    assert "SECRET" not in line
    assert json.loads(line)["msg"] == (
        'HTTP Request: POST https://hooks.example/x?apikey=*** "HTTP/1.1 500"'
    )
    assert "SECRET" not in TextFormatter().format(record)


def test_config_show_masks_urls_headers_and_tokens() -> None:
    env = {
        "INFERWATCH_DRIFT__PROMETHEUS_URL": "http://prom:SECRET3@prometheus:9090",
        "INFERWATCH_ALERTS__ALERTMANAGER_URL": "http://am:9093/?token=SECRET4",
        "INFERWATCH_EXPORTERS__INSTRUMENTATION__OTLP_HEADERS": '{"x-honeycomb-team": "SECRET5"}',
        "INFERWATCH_SERVER__API_TOKEN": "SECRET6",
        "INFERWATCH_SERVER__READ_TOKEN": "SECRET7",
    }
    result = CliRunner().invoke(cli, ["config", "show", "--json"], env=env)
    assert result.exit_code == 0, result.output
    assert "SECRET" not in result.output
    shown = json.loads(result.output)
    assert shown["drift"]["prometheus_url"] == "http://***@prometheus:9090"
    assert shown["alerts"]["alertmanager_url"] == "http://am:9093/?token=***"
    assert shown["exporters"]["instrumentation"]["otlp_headers"] == {"x-honeycomb-team": "***"}
    human = CliRunner().invoke(cli, ["config", "show"], env=env)
    assert human.exit_code == 0 and "SECRET" not in human.output


def test_redact_settings_keeps_non_secrets() -> None:
    data = {"server": {"port": 8686, "open_paths": ["/metrics"]}, "url": "http://h/"}
    assert redact_settings(data) == data


def test_a_credential_with_lower_case_letters_before_a_dash_is_still_masked() -> None:
    # "tok-s3cret" starts like a word; only a whole run of lower-case letters is prose.
    assert redact_text("proxy echoed Bearer tok-s3cret-123") == "proxy echoed Bearer ***"
    assert redact_text("needs a Bearer token.") == "needs a Bearer token."


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        pytest.param(
            "postgresql+psycopg://u:s3cret@db:5432/iw",
            "postgresql+psycopg://***@db:5432/iw",
            id="pg",
        ),
        pytest.param("sqlite:////var/lib/iw/state.db", "sqlite:////var/lib/iw/state.db", id="abs"),
        pytest.param("sqlite:///state.db", "sqlite:///state.db", id="relative"),
        pytest.param("sqlite:////x.db?password=p", "sqlite:////x.db?password=***", id="query"),
    ],
)
def test_database_urls_use_the_same_redaction(url: str, shown: str) -> None:
    # The state store's URL goes through the one redaction too; an empty authority stays.
    assert redact_url(url) == shown
