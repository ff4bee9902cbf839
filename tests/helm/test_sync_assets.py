"""scripts/sync_chart_assets.py keeps the chart's copies of dashboards and rules current."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "sync_chart_assets.py"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, check=False
    )


def test_sync_copies_updates_and_removes_stale(tmp_path: Path) -> None:
    (tmp_path / "dashboards" / "generated").mkdir(parents=True)
    (tmp_path / "alerts" / "rules").mkdir(parents=True)
    chart = tmp_path / "helm" / "inferwatch"
    (chart / "dashboards").mkdir(parents=True)
    (tmp_path / "dashboards" / "generated" / "gpu.json").write_text('{"title": "GPU"}\n')
    (tmp_path / "alerts" / "rules" / "drift.yaml").write_text("groups: []\n")
    (tmp_path / "alerts" / "rules" / "notes.txt").write_text("not a rule file\n")
    (chart / "dashboards" / "old.json").write_text("{}\n")
    (chart / "dashboards" / ".gitkeep").write_text("")

    check = run("--check", "--root", str(tmp_path))
    assert check.returncode == 1
    assert check.stdout.splitlines() == [
        "would copy dashboards/generated/gpu.json -> helm/inferwatch/dashboards/gpu.json",
        "would remove helm/inferwatch/dashboards/old.json (its source is gone)",
        "would copy alerts/rules/drift.yaml -> helm/inferwatch/rules/drift.yaml",
    ]
    assert not (chart / "rules").exists()  # --check changes nothing

    assert run("--root", str(tmp_path)).returncode == 0
    assert (chart / "dashboards" / "gpu.json").read_text() == '{"title": "GPU"}\n'
    assert (chart / "rules" / "drift.yaml").read_text() == "groups: []\n"
    assert not (chart / "dashboards" / "old.json").exists()
    assert (chart / "dashboards" / ".gitkeep").exists()
    assert not (chart / "rules" / "notes.txt").exists()
    assert run("--check", "--root", str(tmp_path)).returncode == 0

    (tmp_path / "alerts" / "rules" / "drift.yaml").write_text("groups: [{name: x, rules: []}]\n")
    assert run("--check", "--root", str(tmp_path)).stdout.startswith("would copy alerts/rules")


def test_the_charts_copies_are_up_to_date() -> None:
    sources = [*(ROOT / "dashboards" / "generated").glob("*.json")]
    sources += [*(ROOT / "alerts" / "rules").glob("*.yaml")]
    if not sources:
        pytest.skip("no generated dashboards or shipped rules yet")
    check = run("--check")
    assert check.returncode == 0, (
        "the chart's copies are stale; run .venv/bin/python scripts/sync_chart_assets.py\n"
        + check.stdout
    )
