"""Detection quality: false alarms per no-drift window and detection of real shifts.

inferwatch's default policy (``evaluate_sample``: exact KS / chi-squared with a
permutation law for sparse tables, Holm across the window's tests at alpha 0.01,
bias-corrected Jensen-Shannon effect floor 0.02) beside alibi-detect 0.13's
``TabularDrift`` with its defaults (KS per numeric column, chi-squared per categorical
one, Bonferroni at p 0.05; in its own environment, ``bench/setup_alibi.sh``), the same
detector at inferwatch's false-alarm budget (Bonferroni at p 0.01), and
evidently 0.7.23's per-column defaults, the ones ``DataDriftPreset`` picks
(``evidently.legacy.calculations.stattests.registry.get_stattest`` with no method: for
a reference of at most 1000 rows KS / chi-squared / z-test at p < 0.05, above it
Wasserstein (normed) / Jensen-Shannon at 0.1), called directly per column on the same
windows. evidently flags a window when any column drifts ("any column"; what an alert
on per-column drift sees) and, separately, by the preset's dataset rule (at least half
of the columns drifted). Every tool sees the same windows.

Data: synthetic (10 columns: 6 numeric, 3 categorical, 1 boolean; reference and live
windows of the same size N drawn fresh per trial; shifts move one column: a mean shift
by a share of its standard deviation, a scale change, a share of rows moved to the
rarest category) and five real tables that ship inside installed packages, no download:
statsmodels' ``fair``, ``randhie`` and ``anes96``, scikit-learn's breast cancer and
diabetes tables. On real data a fresh random half is the reference and the live window
is drawn from the other half; shifts there are biased selections of rows (selection bias
``exp(l z)`` on one column, a share of rows from its top quartile, ``exp(a z^2 / 2)`` for
scale, a raised category share), so values stay real, and two additive shifts (mean
+0.1 and +0.5 sd added to one column). A data set takes part at a size N when N is at
most a quarter of its rows.

Usage: ``python -m bench.drift_quality [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import numpy as np
import pandas as pd

from bench._drift_common import machine, markdown_table, write_results

Shift = Callable[[pd.DataFrame, np.random.Generator], pd.DataFrame]


@dataclass
class Tally:
    """Per (data set, scenario, N): flags of both tools over the trials."""

    ours: list[bool] = field(default_factory=list)
    ours_score: list[float] = field(default_factory=list)
    """Smallest adjusted p among the tests with a large enough effect (1 if none)."""
    evidently_any: list[bool] = field(default_factory=list)
    evidently_dataset: list[bool] = field(default_factory=list)
    alibi: list[bool] = field(default_factory=list)
    """alibi-detect ``TabularDrift`` defaults (KS / chi-squared, Bonferroni at p 0.05)."""
    alibi_01: list[bool] = field(default_factory=list)
    """The same tests at inferwatch's budget: Bonferroni at p 0.01."""


ALIBI_PYTHON = Path(__file__).parent / ".venv-alibi" / "bin" / "python"
ALIBI_RUNNER = Path(__file__).parent / "_alibi_runner.py"


