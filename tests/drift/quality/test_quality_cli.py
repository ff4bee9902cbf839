"""`inferwatch quality check`: one JSON object; exit 0 ok, 1 degraded or drift, 2 error,
3 not enough data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from inferwatch.cli import app

runner = CliRunner()
FAST = "multivariate:\n  max_rows: 1000\n  max_iter: 30\n  folds: 3\n"


def _table(
    seed: int, n: int, *, rho: float = 0.8, flip: float = 0.0, labelled: bool = True
) -> pd.DataFrame:
    """Features a, b (correlated), c; the score is P(y=1); ``flip`` breaks the outcomes."""
    rng = np.random.default_rng(seed)
    ab = rng.multivariate_normal([0.0, 0.0], [[1.0, rho], [rho, 1.0]], n)
    p = 1 / (1 + np.exp(-2 * (ab[:, 0] + 0.5 * ab[:, 1])))
    y = (rng.random(n) < p).astype(int)
    y = np.where(rng.random(n) < flip, 1 - y, y)
    frame = pd.DataFrame(
        {"a": ab[:, 0], "b": ab[:, 1], "c": rng.normal(size=n), "score": p, "y": y}
    )
    frame["pred"] = (p >= 0.5).astype(int)
    return frame if labelled else frame.drop(columns="y")


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("quality")
    paths = {
        "reference": root / "reference.csv",
        "same": root / "same.parquet",
        "worse": root / "worse.csv",
        "unlabelled": root / "unlabelled.jsonl",
        "flipped": root / "flipped.csv",
        "policy": root / "fast.yaml",
    }
    _table(0, 4000).to_csv(paths["reference"], index=False)
    _table(1, 800).to_parquet(paths["same"])
    _table(2, 800, flip=0.3).to_csv(paths["worse"], index=False)
    _table(3, 800, labelled=False).to_json(paths["unlabelled"], orient="records", lines=True)
    _table(4, 800, rho=-0.8).to_csv(paths["flipped"], index=False)
    paths["policy"].write_text(FAST)
    return paths


def run(*args: object) -> tuple[int, str, str]:
    result = runner.invoke(app, ["quality", "check", *map(str, args)])
    return result.exit_code, result.stdout, result.stderr


BINARY = ("--target", "y", "--prediction", "pred", "--score", "score", "--json")


def test_unchanged_model_exits_0_with_the_contract(files: dict[str, Path]) -> None:
    code, out, err = run(files["reference"], files["same"], *BINARY, "--policy", files["policy"])
    assert code == 0, err
    data = json.loads(out)
    assert (data["verdict"], data["evaluated"], data["rows"]) == ("ok", "realized", 800)
    assert data["labelled_share"] == 1.0
    assert set(data["metrics"]) == {"accuracy", "precision", "recall", "f1", "roc_auc"}
    accuracy = data["metrics"]["accuracy"]
    assert {"value", "lower", "upper", "reference", "verdict", "kind"} <= set(accuracy)
    assert accuracy["lower"] <= accuracy["value"] <= accuracy["upper"]
    assert set(data["multivariate"]) == {"domain_classifier", "pca_reconstruction"}
    assert data["multivariate"]["domain_classifier"]["verdict"] == "no_drift"
    # the outputs are no features: only a, b, c are compared
    assert set(data["multivariate"]["domain_classifier"]["contributions"]) == {"a", "b", "c"}


def test_degraded_model_exits_1(files: dict[str, Path]) -> None:
    code, out, _ = run(files["reference"], files["worse"], *BINARY, "--no-multivariate")
    assert code == 1
    data = json.loads(out)
    assert data["verdict"] == "degraded"
    assert {"accuracy", "roc_auc"} <= set(data["degraded_metrics"])
    assert data["multivariate"] == {}


def test_unlabelled_live_file_gets_estimates(files: dict[str, Path]) -> None:
    code, out, err = run(files["reference"], files["unlabelled"], *BINARY, "--no-multivariate")
    assert code == 0, err
    data = json.loads(out)
    assert data["evaluated"] == "estimated"
    assert data["labelled_share"] == 0.0
    accuracy = data["metrics"]["accuracy"]
    assert accuracy["kind"] == "estimated"
    assert accuracy["estimate_lower"] <= accuracy["value"] <= accuracy["estimate_upper"]


def test_estimates_without_a_prediction_column_threshold_the_score(
    files: dict[str, Path],
) -> None:
    code, out, _ = run(
        files["reference"], files["unlabelled"], "--target", "y", "--score", "score",
        "--no-multivariate", "--json",
    )  # fmt: skip
    assert code == 0
    assert json.loads(out)["evaluated"] == "estimated"


def test_correlation_flip_is_multivariate_drift(files: dict[str, Path]) -> None:
    code, out, _ = run(files["reference"], files["flipped"], *BINARY, "--policy", files["policy"])
    assert code == 1
    data = json.loads(out)
    assert data["drift_detected"] is True
    assert set(data["drifted_tests"]) == {"domain_classifier", "pca_reconstruction"}


def test_policy_floor_degrades(tmp_path: Path, files: dict[str, Path]) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("quality:\n  floors:\n    accuracy: 0.95\n")
    code, out, _ = run(files["reference"], files["same"], *BINARY, "--policy", policy,
                       "--no-multivariate")  # fmt: skip
    assert code == 1
    assert json.loads(out)["degraded_metrics"] == ["accuracy"]


def test_regression(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    y = rng.normal(size=3000)
    pd.DataFrame({"x": y, "t": y, "p": y + rng.normal(0, 0.3, y.size)}).to_csv(
        tmp_path / "ref.csv", index=False
    )
    ly = rng.normal(size=600)
    pd.DataFrame({"x": ly, "t": ly, "p": ly + rng.normal(0, 0.6, ly.size)}).to_csv(
        tmp_path / "live.csv", index=False
    )
    code, out, _ = run(
        tmp_path / "ref.csv", tmp_path / "live.csv", "--kind", "regression",
        "--target", "t", "--prediction", "p", "--no-multivariate", "--json",
    )  # fmt: skip
    assert code == 1
    data = json.loads(out)
    assert {"mae", "rmse"} <= set(data["degraded_metrics"])


def test_multiclass_with_a_score_prefix(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    classes = np.array(["ant", "bee", "cat"])

    def frame(n: int) -> pd.DataFrame:
        y = rng.integers(0, 3, n)
        logits = rng.normal(size=(n, 3)) + 1.5 * np.eye(3)[y]
        prob = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        out = pd.DataFrame({f"p_{c}": prob[:, i] for i, c in enumerate(classes)})
        out["label"] = classes[y]
        return out

    frame(3000).to_csv(tmp_path / "ref.csv", index=False)
    frame(600).to_csv(tmp_path / "live.csv", index=False)
    code, out, err = run(tmp_path / "ref.csv", tmp_path / "live.csv", "--target", "label",
                         "--score-prefix", "p_", "--no-multivariate", "--json")  # fmt: skip
    assert code == 0, err
    data = json.loads(out)
    assert data["metrics"]["roc_auc"]["verdict"] == "ok"
    assert data["metrics"]["f1"]["value"] > 0.5  # macro F1, predictions = argmax of scores


def test_too_few_labels_and_no_scores_exits_3(tmp_path: Path, files: dict[str, Path]) -> None:
    live = _table(5, 200)
    live["y"] = live["y"].where(np.arange(len(live)) < 10)  # 10 labelled rows of 200
    live.to_csv(tmp_path / "few.csv", index=False)
    code, out, _ = run(files["reference"], tmp_path / "few.csv", "--target", "y",
                       "--prediction", "pred", "--no-multivariate", "--json")  # fmt: skip
    assert code == 3
    assert json.loads(out)["verdict"] == "not_enough_data"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(("--target", "nope", "--prediction", "pred"), "'nope'", id="no-target"),
        pytest.param(("--target", "y", "--prediction", "zzz"), "'zzz'", id="no-prediction"),
        pytest.param(("--target", "y"), "--prediction or --score", id="no-output"),
        pytest.param(("--target", "y", "--prediction", "pred", "--kind", "ranking"), "--kind",
                     id="bad-kind"),
        pytest.param(("--target", "y", "--prediction", "pred", "--score", "score",
                      "--positive", "7"), "--positive", id="bad-positive"),
        pytest.param(("--target", "y", "--kind", "regression"), "--prediction", id="reg-no-pred"),
    ],
)  # fmt: skip
def test_usage_errors_exit_2_and_say_what(
    files: dict[str, Path], args: tuple[str, ...], message: str
) -> None:
    code, _, err = run(files["reference"], files["same"], *args, "--no-multivariate")
    assert code == 2
    assert message in err


def test_unreadable_files_and_policies_exit_2(tmp_path: Path, files: dict[str, Path]) -> None:
    code, _, err = run(tmp_path / "absent.csv", files["same"], *BINARY)
    assert code == 2 and "no such file" in err
    bad = tmp_path / "bad.yaml"
    bad.write_text("quality:\n  floors:\n    acuracy: 0.9\n")
    code, _, err = run(files["reference"], files["same"], *BINARY, "--policy", bad)
    assert code == 2 and "acuracy" in err
    broken = tmp_path / "broken.json"
    broken.write_text("[{")
    code, _, err = run(files["reference"], broken, *BINARY)
    assert code == 2 and "JSON" in err


def test_human_output(files: dict[str, Path]) -> None:
    code, out, _ = run(files["reference"], files["worse"], "--target", "y", "--prediction",
                       "pred", "--score", "score", "--no-multivariate")  # fmt: skip
    assert code == 1
    assert "accuracy" in out and "below the reference band" in out
