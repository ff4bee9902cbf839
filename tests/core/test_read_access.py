"""Reads need a token when one is configured (issue 14, item 3).

Every route of every server part is enumerated from the app itself, so a route
added later without protection fails here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from inferwatch.app import create_app
from inferwatch.errors import ConfigError
from inferwatch.settings import load_settings

PARTS = ["collector", "drift", "rules", "actions"]
WRITE, READ = "write-t0ken", "read-t0ken"
OPEN = {"/metrics", "/healthz", "/readyz"}


def _client(tmp_path: Path, **server: object) -> TestClient:
    settings = load_settings(
        data_dir=tmp_path / "data", server={"api_token": WRITE, "read_token": READ, **server}
    )
    return TestClient(create_app(settings, PARTS))


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with _client(tmp_path) as c:
        yield c


def _routes(client: TestClient, method: str) -> list[str]:
    """Concrete paths of every documented route answering ``method``, plus the docs pages."""
    document = client.get("/openapi.json", headers=_bearer(READ)).json()
    paths = [
        re.sub(r"\{[^}]+\}", "1", path)
        for path, operations in document["paths"].items()
        if method.lower() in operations
    ]
    if method == "GET":
        paths += ["/openapi.json", "/docs", "/redoc"]
    return sorted(set(paths))


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_every_read_route_needs_a_token(client: TestClient) -> None:
    reads = [p for p in _routes(client, "GET") if p not in OPEN]
    # the examples are among them, so the enumeration really covers the parts
    for expected in (
        "/collector/models/1/windows/latest",
        "/drift/models/1/report",
        "/drift/baselines",
        "/actions/audit",
        "/actions/outbox",
        "/rules/groups",
        "/drift/models/1/results/latest",
        "/openapi.json",
    ):
        assert expected in reads
    for path in reads:
        anonymous = client.get(path)
        assert anonymous.status_code == 401, path
        assert anonymous.headers["www-authenticate"] == "Bearer"
        assert client.get(path, headers=_bearer("wrong")).status_code == 401, path
        assert client.get(path, headers=_bearer(READ)).status_code != 401, path
        assert client.get(path, headers=_bearer(WRITE)).status_code != 401, path


def test_raw_records_answer_the_read_token(client: TestClient) -> None:
    with_read = client.get("/collector/models/churn/windows/latest", headers=_bearer(READ))
    assert with_read.status_code == 404  # authorised; there is simply no window yet
    assert "churn" in with_read.json()["detail"]


def test_probes_and_metrics_stay_open(client: TestClient) -> None:
    for path in sorted(OPEN):
        assert client.get(path).status_code == 200, path


def test_the_read_token_cannot_write(client: TestClient) -> None:
    writes = [
        (method, path)
        for method in ("POST", "PUT", "DELETE")
        for path in _routes(client, method)
        if path != "/actions/alertmanager"  # checks its own credentials
    ]
    assert ("POST", "/collector/models/1/records") in writes
    assert ("POST", "/drift/baselines/1") in writes
    for method, path in writes:
        answer = client.request(method, path, headers=_bearer(READ), content=b"{}")
        assert answer.status_code == 401, (method, path)


def test_open_paths_are_configurable(tmp_path: Path) -> None:
    with _client(tmp_path, open_paths=["/healthz", "/drift/models/*/report"]) as client:
        assert client.get("/healthz").status_code == 200
        assert client.get("/metrics").status_code == 401
        assert client.get("/readyz").status_code == 401
        assert client.get("/metrics", headers=_bearer(READ)).status_code == 200
        assert client.get("/drift/models/churn/report").status_code == 404  # open, no baseline
        assert client.get("/drift/models/churn/report.json").status_code == 401


def test_without_a_token_everything_stays_open(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "data")
    with TestClient(create_app(settings, ["actions"])) as client:
        assert client.get("/actions/audit").status_code == 200


def test_the_write_token_alone_closes_reads(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "data", server={"api_token": WRITE})
    with TestClient(create_app(settings, ["actions"])) as client:
        assert client.get("/actions/outbox").status_code == 401
        assert client.get("/actions/outbox", headers=_bearer(WRITE)).status_code == 200


def test_a_read_token_without_a_write_token_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"read_token needs api_token"):
        load_settings(server={"read_token": READ})
    with pytest.raises(ConfigError, match=r"read_token is set but empty"):
        load_settings(server={"api_token": WRITE, "read_token": " "})
    with pytest.raises(ConfigError, match=r"open_paths entry 'metrics' must start with /"):
        load_settings(server={"open_paths": ["metrics"]})


def test_read_token_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INFERWATCH_SERVER__API_TOKEN", WRITE)
    monkeypatch.setenv("INFERWATCH_SERVER__READ_TOKEN", READ)
    monkeypatch.setenv("INFERWATCH_SERVER__OPEN_PATHS", '["/healthz"]')
    settings = load_settings()
    assert settings.server.read_token is not None
    assert settings.server.read_token.get_secret_value() == READ
    assert settings.server.open_paths == ["/healthz"]
