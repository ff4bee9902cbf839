"""alibi-detect's side of ``bench/quality.py`` part 3, run in ``bench/.venv-alibi``.

``ClassifierDrift`` with its scikit-learn backend and the same classifier family as
inferwatch's (``HistGradientBoostingClassifier``, 100 iterations), 5-fold
cross-validation so every row is scored out of fold, p-value threshold 0.01.
Usage: ``python _alibi_classifier_runner.py WORKDIR`` (reads cases.json, writes
alibi_classifier.json).
"""

import json
import sys
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

warnings.filterwarnings("ignore")


def main(work: Path) -> None:
    from alibi_detect.cd import ClassifierDrift  # type: ignore[import-not-found]
    from sklearn.ensemble import HistGradientBoostingClassifier

    cases = json.loads((work / "cases.json").read_text())
    x_ref = pd.read_csv(work / cases["reference"]).to_numpy(dtype=np.float32)
    results = []
    for case in cases["cases"]:
        x = pd.read_csv(work / case["file"]).to_numpy(dtype=np.float32)
        tracemalloc.start()
        start = time.perf_counter()
        detector = ClassifierDrift(
            x_ref,
            model=HistGradientBoostingClassifier(max_iter=100, random_state=0),
            backend="sklearn",
            p_val=0.01,
            n_folds=5,
            preds_type="probs",
        )
        data = detector.predict(x)["data"]
        seconds = time.perf_counter() - start
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