class AlibiBatch:
    """Trials for alibi-detect, which lives in its own environment (``bench/setup_alibi.sh``).

    Each trial's two windows are written as arrays (categories as integer codes) to a
    folder; one child process in ``bench/.venv-alibi`` runs ``TabularDrift`` on all of
    them and the flags go back to the tallies the trial belongs to.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.targets: list[list[Tally]] = []

    def add(self, reference: pd.DataFrame, live: pd.DataFrame, targets: list[Tally]) -> None:
        categorical = [i for i, c in enumerate(reference.columns) if not _is_numeric(reference[c])]
        ref, cur = _encoded(reference, live)
        path = self.folder / f"trial_{len(self.targets):06d}.npz"
        np.savez(path, reference=ref, live=cur, categorical=np.asarray(categorical, dtype=int))
        self.targets.append(targets)

    def run(self) -> None:
        if not self.targets:
            return
        done = subprocess.run(
            [str(ALIBI_PYTHON), str(ALIBI_RUNNER), str(self.folder)],
            capture_output=True,
            text=True,
            check=True,
        )
        flags = json.loads(done.stdout.strip().splitlines()[-1])
        for targets, (default, budget) in zip(self.targets, flags, strict=True):
            for tally in targets:
                tally.alibi.append(bool(default))
                tally.alibi_01.append(bool(budget))


def _is_numeric(column: pd.Series) -> bool:
    return bool(pd.api.types.is_float_dtype(column) or pd.api.types.is_integer_dtype(column))


def _encoded(reference: pd.DataFrame, live: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Both windows as float arrays; categories as codes of their sorted union."""
    ref_columns, cur_columns = [], []
    for column in reference.columns:
        if _is_numeric(reference[column]):
            ref_columns.append(reference[column].to_numpy(dtype=float))
            cur_columns.append(live[column].to_numpy(dtype=float))
            continue
        values = sorted({str(v) for v in reference[column]} | {str(v) for v in live[column]})
        code = {v: i for i, v in enumerate(values)}
        ref_columns.append(np.array([code[str(v)] for v in reference[column]], dtype=float))
        cur_columns.append(np.array([code[str(v)] for v in live[column]], dtype=float))
    return np.column_stack(ref_columns), np.column_stack(cur_columns)


def synthetic(rows: int, rng: np.random.Generator) -> pd.DataFrame:
    """Ten columns: six numeric of several shapes, three categorical, one flag."""
    weights = [0.4, 0.25, 0.15, 0.12, 0.08]
    return pd.DataFrame(
        {
            "n_0": rng.normal(10.0, 2.0, rows),
            "n_1": rng.lognormal(0.0, 0.5, rows),
            "n_2": rng.poisson(4.0, rows).astype(float),
            "n_3": rng.uniform(0.0, 1.0, rows),
            "n_4": rng.normal(0.0, 1.0, rows),
            "n_5": rng.exponential(1.0, rows),
            "c_5": rng.choice([f"v{i}" for i in range(5)], rows, p=weights),
            "c_10": rng.choice([f"w{i}" for i in range(10)], rows),
            "c_20": rng.choice([f"u{i}" for i in range(20)], rows),
            "flag": rng.random(rows) < 0.3,
        }
    )


