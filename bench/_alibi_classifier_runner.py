"""alibi-detect's side of ``bench/quality.py`` part 3, run in ``bench/.venv-alibi``.

``ClassifierDrift`` with its scikit-learn backend and the same classifier family as
inferwatch's (``HistGradientBoostingClassifier``, 100 iterations), 5-fold
cross-validation so every row is scored out of fold, p-value threshold 0.01.
Usage: ``python _alibi_classifier_runner.py WORKDIR`` (reads cases.json, runs the
cases listed in its ``alibi_cases``, writes alibi_classifier.json).
"""

import json
import sys
import time
import tracemalloc
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

warnings.filterwarnings("ignore")


def _detect(x_ref: np.ndarray, x: np.ndarray) -> dict[str, Any]:
    from alibi_detect.cd import ClassifierDrift  # type: ignore[import-not-found]
    from sklearn.ensemble import HistGradientBoostingClassifier

    detector = ClassifierDrift(
        x_ref,
        model=HistGradientBoostingClassifier(max_iter=100, random_state=0),
        backend="sklearn",
        p_val=0.01,
        n_folds=5,
        preds_type="probs",
    )
    data: dict[str, Any] = detector.predict(x)["data"]
    return data


def main(work: Path) -> None:
    cases = json.loads((work / "cases.json").read_text())
    x_ref = pd.read_csv(work / cases["reference"]).to_numpy(dtype=np.float32)
    results = []
    for index in cases["alibi_cases"]:
        case = cases["cases"][index]
        x = pd.read_csv(work / case["file"]).to_numpy(dtype=np.float32)
        start = time.perf_counter()
        data = _detect(x_ref, x)
        seconds = time.perf_counter() - start
        peak = None
        if case.get("traced"):  # a second, traced run: tracing slows the timed one
            tracemalloc.start()
            _detect(x_ref, x)
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        results.append(
            {
                "drift": bool(data["is_drift"]),
                "p_val": float(data["p_val"]),
                "seconds": seconds,
                "peak_bytes": peak,
            }
        )
    (work / "alibi_classifier.json").write_text(json.dumps({"results": results}))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
