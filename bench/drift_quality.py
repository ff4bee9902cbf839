"""Detection quality: false alarms per no-drift window and detection of real shifts.

inferwatch's default policy (``evaluate_sample``: KS / chi-squared, Holm across the
window's tests at alpha 0.01, Jensen-Shannon effect floor 0.04) against evidently
0.7.23's per-column defaults, the ones ``DataDriftPreset`` picks
(``evidently.legacy.calculations.stattests.registry.get_stattest`` with no method: for
a reference of at most 1000 rows KS / chi-squared / z-test at p < 0.05, above it
Wasserstein (normed) / Jensen-Shannon at 0.1), called directly per column on the same
windows (the preset's Report machinery adds time, not decisions).

A window is *flagged* by evidently when any column drifts ("any column"; what an alert
on per-column drift sees) and, separately, by the preset's dataset rule (at least half
of the columns drifted). For "ours at equal false alarms" the alpha is chosen post hoc
so that our false-alarm rate on the no-drift windows equals evidently's any-column rate
at that size; the detection rate at that alpha is then comparable.

Data: synthetic (10 columns: 6 numeric, 3 categorical, 1 boolean; reference and live
windows of the same size N drawn fresh per trial) and statsmodels' bundled ``fair``
survey (6366 rows: a fresh random half is the reference, the live window is drawn
without replacement from the other half; shifts there are biased selections of rows).

Usage: ``python -m bench.drift_quality [--quick]``.
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from bench._drift_common import machine, markdown_table, write_results

DEFAULT_ALPHA = 0.01
Shift = Callable[[pd.DataFrame, np.random.Generator], pd.DataFrame]


@dataclass
class Tally:
    """Per (data set, scenario, N): flags of both tools over the trials."""

    ours: list[bool] = field(default_factory=list)
    ours_score: list[float] = field(default_factory=list)
    """Smallest adjusted p among the tests with a large enough effect (1 if none)."""
    evidently_any: list[bool] = field(default_factory=list)
    evidently_dataset: list[bool] = field(default_factory=list)


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


def run_trial(tally: Tally, reference: pd.DataFrame, live: pd.DataFrame) -> None:
    flagged, score = our_flags(reference, live)
    tally.ours.append(flagged)
    tally.ours_score.append(score)
    any_column, dataset = evidently_flags(reference, live)
    tally.evidently_any.append(any_column)
    tally.evidently_dataset.append(dataset)


def synthetic_runs(sizes: dict[int, tuple[int, int]], seed: int) -> dict[tuple[str, int], Tally]:
    rng = np.random.default_rng(seed)
    tallies: dict[tuple[str, int], Tally] = {}
    for rows, (null_trials, shift_trials) in sizes.items():
        for name, shift in scenarios("n_0", "n_4", "c_5").items():
            tally = tallies.setdefault((name, rows), Tally())
            for _ in range(null_trials if shift is None else shift_trials):
                reference, live = synthetic(rows, rng), synthetic(rows, rng)
                run_trial(tally, reference, live if shift is None else shift(live, rng))
        print(f"synthetic n={rows} done", flush=True)
    return tallies


def fair_data() -> pd.DataFrame:
    """statsmodels' bundled ``fair`` survey (no download); occupations as categories."""
    from statsmodels.datasets import fair

    frame = fair.load_pandas().data.astype(float)
    for column in ("occupation", "occupation_husb"):
        frame[column] = frame[column].astype(int).astype(str)
    return frame


Selection = Callable[[pd.DataFrame], np.ndarray]
"""Real data: a shift is a biased choice of the live rows (weights per pool row), so every
live value is still one the survey has; moving discrete answers off their grid would make
any shift trivially visible."""


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


def real_scenarios() -> dict[str, Selection | None]:
    return {
        "no drift": None,
        "mean +0.1 sd": tilt_mean("yrs_married", 0.1),
        "mean +0.25 sd": tilt_mean("yrs_married", 0.25),
        "mean +0.5 sd": tilt_mean("yrs_married", 0.5),
        "scale x1.25": tilt_scale("educ", 1.25),
        "scale x1.5": tilt_scale("educ", 1.5),
        "category mix 5%": favour("occupation", "2", 0.05),
        "category mix 10%": favour("occupation", "2", 0.10),
        "category mix 20%": favour("occupation", "2", 0.20),
    }


