"""`inferwatch drift check`: one JSON object, exit 0 no drift, 1 drift, 2 error."""

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from inferwatch.cli import app

MakeTable = Callable[..., pd.DataFrame]
runner = CliRunner()


@pytest.fixture
def files(tmp_path: Path, make_table: MakeTable) -> dict[str, Path]:
    rng = np.random.default_rng(0)
    paths = {
        "reference": tmp_path / "reference.csv",
        "same": tmp_path / "same.parquet",
        "drifted": tmp_path / "drifted.csv",
    }
    make_table(rng, 5000).to_csv(paths["reference"], index=False)
    make_table(rng, 1000).to_parquet(paths["same"])
    make_table(rng, 1000, shift=1.0).to_csv(paths["drifted"], index=False)
    return paths


def check(*args: object) -> tuple[int, str, str]:
    result = runner.invoke(app, ["drift", "check", *map(str, args)])
    return result.exit_code, result.stdout, result.stderr


def test_no_drift_exits_0_with_the_contract(files: dict[str, Path]) -> None:
    code, out, _ = check(files["reference"], files["same"], "--json", "--model", "churn")
    assert code == 0
    data = json.loads(out)
    assert data["model"] == "churn"
    assert (data["drift_detected"], data["verdict"], data["rows"]) == (False, "no_drift", 1000)
    assert set(data["features"]) == {"x", "y", "k", "plan", "region", "flag"}
    for entry in data["features"].values():
        assert {"method", "statistic", "p_value", "threshold", "drifted"} <= set(entry)
        assert entry["missing_rate"]["method"] == "missing_rate"
    assert data["features"]["x"]["method"] == "ks"
    assert data["features"]["plan"]["method"] == "chi_squared"
    assert data["features"]["flag"]["kind"] == "boolean"


def test_drift_exits_1(files: dict[str, Path]) -> None:
    code, out, _ = check(files["reference"], files["drifted"], "--json")
    assert code == 1
    data = json.loads(out)
    assert data["drift_detected"] is True
    assert "x" in data["drifted_features"]
    assert data["features"]["x"]["drifted"] is True
    assert data["features"]["x"]["p_value"] < 0.01


def test_human_output_lists_features(files: dict[str, Path]) -> None:
    code, out, _ = check(files["reference"], files["drifted"])
    assert code == 1
    assert "drift" in out.splitlines()[0]
    assert any(line.split()[0] == "x" for line in out.splitlines()[1:])


def test_policy_file_and_bins(files: dict[str, Path], tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("drift:\n  policy:\n    numeric_method: psi\n    thresholds: {psi: 100}\n")
    code, out, _ = check(files["reference"], files["drifted"], "--json", "--policy", policy)
    assert code == 0
    assert json.loads(out)["features"]["x"]["method"] == "psi"
    code, out, _ = check(files["reference"], files["drifted"], "--json", "--bins", "4")
    assert code == 1
    assert "over 4 bins" not in json.loads(out)["features"]["x"]["detail"]  # sample KS is exact


def test_small_live_file_is_not_enough_data(files: dict[str, Path], tmp_path: Path) -> None:
    small = tmp_path / "small.csv"
    pd.read_csv(files["drifted"]).head(20).to_csv(small, index=False)
    code, out, _ = check(files["reference"], small, "--json")
    assert code == 0
    assert json.loads(out)["verdict"] == "not_enough_data"


@pytest.mark.parametrize(
    ("make_live", "message"),
    [
        pytest.param(lambda p: p / "absent.csv", "no such file", id="absent"),
        pytest.param(lambda p: _write(p / "live.json", "{}"), "unknown format", id="format"),
        pytest.param(lambda p: _write(p / "empty.csv", ""), "empty file", id="empty"),
        pytest.param(lambda p: _write(p / "header.csv", "x,y\n"), "no rows", id="no-rows"),
        pytest.param(lambda p: _write(p / "bad.parquet", "nope"), "cannot read", id="parquet"),
        pytest.param(
            lambda p: _write(p / "other.csv", "a,b\n1,2\n"), "no column in", id="disjoint"
        ),
        pytest.param(
            lambda p: _write(p / "extra.csv", "x,zzz\n1,2\n"),
            "not in the reference: zzz",
            id="extra",
        ),
    ],
)
def test_errors_exit_2_with_one_line(
    files: dict[str, Path], tmp_path: Path, make_live: Callable[[Path], Path], message: str
) -> None:
    code, out, err = check(files["reference"], make_live(tmp_path), "--json")
    assert code == 2
    assert out == ""
    assert message in err
    assert len(err.strip().splitlines()) == 1


def test_bad_policy_exits_2(files: dict[str, Path], tmp_path: Path) -> None:
    policy = _write(tmp_path / "p.yaml", "alpha: 2\n")
    code, _, err = check(files["reference"], files["same"], "--policy", policy)
    assert code == 2
    assert "alpha" in err
    code, _, err = check(files["reference"], files["same"], "--bins", "1")
    assert code == 2
    assert "bins" in err


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path
