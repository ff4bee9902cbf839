"""`inferwatch collector windows` reads the state store the service wrote."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from inferwatch.app import create_app
from inferwatch.cli import app
from inferwatch.errors import ConfigError
from inferwatch.settings import load_settings


def test_windows_json(tmp_path: Path, baseline_dir: Path) -> None:
    settings = load_settings(
        data_dir=tmp_path / "data", collector={"baseline_dir": str(baseline_dir)}
    )
    with TestClient(create_app(settings, ["collector"])) as client:
        client.post("/collector/models/churn/records", json=[{"age": 3.0}, {"age": 4.0}])
    config = tmp_path / "c.yaml"
    config.write_text(f"data_dir: {tmp_path / 'data'}\n")
    result = CliRunner().invoke(app, ["collector", "windows", "churn", "--json", "-c", str(config)])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown["model"] == "churn"
    assert [w["rows"] for w in shown["windows"]] == [2]
    text = CliRunner().invoke(app, ["collector", "windows", "nothing", "-c", str(config)])
    assert text.exit_code == 0
    assert "no windows for nothing" in text.stdout


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("INFERWATCH_COLLECTOR__QUEUE_CAPACITY_ROWS", "1234")
    monkeypatch.setenv("INFERWATCH_COLLECTOR__WINDOW_SECONDS", "60")
    monkeypatch.setenv("INFERWATCH_COLLECTOR__BASELINE_DIR", str(tmp_path))
    monkeypatch.setenv("INFERWATCH_EXPORTERS__RECORDER__COLLECTOR_URL", "http://c:8686")
    settings = load_settings(data_dir=tmp_path)
    assert settings.collector.queue_capacity_rows == 1234
    assert settings.collector.window_seconds == 60
    assert settings.collector.baseline_dir == tmp_path
    assert settings.exporters.recorder.collector_url == "http://c:8686"
    monkeypatch.setenv("INFERWATCH_COLLECTOR__RESERVOIR_SIZE", "0")
    with pytest.raises(ConfigError, match="reservoir_size"):
        load_settings(data_dir=tmp_path)
