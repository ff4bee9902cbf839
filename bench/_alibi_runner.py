"""Run alibi-detect's ``TabularDrift`` (its defaults) on every trial in a folder.

Runs inside ``bench/.venv-alibi`` (see ``bench/setup_alibi.sh``), which pins numpy < 2
for alibi-detect 0.13. Each ``trial_*.npz`` holds ``reference``, ``live`` (float arrays,
categories as integer codes) and ``categorical`` (their column indices). Prints one JSON
list: per trial, in name order, whether alibi-detect flagged drift at its default
(Bonferroni at p 0.05) and at inferwatch's budget (Bonferroni at p 0.01), as a pair.
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
        data = detector.predict(trial["live"])["data"]
        smallest, tests = float(np.min(data["p_val"])), len(data["p_val"])
        flags.append([bool(data["is_drift"]), smallest < 0.01 / tests])
    print(json.dumps(flags))


if __name__ == "__main__":
    main()
