"""NannyML's side of ``bench/quality.py``, run in NannyML's own environment.

NannyML 0.13 pins versions inferwatch's environment does not share, so it lives in a
throwaway venv (``bench/setup_nannyml.sh``). Usage::

    python _nannyml_runner.py data WORKDIR CHUNK       # write NannyML's synthetic set
    python _nannyml_runner.py cbpe WORKDIR CHUNK       # CBPE estimates per chunk
    python _nannyml_runner.py multivariate WORKDIR     # DC and PCA on the cases in WORKDIR

Results go to WORKDIR/*.json. Threads are limited to one (``OMP_NUM_THREADS=1`` and
LightGBM ``n_jobs=1``) as on the inferwatch side.
"""

import json
import sys
import time
import tracemalloc
import warnings
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd

warnings.filterwarnings("ignore")


def _measure(call: Callable[[], Any], trace: bool = True) -> tuple[Any, float, int | None]:
    """Result, untraced seconds, and the peak of a second, traced run (``trace``)."""
    start = time.perf_counter()
    out = call()
    seconds = time.perf_counter() - start
    if not trace:
        return out, seconds, None
    tracemalloc.start()
    call()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return out, seconds, peak


def data(work: Path) -> None:
    import nannyml as nml  # type: ignore[import-not-found, unused-ignore]

    reference, analysis, targets = nml.load_synthetic_binary_classification_dataset()
    analysis = analysis.merge(targets, on="id")
    reference.to_csv(work / "reference.csv", index=False)
    analysis.to_csv(work / "analysis.csv", index=False)


def cbpe(work: Path, chunk: int) -> None:
    import nannyml as nml  # type: ignore[import-not-found, unused-ignore]

    reference = pd.read_csv(work / "reference.csv")
    analysis = pd.read_csv(work / "analysis.csv").drop(columns=["work_home_actual"])

    def run() -> Any:
        estimator = nml.CBPE(
            y_pred_proba="y_pred_proba",
            y_pred="y_pred",
            y_true="work_home_actual",
            metrics=["roc_auc", "accuracy"],
            chunk_size=chunk,
            problem_type="classification_binary",
        )
        estimator.fit(reference)
        return estimator.estimate(analysis).filter(period="analysis").to_df()

    frame, seconds, peak = _measure(run)
    out = {
        metric: [float(v) for v in frame[(metric, "value")]] for metric in ("roc_auc", "accuracy")
    }
    (work / "nannyml_cbpe.json").write_text(
        json.dumps({"estimates": out, "seconds": seconds, "peak_bytes": peak})
    )


def _analysis(calculator: Any, live: pd.DataFrame) -> pd.DataFrame:
    return calculator.calculate(live).filter(period="analysis").to_df()


def multivariate(work: Path) -> None:
    import nannyml as nml  # type: ignore[import-not-found, unused-ignore]

    cases = json.loads((work / "cases.json").read_text())
    reference = pd.read_csv(work / cases["reference"])
    features = [c for c in reference.columns]
    chunk = cases["live_rows"]
    params = dict(nml.drift.multivariate.domain_classifier.calculator.DEFAULT_LGBM_HYPERPARAMS)
    params.update(n_jobs=1, verbose=-1)
    params.pop("silent", None)
    dc, fit_dc, _ = _measure(
        lambda: nml.DomainClassifierCalculator(
            feature_column_names=features, chunk_size=chunk, hyperparameters=params
        ).fit(reference),
        trace=False,
    )
    drd, fit_drd, _ = _measure(
        lambda: nml.DataReconstructionDriftCalculator(column_names=features, chunk_size=chunk).fit(
            reference
        ),
        trace=False,
    )
    results = []
    for case in cases["cases"]:
        live = pd.read_csv(work / case["file"])
        trace = bool(case.get("traced"))
        dc_frame, dc_s, dc_peak = _measure(partial(_analysis, dc, live), trace)
        drd_frame, drd_s, drd_peak = _measure(partial(_analysis, drd, live), trace)
        results.append(
            {
                "file": case["file"],
                "dc_alert": bool(dc_frame[("domain_classifier_auroc", "alert")].any()),
                "dc_auc": float(dc_frame[("domain_classifier_auroc", "value")].iloc[0]),
                "dc_seconds": dc_s,
                "dc_peak_bytes": dc_peak,
                "drd_alert": bool(drd_frame[("reconstruction_error", "alert")].any()),
                "drd_seconds": drd_s,
                "drd_peak_bytes": drd_peak,
            }
        )
    (work / "nannyml_multivariate.json").write_text(
        json.dumps({"fit_seconds": {"dc": fit_dc, "drd": fit_drd}, "results": results})
    )


if __name__ == "__main__":
    what, work = sys.argv[1], Path(sys.argv[2])
    if what == "data":
        data(work)
    elif what == "cbpe":
        cbpe(work, int(sys.argv[3]))
    else:
        multivariate(work)