def mean_shift(column: str, sds: float) -> Shift:
    def apply(frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
        values = frame[column].astype(float)
        return frame.assign(**{column: values + sds * float(values.std())})

    return apply


def scale_shift(column: str, factor: float) -> Shift:
    def apply(frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
        values = frame[column].astype(float)
        return frame.assign(**{column: values.mean() + (values - values.mean()) * factor})

    return apply


def category_mix(column: str, share: float) -> Shift:
    """Move ``share`` of the rows to the column's rarest category (total variation ~share)."""

    def apply(frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
        rarest = frame[column].value_counts().index[-1]
        moved = frame[column].where(rng.random(len(frame)) >= share, rarest)
        return frame.assign(**{column: moved})

    return apply


def scenarios(numeric: str, spread: str, category: str) -> dict[str, Shift | None]:
    return {
        "no drift": None,
        "mean +0.1 sd": mean_shift(numeric, 0.1),
        "mean +0.25 sd": mean_shift(numeric, 0.25),
        "mean +0.5 sd": mean_shift(numeric, 0.5),
        "scale x1.25": scale_shift(spread, 1.25),
        "scale x1.5": scale_shift(spread, 1.5),
        "category mix 5%": category_mix(category, 0.05),
        "category mix 10%": category_mix(category, 0.10),
        "category mix 20%": category_mix(category, 0.20),
    }


def evidently_flags(reference: pd.DataFrame, live: pd.DataFrame) -> tuple[bool, bool]:
    """evidently's per-column default tests: (any column drifted, at least half drifted)."""
    from evidently.legacy.calculations.stattests.registry import get_stattest
    from evidently.legacy.core import ColumnType

    drifted = 0
    for column in reference.columns:
        numeric = pd.api.types.is_float_dtype(reference[column])
        kind = ColumnType.Numerical if numeric else ColumnType.Categorical
        test = get_stattest(reference[column], live[column], kind, None)
        drifted += bool(test(reference[column], live[column], kind, None).drifted)
    return drifted > 0, drifted >= len(reference.columns) / 2


def our_flags(reference: pd.DataFrame, live: pd.DataFrame) -> tuple[bool, float]:
    """inferwatch's default verdict, and the window's score for the post-hoc alpha."""
    from inferwatch.drift.baseline import infer_baseline
    from inferwatch.drift.evaluate import evaluate_sample

    evaluation = evaluate_sample(infer_baseline("quality", reference), live)
    score = min(
        (
            r.p_value
            for r in evaluation.features
            if r.p_value is not None
            and (r.effect is None or r.effect_threshold is None or r.effect >= r.effect_threshold)
        ),
        default=1.0,
    )
    return evaluation.drift_detected, score


def run_trial(
    tally: Tally,
    reference: pd.DataFrame,
    live: pd.DataFrame,
    alibi: AlibiBatch | None,
    *,
    also: Tally | None = None,
) -> None:
    flagged, score = our_flags(reference, live)
    any_column, dataset = evidently_flags(reference, live)
    targets = [tally] if also is None else [tally, also]
    for target in targets:
        target.ours.append(flagged)
        target.ours_score.append(score)
        target.evidently_any.append(any_column)
        target.evidently_dataset.append(dataset)
    if alibi is not None:
        alibi.add(reference, live, targets)


def synthetic_runs(
    sizes: dict[int, tuple[int, int]], seed: int, alibi: AlibiBatch | None
) -> dict[tuple[str, int], Tally]:
    rng = np.random.default_rng(seed)
    tallies: dict[tuple[str, int], Tally] = {}
    for rows, (null_trials, shift_trials) in sizes.items():
        for name, shift in scenarios("n_0", "n_4", "c_5").items():
            tally = tallies.setdefault((name, rows), Tally())
            for _ in range(null_trials if shift is None else shift_trials):
                reference, live = synthetic(rows, rng), synthetic(rows, rng)
                run_trial(tally, reference, live if shift is None else shift(live, rng), alibi)
        print(f"synthetic n={rows} done", flush=True)
    return tallies


def fair_data() -> pd.DataFrame:
    """statsmodels' bundled ``fair`` survey (no download); occupations as categories."""
    from statsmodels.datasets import fair

    frame = fair.load_pandas().data.astype(float)
    for column in ("occupation", "occupation_husb"):
        frame[column] = frame[column].astype(int).astype(str)
    return frame


def randhie_data() -> pd.DataFrame:
    """statsmodels' RAND health insurance experiment (20,190 rows); ``idp`` as a category."""
    from statsmodels.datasets import randhie

    frame = randhie.load_pandas().data.astype(float)
    frame["idp"] = frame["idp"].astype(int).astype(str)
    return frame


def anes_data() -> pd.DataFrame:
    """statsmodels' 1996 American National Election Study (944 rows); party and vote as text."""
    from statsmodels.datasets import anes96

    frame = anes96.load_pandas().data.astype(float).drop(columns=["logpopul"])
    for column in ("PID", "vote"):
        frame[column] = frame[column].astype(int).astype(str)
    return frame


def breast_cancer_data() -> pd.DataFrame:
    """scikit-learn's bundled Wisconsin breast cancer table (569 rows, 30 measurements)."""
    from sklearn.datasets import load_breast_cancer

    frame = load_breast_cancer(as_frame=True).frame
    frame["target"] = frame["target"].astype(str)
    return frame.astype({c: float for c in frame.columns if c != "target"})


def diabetes_data() -> pd.DataFrame:
    """scikit-learn's bundled diabetes table (442 rows); sex as a category."""
    from sklearn.datasets import load_diabetes

    frame = load_diabetes(as_frame=True, scaled=False).frame.astype(float)
    frame["sex"] = frame["sex"].astype(int).astype(str)
    return frame


@dataclass(frozen=True)
class RealData:
    """A data set that ships inside an installed package, and the columns its shifts move."""

    load: Callable[[], pd.DataFrame]
    numeric: str
    """A numeric column with many distinct values: mean and scale shifts, selection bias."""
    category: str
    favoured: str
    """The category whose share the category scenario raises."""


REAL_DATA: dict[str, RealData] = {
    "fair": RealData(fair_data, "yrs_married", "occupation", "2"),
    "randhie": RealData(randhie_data, "lpi", "idp", "1"),
    "anes96": RealData(anes_data, "age", "PID", "1"),
    "breast_cancer": RealData(breast_cancer_data, "mean radius", "target", "0"),
    "diabetes": RealData(diabetes_data, "bmi", "sex", "2"),
}


Selection = Callable[[pd.DataFrame], np.ndarray]
"""Real data: most shifts are a biased choice of the live rows (weights per pool row), so
every live value is still one the data set has; moving discrete answers off their grid
would make any shift trivially visible."""
Edit = Callable[[pd.DataFrame, np.random.Generator], pd.DataFrame]
"""Or an edit of the chosen live rows (a unit-free additive shift of one column)."""


def _standard(values: pd.Series) -> np.ndarray:
    numbers: np.ndarray = values.to_numpy(dtype=float)
    standard: np.ndarray = (numbers - numbers.mean()) / numbers.std()
    return standard


def tilt_mean(column: str, sds: float) -> Selection:
    """Weights ``exp(sds * z)``: to first order a mean shift of ``sds`` standard deviations."""
    return lambda pool: np.exp(sds * _standard(pool[column]))


def tilt_scale(column: str, factor: float) -> Selection:
    """Weights ``exp(a z^2 / 2)``: scales a normal's standard deviation by ``factor``."""
    a = 1.0 - 1.0 / factor**2
    return lambda pool: np.exp(a * _standard(pool[column]) ** 2 / 2)


def favour(column: str, category: str, share: float) -> Selection:
    """Weights that raise ``category``'s share by ``share`` (it must have rows to spare)."""

    def weights(pool: pd.DataFrame) -> np.ndarray:
        chosen = (pool[column] == category).to_numpy()
        base = float(chosen.mean())
        boost = (base + share) * (1 - base) / (base * (1 - base - share))
        return np.where(chosen, boost, 1.0)

    return weights


def mix_top_quartile(column: str, share: float) -> Selection:
    """``share`` of the live rows come from the column's top quartile (a sub-population)."""

    def weights(pool: pd.DataFrame) -> np.ndarray:
        top = (pool[column] >= pool[column].quantile(0.75)).to_numpy()
        in_top = float(top.mean())
        # P(top) becomes in_top (1 - share) + share: top rows weigh more by that ratio.
        boost = (in_top * (1 - share) + share) / in_top
        rest = (1 - in_top * (1 - share) - share) / (1 - in_top)
        return np.where(top, boost, rest)

    return weights


def add_sds(column: str, sds: float) -> Edit:
    """Add ``sds`` standard deviations (of the pool) to every live value of ``column``."""

    def edit(live: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
        values = live[column].astype(float)
        return live.assign(**{column: values + sds * float(values.std())})

    return edit


def real_scenarios(data: RealData) -> dict[str, Selection | Edit | None]:
    return {
        "no drift": None,
        "selection bias 0.1": tilt_mean(data.numeric, 0.1),
        "selection bias 0.25": tilt_mean(data.numeric, 0.25),
        "selection bias 0.5": tilt_mean(data.numeric, 0.5),
        "10% rows from top quartile": mix_top_quartile(data.numeric, 0.10),
        "25% rows from top quartile": mix_top_quartile(data.numeric, 0.25),
        "scale x1.5 (selection)": tilt_scale(data.numeric, 1.5),
        "category +10%": favour(data.category, data.favoured, 0.10),
        "mean +0.1 sd (added)": add_sds(data.numeric, 0.1),
        "mean +0.5 sd (added)": add_sds(data.numeric, 0.5),
    }


EDITS = frozenset({"mean +0.1 sd (added)", "mean +0.5 sd (added)"})


def real_runs(
    sizes: dict[int, tuple[int, int]], seed: int, alibi: AlibiBatch | None
) -> dict[tuple[str, int], Tally]:
    """Every bundled data set: a random half is the reference, live rows come from the other."""
    rng = np.random.default_rng(seed)
    tallies: dict[tuple[str, int], Tally] = {}
    for name, spec in REAL_DATA.items():
        data = spec.load()
        half = len(data) // 2
        for rows, (null_trials, shift_trials) in sizes.items():
            if rows > half // 2:
                continue
            for scenario, shift in real_scenarios(spec).items():
                tally = tallies.setdefault((scenario, rows), Tally())
                dataset_tally = tallies.setdefault((f"{name}: {scenario}", rows), Tally())
                for _ in range(null_trials if shift is None else shift_trials):
                    order = rng.permutation(len(data))
                    reference = data.iloc[order[:half]].reset_index(drop=True)
                    pool = data.iloc[order[half:]].reset_index(drop=True)
                    selection = None
                    if shift is not None and scenario not in EDITS:
                        selection = cast(Selection, shift)(pool)
                    p = None if selection is None else selection / selection.sum()
                    chosen = rng.choice(len(pool), rows, replace=False, p=p)
                    live = pool.iloc[chosen].reset_index(drop=True)
                    if shift is not None and scenario in EDITS:
                        live = cast(Edit, shift)(live, rng)
                    run_trial(tally, reference, live, alibi, also=dataset_tally)
            print(f"{name} n={rows} done", flush=True)
    return tallies


def null_rates(sizes: tuple[int, ...], trials: int, seed: int) -> str:
    """inferwatch alone on many no-drift windows: the false-alarm rate per window size.

    A fresh 2,000-row synthetic reference per trial and a live window of N rows from the
    same distribution; the rate should sit near the 1% budget (alpha 0.01, Holm), down
    to the 20-row floor.
    """
    from inferwatch.drift.baseline import infer_baseline
    from inferwatch.drift.evaluate import evaluate_sample

    rng = np.random.default_rng(seed)
    rows = []
    for size in sizes:
        alarms = sum(
            evaluate_sample(
                infer_baseline("null", synthetic(2000, rng)), synthetic(size, rng)
            ).drift_detected
            for _ in range(trials)
        )
        low, high = _wilson(alarms, trials)
        rows.append(
            [f"{size:,}", trials, f"{100 * alarms / trials:.2f}%", f"{low:.2%} to {high:.2%}"]
        )
        print(f"null n={size} done", flush=True)
    return "\n".join(
        [
            "### inferwatch alone: false alarms per no-drift window, by window size",
            "",
            "Synthetic (10 columns), a fresh 2,000-row reference per window; the interval",
            "is Wilson's 95% interval for the rate.",
            "",
            markdown_table(["N", "windows", "false alarms", "95% interval"], rows),
        ]
    )


def _wilson(hits: int, trials: int) -> tuple[float, float]:
    """Wilson's 95% score interval for a binomial rate."""
    z = 1.959963984540054
    share = hits / trials
    centre = (share + z * z / (2 * trials)) / (1 + z * z / trials)
    half = (
        z * np.sqrt(share * (1 - share) / trials + z * z / (4 * trials**2)) / (1 + z * z / trials)
    )
    return max(0.0, centre - half), min(1.0, centre + half)


def rate(flags: list[bool]) -> str:
    return f"{100 * float(np.mean(flags)):.1f}%" if flags else "-"


def tables(title: str, tallies: dict[tuple[str, int], Tally]) -> str:
    pooled = {key: tally for key, tally in tallies.items() if ": " not in key[0]}
    sizes = sorted({rows for _, rows in pooled})
    null_rows = []
    for rows in sizes:
        null = pooled[("no drift", rows)]
        null_rows.append(
            [
                f"{rows:,}",
                len(null.ours),
                rate(null.ours),
                rate(null.alibi_01),
                rate(null.alibi),
                rate(null.evidently_any),
                rate(null.evidently_dataset),
            ]
        )
    shift_rows = []
    for (name, rows), tally in sorted(pooled.items(), key=lambda item: (item[0][0], item[0][1])):
        if name == "no drift":
            continue
        shift_rows.append(
            [
                name,
                f"{rows:,}",
                len(tally.ours),
                rate(tally.ours),
                rate(tally.alibi_01),
                rate(tally.alibi),
                rate(tally.evidently_any),
                rate(tally.evidently_dataset),
            ]
        )
    parts = [
        f"### {title}: false alarms per no-drift window",
        "",
        markdown_table(
            [
                "N",
                "trials",
                "inferwatch (default, alpha 0.01)",
                "alibi-detect at p 0.01",
                "alibi-detect (default, p 0.05)",
                "evidently any column",
                "evidently dataset (>=50% cols)",
            ],
            null_rows,
        ),
        "",
        f"### {title}: detection rate per window",
        "",
        markdown_table(
            [
                "shift",
                "N",
                "trials",
                "inferwatch (default, alpha 0.01)",
                "alibi-detect at p 0.01",
                "alibi-detect (default, p 0.05)",
                "evidently any column",
                "evidently dataset",
            ],
            shift_rows,
        ),
    ]
    per_data = sorted(
        (key, tally) for key, tally in tallies.items() if key[0].endswith(": no drift")
    )
    if per_data:
        parts += [
            "",
            f"### {title}: false alarms per data set",
            "",
            markdown_table(
                ["data set", "N", "trials", "inferwatch", "alibi-detect", "evidently any column"],
                [
                    [
                        name.split(": ")[0],
                        f"{rows:,}",
                        len(t.ours),
                        rate(t.ours),
                        rate(t.alibi),
                        rate(t.evidently_any),
                    ]
                    for (name, rows), t in per_data
                ],
            ),
        ]
    return "\n".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few trials, a few minutes")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--no-alibi", action="store_true", help="leave alibi-detect out")
    args = parser.parse_args(sys.argv[1:] if __name__ == "__main__" else [])
    warnings.simplefilter("ignore")  # evidently's small-sample warnings
    if args.quick:
        synthetic_sizes = {100: (40, 10), 1000: (40, 10)}
        real_sizes = {100: (40, 10), 500: (20, 10)}
        null_trials = 200
    else:
        synthetic_sizes = {100: (200, 20), 1000: (200, 20), 10_000: (60, 12)}
        real_sizes = {100: (200, 20), 500: (100, 20), 2000: (60, 20)}
        null_trials = 1000
    use_alibi = ALIBI_PYTHON.exists() and not args.no_alibi
    if not use_alibi:
        print("alibi-detect left out (run bench/setup_alibi.sh to include it)", flush=True)
    started = time.perf_counter()
    calibration = null_rates((20, 100, 1000, 10_000), null_trials, args.seed + 2)
    with tempfile.TemporaryDirectory(prefix="inferwatch-alibi-") as folder:
        alibi = AlibiBatch(Path(folder)) if use_alibi else None
        synthetic_tallies = synthetic_runs(synthetic_sizes, args.seed, alibi)
        real_tallies = real_runs(real_sizes, args.seed + 1, alibi)
        if alibi is not None:
            alibi.run()
    elapsed = time.perf_counter() - started
    mode = "quick (--quick)" if args.quick else "full"
    markdown = "\n".join(
        [
            "## Drift detection quality (bench/drift_quality.py)",
            "",
            f"Machine: {machine()}; {elapsed:.0f} s, {mode} run. Seed {args.seed}.",
            "",
            (__doc__ or "").split("\n\n", 1)[1].split("\n\nUsage")[0],
            "",
            tables("Synthetic (10 columns)", synthetic_tallies),
            "",
            tables("Real data bundled in packages (5 data sets, pooled)", real_tallies),
            "",
            calibration,
        ]
    )
    write_results("drift_quality", markdown)
    print(markdown)


if __name__ == "__main__":
    main()
