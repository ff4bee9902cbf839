"""`inferwatch demo` as the README's first command runs it, without Prometheus/Alertmanager."""

import json
import re
import tempfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from inferwatch.cli import app

pytestmark = pytest.mark.slow
TIMELINE = re.compile(r"^\[ *\d+\.\ds\] [a-z]")


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


def test_demo_prints_only_its_timeline_and_leaves_no_temporary_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where mkdtemp makes its folder
    result = CliRunner().invoke(app, ["demo", "--no-stack"])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    timeline = [line for line in lines if TIMELINE.match(line)]
    rest = [line for line in lines if not TIMELINE.match(line)]
    assert len(timeline) >= 6
    assert rest == [
        "--no-stack: the alert -> webhook chain is skipped.",
        "retraining calls: 0 (drift onset -> webhook: n/a)",
    ]
    assert result.stderr == ""  # no log lines (the simulated GPUs' Xid warnings) in between
    assert "/report" not in result.stdout  # no report link that dies with the demo
    assert "report ready" in result.stdout
    assert list(tmp_path.iterdir()) == []  # the folder with the hook secret is gone
