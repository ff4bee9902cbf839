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


def test_small_live_file_is_not_enough_data_with_exit_3(
    files: dict[str, Path], tmp_path: Path
) -> None:
    small = tmp_path / "small.csv"
    pd.read_csv(files["drifted"]).head(10).to_csv(small, index=False)
    code, out, _ = check(files["reference"], small, "--json")
    assert code == 3
    data = json.loads(out)
    assert data["verdict"] == "not_enough_data"
    assert data["drift_detected"] is False
    assert "min_rows=20" in data["features"]["x"]["detail"]
    code, out, _ = check(files["reference"], small)
    assert code == 3
    assert "not evaluated: 10 live rows, fewer than min_rows=20" in out


def test_twenty_rows_are_enough_to_see_a_unit_change(
    files: dict[str, Path], tmp_path: Path
) -> None:
    """A x1000 unit change in a 20-row window is drift (it used to pass as exit 0)."""
    small = tmp_path / "small.csv"
    frame = pd.read_csv(files["reference"]).sample(20, random_state=3)
    frame.assign(y=frame["y"] * 1000).to_csv(small, index=False)
    code, out, _ = check(files["reference"], small, "--json")
    assert code == 1
    assert json.loads(out)["drifted_features"] == ["y"]


def test_schema_changes_are_drift_and_said_in_words(files: dict[str, Path], tmp_path: Path) -> None:
    live = pd.read_csv(files["reference"]).sample(1000, random_state=4)
    changed = tmp_path / "changed.csv"
    live.drop(columns=["region"]).assign(zzz=1, y=["high"] * 1000).to_csv(changed, index=False)
    code, out, _ = check(files["reference"], changed, "--json")
    assert code == 1
    data = json.loads(out)
    assert data["schema_changes"] == ["region", "y", "zzz"]
    assert set(data["drifted_features"]) == {"region", "y", "zzz"}
    assert data["features"]["region"]["verdict"] == "schema_change"
    assert "missing from live data" in data["features"]["region"]["schema_change"]
    assert "unexpected column" in data["features"]["zzz"]["schema_change"]
    assert "type change: numeric in the baseline, text" in data["features"]["y"]["schema_change"]
    code, out, _ = check(files["reference"], changed)
    assert "missing from live data (the baseline has it)" in out
    assert "type change" in out


def test_schema_change_can_be_only_reported(files: dict[str, Path], tmp_path: Path) -> None:
    live = pd.read_csv(files["reference"]).sample(1000, random_state=4)
    changed = tmp_path / "changed.csv"
    live.drop(columns=["region"]).to_csv(changed, index=False)
    policy = _write(tmp_path / "p.yaml", "features:\n  region: {schema_change: report}\n")
    code, out, _ = check(files["reference"], changed, "--json", "--policy", policy)
    assert code == 0
    data = json.loads(out)
    assert data["schema_changes"] == ["region"]
    assert data["features"]["region"]["drifted"] is False
    assert "reported only" in data["features"]["region"]["schema_change"]


def test_a_few_unparseable_values_are_counted_many_are_a_schema_change(
    files: dict[str, Path], tmp_path: Path
) -> None:
    live = pd.read_csv(files["reference"]).sample(1000, random_state=5)
    few, many = tmp_path / "few.csv", tmp_path / "many.csv"
    y = live["y"].astype(object)
    y.iloc[:10] = "oops"
    live.assign(y=y).to_csv(few, index=False)
    y.iloc[:200] = "oops"
    live.assign(y=y).to_csv(many, index=False)
    _, out, _ = check(files["reference"], few, "--json")
    assert "schema_change" not in json.loads(out)["features"]["y"]
    assert "10 non-numeric value(s)" in json.loads(out)["features"]["y"]["detail"]
    code, out, _ = check(files["reference"], many, "--json")
    assert code == 1
    assert "200 of 1000 live values (20.0%)" in json.loads(out)["features"]["y"]["schema_change"]


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_codes_stay_codes_when_a_cell_is_empty(tmp_path: Path, suffix: str) -> None:
    """A categorical code column keeps its text when live data has an empty cell."""
    rng = np.random.default_rng(6)
    codes = rng.choice(["1", "2", "3", "x"], 4000, p=[0.4, 0.3, 0.2, 0.1])
    reference = tmp_path / "reference.csv"
    pd.DataFrame({"code": codes[:3000]}).to_csv(reference, index=False)
    live_codes = pd.Series(codes[3000:]).where(lambda c: c != "x", None)  # no "x", one empty
    live_codes.iloc[0] = None
    live = tmp_path / f"live.{suffix}"
    if suffix == "csv":  # the file holds 1, 2, 3 and empty cells
        pd.DataFrame({"code": live_codes}).to_csv(live, index=False)
    else:  # a writer that guessed floats: 1.0, 2.0, NaN
        pd.DataFrame({"code": pd.to_numeric(live_codes)}).to_parquet(live)
    _, out, _ = check(reference, live, "--json")
    entry = json.loads(out)["features"]["code"]
    assert entry["kind"] == "categorical"
    assert entry["statistic"] < 200  # "2.0" for "2" would put every row in __other__
    assert entry["missing_rate"]["drifted"] is True  # the dropped "x" became empty cells
    assert entry["drifted"] is True


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
