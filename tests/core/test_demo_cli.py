"""`inferwatch demo` as the README's first command runs it, without Prometheus/Alertmanager."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from inferwatch.cli import app

pytestmark = pytest.mark.slow


def test_demo_without_the_stack_detects_the_shift_and_serves_the_report(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["demo", "--no-stack", "--json", "--workdir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert {"amount", "country"} <= set(summary["drifted_features"])
    assert "channel" not in summary["drifted_features"]
    assert summary["retraining_calls"] == 0  # no Alertmanager, no webhook
    events = [e["event"] for e in summary["timeline"]]
    assert events.index("calm window evaluated") < events.index("traffic shifted")
    assert events.index("traffic shifted") < events.index("drift detected")
    assert "report ready" in events
    assert (tmp_path / "data" / "inferwatch.db").exists()