def real_runs(sizes: dict[int, tuple[int, int]], seed: int) -> dict[tuple[str, int], Tally]:
    rng = np.random.default_rng(seed)
    data = fair_data()
    half = len(data) // 2
    tallies: dict[tuple[str, int], Tally] = {}
    for rows, (null_trials, shift_trials) in sizes.items():
        for name, selection in real_scenarios().items():
            tally = tallies.setdefault((name, rows), Tally())
            for _ in range(null_trials if selection is None else shift_trials):
                order = rng.permutation(len(data))
                reference = data.iloc[order[:half]].reset_index(drop=True)
                pool = data.iloc[order[half:]].reset_index(drop=True)
                p = None if selection is None else selection(pool)
                chosen = rng.choice(
                    len(pool), rows, replace=False, p=None if p is None else p / p.sum()
                )
                run_trial(tally, reference, pool.iloc[chosen].reset_index(drop=True))
        print(f"fair n={rows} done", flush=True)
    return tallies


def rate(flags: list[bool]) -> str:
    return f"{100 * float(np.mean(flags)):.1f}%" if flags else "-"


def matched_alpha(null: Tally) -> float:
    """The largest alpha at which our no-drift false-alarm rate is at most evidently's.

    Where evidently alarms no more often than our default does, the default alpha stays.
    """
    target = float(np.mean(null.evidently_any))
    if target <= float(np.mean(null.ours)):
        return DEFAULT_ALPHA
    scores = np.sort(np.asarray(null.ours_score))
    index = int(np.floor(target * scores.size))
    if index >= scores.size:
        return 1.0
    return max(DEFAULT_ALPHA, float(scores[index]) if index > 0 else float(scores[0]) * 0.999)


def tables(title: str, tallies: dict[tuple[str, int], Tally]) -> str:
    sizes = sorted({rows for _, rows in tallies})
    null_rows = []
    for rows in sizes:
        null = tallies[("no drift", rows)]
        null_rows.append(
            [
                f"{rows:,}",
                len(null.ours),
                rate(null.ours),
                rate(null.evidently_any),
                rate(null.evidently_dataset),
                f"{matched_alpha(null):.3g}",
            ]
        )
    shift_rows = []
    for (name, rows), tally in sorted(tallies.items(), key=lambda item: (item[0][0], item[0][1])):
        if name == "no drift":
            continue
        alpha = matched_alpha(tallies[("no drift", rows)])
        matched = [score < alpha for score in tally.ours_score]
        shift_rows.append(
            [
                name,
                f"{rows:,}",
                len(tally.ours),
                rate(tally.ours),
                rate(matched),
                rate(tally.evidently_any),
                rate(tally.evidently_dataset),
            ]
        )
    return "\n".join(
        [
            f"### {title}: false alarms per no-drift window",
            "",
            markdown_table(
                [
                    "N",
                    "trials",
                    "ours (default)",
                    "evidently any column",
                    "evidently dataset (>=50% cols)",
                    "our alpha at evidently's rate",
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
                    "ours (default)",
                    "ours at evidently's false-alarm rate",
                    "evidently any column",
                    "evidently dataset",
                ],
                shift_rows,
            ),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few trials, to try it out")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # evidently's and scipy's small-sample warnings
    if args.quick:
        synthetic_sizes = {200: (20, 5), 1000: (20, 5)}
        real_sizes = {200: (20, 5)}
    else:
        synthetic_sizes = {200: (100, 20), 1000: (100, 20), 10_000: (60, 12), 100_000: (10, 4)}
        real_sizes = {200: (100, 20), 1000: (100, 20)}
    started = time.perf_counter()
    synthetic_tallies = synthetic_runs(synthetic_sizes, args.seed)
    real_tallies = real_runs(real_sizes, args.seed + 1)
    elapsed = time.perf_counter() - started
    markdown = "\n".join(
        [
            "## Drift detection quality (bench/drift_quality.py)",
            "",
            f"Machine: {machine()}; {elapsed:.0f} s. Seed {args.seed}.",
            "",
            (__doc__ or "").split("\n\n", 1)[1].split("\n\nUsage")[0],
            "",
            "Synthetic shifts move one column of the live window: a mean shift by a share",
            "of its standard deviation, a scale change around its mean, or a share of the",
            "rows moved to the rarest category. On `fair` the same shifts are made by",
            "choosing the live rows with weights (exp(l z) for the mean, exp(a z^2/2) for",
            "the scale, a boost of occupation 2, 13% of rows), so values stay on the survey's",
            "discrete answers. evidently's any-column rate counts false alarms on other",
            "columns as detections too.",
            "",
            tables("Synthetic (10 columns)", synthetic_tallies),
            "",
            tables("statsmodels `fair` (9 columns, real)", real_tallies),
        ]
    )
    write_results("drift_quality", markdown)
    print(markdown)


if __name__ == "__main__":
    main()
