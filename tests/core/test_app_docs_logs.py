"""The app's API pages work offline, and its access log names every route."""

import io
import logging
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from inferwatch.app import create_app
from inferwatch.logs import TextFormatter, resolve_format
from inferwatch.settings import load_settings


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    return TestClient(create_app(load_settings(data_dir=tmp_path, database_url=None), ["drift"]))


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_api_pages_load_every_asset_from_the_service_itself(client: TestClient, page: str) -> None:
    with client:
        html = client.get(page)
        assert html.status_code == 200
        urls = re.findall(r"""(?:src|href)=["']([^"']+)["']|url: ?["']([^"']+)["']""", html.text)
        found = [a or b for a, b in urls]
        scripts = re.findall(r"""<script src=["']([^"']+)["']""", html.text)
        assert scripts, html.text  # the UI's JavaScript is referenced...
        for url in found:
            assert not url.startswith(("http://", "https://", "//")), url  # ...and nothing remote
            asset = client.get(url)
            assert asset.status_code == 200, url
        for script in scripts:
            assert len(client.get(script).content) > 100_000, script  # the real bundle
        if page == "/docs":
            assert "/openapi.json" in found
            assert client.get("/openapi.json").json()["info"]["title"] == "inferwatch"


def test_every_route_is_logged_by_its_template_and_probes_at_debug(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with client, caplog.at_level(logging.DEBUG, logger="inferwatch.http"):
        for path in (
            "/docs",
            "/openapi.json",
            "/metrics",
            "/healthz",
            "/readyz",
            "/drift/baselines/ghost",
            "/no/such/page",
        ):
            client.get(path)
    logged = {
        r.fields["route"]: r.levelno  # type: ignore[attr-defined]
        for r in caplog.records
        if r.name == "inferwatch.http" and r.getMessage() == "request"
    }
    assert logged == {
        "/docs": logging.INFO,
        "/openapi.json": logging.INFO,
        "/metrics": logging.DEBUG,
        "/healthz": logging.DEBUG,
        "/readyz": logging.DEBUG,
        "/drift/baselines/{model}": logging.INFO,
        "unmatched": logging.INFO,
    }


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_log_format_auto_is_text_at_a_terminal_and_json_otherwise() -> None:
    assert resolve_format("auto", _Tty()) == "text"
    assert resolve_format("auto", io.StringIO()) == "json"
    assert resolve_format("json", _Tty()) == "json"
    assert resolve_format("text", io.StringIO()) == "text"
    record = logging.LogRecord("inferwatch.http", logging.INFO, __file__, 1, "request", (), None)
    record.fields = {"route": "/docs", "status": 200, "features": ["age", "amount"]}
    line = TextFormatter().format(record)
    assert line.endswith(
        "INFO  inferwatch.http: request route=/docs status=200 features=age,amount"
    )
