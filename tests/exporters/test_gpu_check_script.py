"""scripts/gpu_check.py, the real-GPU check, as far as it runs without one: its dmon
parser on nvidia-smi's table shapes, and a dry run on simulated GPUs with the GPM section."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "gpu_check.py"

DMON_UTIL = """\
# gpu     sm    mem    enc    dec    jpg    ofa
# Idx      %      %      %      %      %      %
    0     98     31      0      0      -      -
    1      0      0      0      0      -      -
    0    100     35      0      0      -      -
"""


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_dmon_table_is_averaged_per_gpu_and_dashes_skipped() -> None:
    means = load_script().parse_dmon(DMON_UTIL)
    assert means["0"] == {"sm": 99.0, "mem": 33.0, "enc": 0.0, "dec": 0.0}
    assert means["1"]["sm"] == 0.0


@pytest.mark.slow
def test_dry_run_on_simulated_gpus_reports_gpm(tmp_path: Path) -> None:
    env = {**os.environ, "GPU_CHECK_SIMULATE": "2", "GPU_CHECK_GPM_SECONDS": "2"}
    report = tmp_path / "gpu_check.md"
    result = subprocess.run(
        [sys.executable, str(SCRIPT), str(report)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    text = report.read_text()
    assert "## GPM against nvidia-smi dmon" in text
    assert "### GPU 1: GPM supported" in text
    assert "| sm_active (GPM metric 2) | -" not in text  # the window has figures
