"""`inferwatch drift baseline create|list|show` and `drift evaluate` on the configured store."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from inferwatch.cli import app
from inferwatch.drift.baseline import Baseline
from inferwatch.drift.store import ResultStore
from inferwatch.storage import open_storage

runner = CliRunner()


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "inferwatch.yaml"
    path.write_text(f"data_dir: {tmp_path / 'data'}\n")
    return path


def _write(path: Path, seed: int, rows: int, shift: float = 0.0) -> Path:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {"x": rng.normal(shift, 1.0, rows), "plan": rng.choice(["a", "b", "c"], rows)}
    )
    if path.suffix == ".parquet":
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False)
    return path


def _run(config: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["--config", str(config), "drift", *args])
    return result.exit_code, result.stdout + result.stderr


def test_create_list_show_versions(config: Path, tmp_path: Path) -> None:
    reference = _write(tmp_path / "ref.csv", 1, 500)
    code, out = _run(
        config,
        "baseline",
        "create",
        str(reference),
        "--model",
        "churn",
        "--bins",
        "4",
        "--top-k",
        "2",
        "--sample-size",
        "100",
        "--json",
    )
    assert code == 0, out
    created = json.loads(out)
    assert (created["model"], created["version"], created["sample_rows"]) == ("churn", 1, 100)
    assert {f["name"]: f["bins"] for f in created["features"]} == {"x": 4, "plan": 3}

    parquet = _write(tmp_path / "ref.parquet", 2, 300)
    code, out = _run(config, "baseline", "create", str(parquet), "--model", "churn")
    assert code == 0 and "churn v2" in out

    code, out = _run(config, "baseline", "list", "--json")
    assert code == 0 and [(b["model"], b["version"]) for b in json.loads(out)] == [("churn", 2)]
    code, out = _run(config, "baseline", "show", "churn", "--version", "1", "--json")
    shown = Baseline.from_dict(json.loads(out))  # a baseline file for collector and recorder
    assert shown.version == 1 and shown.feature_names == ("x", "plan")
    assert len(shown.feature("x").edges) == 3 and len(shown.feature("plan").vocabulary) == 2
    code, out = _run(config, "baseline", "show", "churn")
    assert code == 0 and out.startswith("churn v2")


def test_errors_exit_2_with_a_message(config: Path, tmp_path: Path) -> None:
    code, out = _run(config, "baseline", "create", str(tmp_path / "nope.csv"), "--model", "m")
    assert code == 2 and "no such file" in out
    empty = tmp_path / "empty.csv"
    empty.write_text("x,y\n")
    code, out = _run(config, "baseline", "create", str(empty), "--model", "m")
    assert code == 2 and "no rows" in out
    code, out = _run(config, "baseline", "show", "ghost")
    assert code == 2 and "ghost" in out
    code, out = _run(config, "baseline", "list")
    assert code == 0 and "no baselines" in out


def test_evaluate_a_file_against_the_stored_baseline(config: Path, tmp_path: Path) -> None:
    _run(config, "baseline", "create", str(_write(tmp_path / "r.csv", 1, 2000)), "--model", "m")
    same = _write(tmp_path / "same.csv", 2, 1000)
    code, out = _run(config, "evaluate", "m", "--live", str(same), "--json", "--record")
    assert code == 0, out
    assert json.loads(out)["drift_detected"] is False
    storage = open_storage(tmp_path / "data" / "inferwatch.db")
    recorded = ResultStore(storage).latest("m")
    storage.close()
    assert recorded is not None and recorded.rows == 1000
    shifted = _write(tmp_path / "shifted.csv", 3, 1000, shift=1.0)
    code, out = _run(config, "evaluate", "m", "--live", str(shifted))
    assert code == 1 and "drift" in out and "x" in out
    code, out = _run(config, "evaluate", "ghost", "--live", str(same))
    assert code == 2
