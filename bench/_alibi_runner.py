"""Run alibi-detect's ``TabularDrift`` (its defaults) on every trial in a folder.

Runs inside ``bench/.venv-alibi`` (see ``bench/setup_alibi.sh``), which pins numpy < 2
for alibi-detect 0.13. Each ``trial_*.npz`` holds ``reference``, ``live`` (float arrays,
categories as integer codes) and ``categorical`` (their column indices). Prints one JSON
list: per trial, in name order, whether alibi-detect flagged drift.
"""

import json
import sys
import warnings
from pathlib import Path

import numpy as np


def main() -> None:
    warnings.simplefilter("ignore")
    from alibi_detect.cd import TabularDrift  # type: ignore[import-not-found]

    flags = []
    for path in sorted(Path(sys.argv[1]).glob("trial_*.npz")):
        trial = np.load(path)
        categories = {int(i): None for i in trial["categorical"]}
        detector = TabularDrift(trial["reference"], p_val=0.05, categories_per_feature=categories)
        flags.append(bool(detector.predict(trial["live"])["data"]["is_drift"]))
    print(json.dumps(flags))


if __name__ == "__main__":
    main()
