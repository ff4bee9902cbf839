"""Model quality and multivariate drift, next to NannyML (and alibi-detect where it installs).

1. **Performance estimation (CBPE)** on NannyML's bundled synthetic binary classification
   data set (``load_synthetic_binary_classification_dataset``: 50,000 reference rows,
   50,000 analysis rows whose targets ship apart; the analysis half drifts mid-way). Per
   chunk of ``--chunk`` rows: inferwatch's ``ConfidenceEstimator`` estimate of ROC AUC and
   accuracy from scores alone, NannyML 0.13.1 ``CBPE``'s on the same chunks, and the
   realized value (scikit-learn on the chunk's targets); mean absolute error of each.
2. **Realized metrics from counts**: per chunk, ``contracts.quality`` summaries vs
   scikit-learn on the same rows (max abs difference); ROC AUC from score bins vs the
   exact AUC (max difference and the stated bound); the merge of the chunk summaries vs
   scikit-learn on all rows.
3. **Multivariate drift**: a reference of 5,000 rows (a and b correlated 0.8; c, d, e
   independent; all N(0, 1)); live windows of 1,000 rows, fresh per seed, either unchanged
   or with the correlation flipped to -0.8 (every marginal unchanged). Detection rate and
   false alarms over the seeds: inferwatch's domain classifier and PCA reconstruction
   (default policies), NannyML's ``DomainClassifierCalculator`` (LightGBM, its default
   AUC threshold 0.65) and ``DataReconstructionDriftCalculator`` (its default 3-sigma band
   from reference chunks of the live window's size), and univariate KS per column
   (Bonferroni at 0.01) to show what one feature at a time misses. Time and peak memory
   per evaluation: median wall clock (untraced); median peak of Python-visible allocations
   over a second, traced run of the first 2 seeds per scenario (``tracemalloc``: numpy
   arrays included, native allocations of LightGBM or scikit-learn's tree builder not).
   alibi-detect runs the first 10 seeds per scenario (seconds per evaluation).
   Every tool runs single-threaded (``OMP_NUM_THREADS=1``, LightGBM ``n_jobs=1``,
   inferwatch ``threads=1``).

NannyML lives in its own environment (``bench/setup_nannyml.sh``); without it, parts 1 and
3 run inferwatch alone and say so.

Usage: ``python -m bench quality`` or ``python -m bench.quality [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from bench._drift_common import machine, markdown_table, write_results

T = TypeVar("T")
NANNYML_PYTHON = Path(__file__).parent / ".venv-nannyml" / "bin" / "python"
NANNYML_RUNNER = Path(__file__).parent / "_nannyml_runner.py"
ALIBI_PYTHON = Path(__file__).parent / ".venv-alibi" / "bin" / "python"
ALIBI_RUNNER = Path(__file__).parent / "_alibi_classifier_runner.py"
SINGLE_THREAD = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "NML_DISABLE_USAGE_LOGGING": "1",
}


def measure(call: Callable[[], T], trace: bool = True) -> tuple[T, float, int | None]:
    """``call()``, its wall-clock seconds, and (``trace``) its peak traced allocation in
    bytes from a second, traced run: tracing slows allocation-heavy code two- to
    three-fold, so time is never taken with it on."""
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


def peer(python: Path, runner: Path, *args: object) -> bool:
    """Run a peer's runner in its environment; False (and why) when it cannot."""
    if not python.exists():
        return False
    done = subprocess.run(
        [str(python), str(runner), *map(str, args)],
        capture_output=True,
        text=True,
        env={**os.environ, **SINGLE_THREAD},
        check=False,
        timeout=900,
    )
    if done.returncode != 0:
        print(f"{runner.name} {args[0]} failed:\n{done.stderr[-2000:]}", file=sys.stderr)
        return False
    return True


# -- 1 + 2: estimation and realized metrics -------------------------------------------


def load_dataset(work: Path, chunk: int) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """NannyML's synthetic binary set, or (without NannyML) a synthetic stand-in."""
    if peer(NANNYML_PYTHON, NANNYML_RUNNER, "data", work, chunk):
        return (
            pd.read_csv(work / "reference.csv"),
            pd.read_csv(work / "analysis.csv"),
            "NannyML synthetic binary classification (reference 50,000, analysis 50,000 rows)",
        )
    rng = np.random.default_rng(2026)

    def draw(n: int, shift: float) -> pd.DataFrame:
        x = rng.normal(shift, 1.0, n)
        p = 1 / (1 + np.exp(-2 * x))
        y = (rng.random(n) < p).astype(int)
        return pd.DataFrame({"y_pred_proba": p, "y_pred": (p >= 0.5).astype(int),
                             "work_home_actual": y})  # fmt: skip

    analysis = pd.concat([draw(25_000, 0.0), draw(25_000, 1.0)], ignore_index=True)
    return draw(50_000, 0.0), analysis, "synthetic stand-in (NannyML not installed)"


def estimation(
    reference: pd.DataFrame, analysis: pd.DataFrame, chunk: int, work: Path
) -> tuple[str, dict[str, Any]]:
    from sklearn.metrics import accuracy_score, roc_auc_score

    from inferwatch.drift.quality import ConfidenceEstimator, QualityPolicy

    y_ref = reference["work_home_actual"].to_numpy() == 1
    s_ref = reference["y_pred_proba"].to_numpy()
    chunks = [analysis.iloc[i : i + chunk] for i in range(0, len(analysis), chunk)]

    def run() -> list[dict[str, Any]]:
        estimator = ConfidenceEstimator(y_ref, s_ref, QualityPolicy())
        return [
            {
                k: v
                for k, v in estimator.estimate(
                    c["y_pred_proba"].to_numpy(), c["y_pred"].to_numpy() == 1
                ).items()
            }
            for c in chunks
        ]

    ours, ours_s, traced = measure(run)
    ours_peak = traced or 1
    has_peer = peer(NANNYML_PYTHON, NANNYML_RUNNER, "cbpe", work, chunk)
    theirs = json.loads((work / "nannyml_cbpe.json").read_text()) if has_peer else None
    rows: list[list[object]] = []
    errors: dict[str, dict[str, list[Any]]] = {
        m: {"ours": [], "nannyml": [], "inside": []} for m in ("roc_auc", "accuracy")
    }
    for i, c in enumerate(chunks):
        y = c["work_home_actual"].to_numpy()
        realized = {
            "roc_auc": roc_auc_score(y, c["y_pred_proba"]),
            "accuracy": accuracy_score(y, c["y_pred"]),
        }
        row: list[object] = [f"{i} ({i * chunk:,}-{(i + 1) * chunk - 1:,})"]
        for metric in ("roc_auc", "accuracy"):
            mine = ours[i][metric]
            errors[metric]["ours"].append(abs(mine.value - realized[metric]))
            errors[metric]["inside"].append(mine.lower <= realized[metric] <= mine.upper)
            nml = theirs["estimates"][metric][i] if theirs else None
            if nml is not None:
                errors[metric]["nannyml"].append(abs(nml - realized[metric]))
            band = f"{mine.value:.4f} [{mine.lower:.3f}, {mine.upper:.3f}]"
            row += [f"{realized[metric]:.4f}", band, "-" if nml is None else f"{nml:.4f}"]
        rows.append(row)
    table = markdown_table(
        ["chunk (rows)", "realized AUC", "ours est. AUC [band]", "NannyML est. AUC",
         "realized accuracy", "ours est. accuracy [band]", "NannyML est. accuracy"],
        rows,
    )  # fmt: skip
    summary_rows = []
    for metric, e in errors.items():
        ours_mae = float(np.mean(e["ours"]))
        nml_mae = float(np.mean(e["nannyml"])) if e["nannyml"] else None
        summary_rows.append(
            [metric, f"{ours_mae:.4f}", "-" if nml_mae is None else f"{nml_mae:.4f}",
             "-" if nml_mae is None else f"{ours_mae / nml_mae:.2f}",
             f"{sum(e['inside'])}/{len(e['inside'])}"]
        )  # fmt: skip
    summary = markdown_table(
        ["metric", "ours MAE", "NannyML CBPE MAE", "ours / NannyML", "realized inside our band"],
        summary_rows,
    )
    cost = markdown_table(
        ["fit + estimate all chunks", "ours", "NannyML CBPE", "ratio NannyML / ours"],
        [
            ["seconds", f"{ours_s:.2f}", f"{theirs['seconds']:.2f}" if theirs else "-",
             f"{theirs['seconds'] / ours_s:.1f}x" if theirs else "-"],
            ["peak traced MiB", f"{ours_peak / 2**20:.1f}",
             f"{theirs['peak_bytes'] / 2**20:.1f}" if theirs else "-",
             f"{theirs['peak_bytes'] / ours_peak:.1f}x" if theirs else "-"],
        ],
    )  # fmt: skip
    return f"{summary}\n\n{table}\n\n{cost}", {"nannyml": bool(theirs)}


def realized(analysis: pd.DataFrame, chunk: int) -> str:
    from sklearn import metrics as skm

    from inferwatch.contracts.quality import summarise_classifier

    worst = {m: 0.0 for m in ("accuracy", "precision", "recall", "f1")}
    auc_diff = auc_bound = grid_diff = 0.0
    summaries = []
    for i in range(0, len(analysis), chunk):
        c = analysis.iloc[i : i + chunk]
        y, p, s = (
            c["work_home_actual"].to_numpy(),
            c["y_pred"].to_numpy(),
            c["y_pred_proba"].to_numpy(),
        )
        summary = summarise_classifier(y, p, {1: s}, positive=1)
        summaries.append(summary)
        got = summary.metrics()
        for name, func in (("accuracy", skm.accuracy_score), ("precision", skm.precision_score),
                           ("recall", skm.recall_score), ("f1", skm.f1_score)):  # fmt: skip
            worst[name] = max(worst[name], abs(got[name] - func(y, p)))
        auc_diff = max(auc_diff, abs(got["roc_auc"] - skm.roc_auc_score(y, s)))
        auc_bound = max(auc_bound, summary.auc_bound())
        grid = np.clip(np.ceil(s * 100) / 100, 0.01, 1.0)  # the upper edge of each score's bin
        on_edges = summarise_classifier(y, p, {1: grid}, positive=1)
        grid_diff = max(grid_diff, abs(on_edges.roc_auc() - skm.roc_auc_score(y, grid)))
    merged = summaries[0]
    for s in summaries[1:]:
        merged = merged.merge(s)
    all_y, all_p = analysis["work_home_actual"].to_numpy(), analysis["y_pred"].to_numpy()
    merged_diff = max(
        abs(merged.accuracy() - skm.accuracy_score(all_y, all_p)),
        abs(merged.f1() - skm.f1_score(all_y, all_p)),
    )
    rows = [[f"{name} (confusion counts)", f"{value:.1e}"] for name, value in worst.items()]
    merge = f"merge of {len(summaries)} chunk summaries vs all rows (accuracy, F1)"
    rows += [
        ["ROC AUC from 100 score bins vs exact", f"{auc_diff:.1e} (bound <= {auc_bound:.1e})"],
        ["ROC AUC, scores on the bin edges", f"{grid_diff:.1e}"],
        [merge, f"{merged_diff:.1e}"],
    ]
    return markdown_table(["metric, per chunk", "max abs difference to scikit-learn"], rows)


# -- 3: multivariate --------------------------------------------------------------------


def correlated(seed: int, n: int, rho: float) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ab = rng.multivariate_normal([0.0, 0.0], [[1.0, rho], [rho, 1.0]], n)
    return pd.DataFrame({"a": ab[:, 0], "b": ab[:, 1], "c": rng.normal(size=n),
                         "d": rng.normal(size=n), "e": rng.normal(size=n)})  # fmt: skip


TRACED = 2
"""Seeds per scenario whose evaluations are run a second time, traced, for memory."""
ALIBI_SEEDS = 10
"""Seeds per scenario alibi-detect runs (its evaluations take seconds each)."""
DOMAIN = "inferwatch domain classifier (HGB, 5-fold, p < 0.01, AUC >= 0.55)"
PCA = "inferwatch PCA reconstruction (65% variance, 3 sigma)"


TRACED = 2
"""Seeds per scenario whose evaluations are run a second time, traced, for memory."""
ALIBI_SEEDS = 10
"""Seeds per scenario alibi-detect runs (its evaluations take seconds each)."""
DOMAIN = "inferwatch domain classifier (HGB, 5-fold, p < 0.01, AUC >= 0.55)"
PCA = "inferwatch PCA reconstruction (65% variance, 3 sigma)"


def smallest_ks(reference: pd.DataFrame, live: pd.DataFrame) -> float:
    """The smallest per-column KS p-value."""
    from scipy.stats import ks_2samp

    return min(float(ks_2samp(reference[c], live[c]).pvalue) for c in reference.columns)


def multivariate(seeds: int, work: Path) -> tuple[str, dict[str, Any]]:
    from inferwatch.drift.multivariate import (
        MultivariatePolicy,
        domain_classifier_test,
        pca_reconstruction_test,
    )

    reference = correlated(0, 5000, 0.8)
    reference.to_csv(work / "mv_reference.csv", index=False)
    cases = []
    for scenario, rho in (("no change", 0.8), ("correlation flip", -0.8)):
        for seed in range(1, seeds + 1):
            live = correlated(1000 + seed, 1000, rho)
            name = f"mv_{'flip' if rho < 0 else 'same'}_{seed}.csv"
            live.to_csv(work / name, index=False)
            cases.append(
                {"file": name, "scenario": scenario, "frame": live, "traced": seed <= TRACED,
                 "alibi": seed <= ALIBI_SEEDS}
            )  # fmt: skip
    (work / "cases.json").write_text(json.dumps(
        {"reference": "mv_reference.csv", "live_rows": 1000,
         "cases": [{"file": c["file"], "traced": c["traced"]} for c in cases],
         "alibi_cases": [i for i, c in enumerate(cases) if c["alibi"]]}
    ))  # fmt: skip
    policy = MultivariatePolicy()
    tally: dict[str, dict[str, list[Any]]] = {}

    def note(method: str, scenario: str, flag: bool, seconds: float, peak: int | None) -> None:
        entry = tally.setdefault(
            method,
            {
                "no change": [],
                "correlation flip": [],
                "s no change": [],
                "s correlation flip": [],
                "mem": [],
            },
        )
        entry[scenario].append(flag)
        entry[f"s {scenario}"].append(seconds)
        if peak is not None:
            entry["mem"].append(peak)

    for case in cases:
        live = case["frame"]
        trace = case["traced"]
        dc, s, m = measure(partial(domain_classifier_test, reference, live, policy), trace)
        note(DOMAIN, case["scenario"], dc.drifted, s, m)
        pca, s, m = measure(partial(pca_reconstruction_test, reference, live, policy), trace)
        note(PCA, case["scenario"], pca.drifted, s, m)
        ks, s, m = measure(partial(smallest_ks, reference, live), trace)
        note("univariate KS per column (Bonferroni 0.01)", case["scenario"], ks < 0.01 / 5, s, m)
    has_nml = peer(NANNYML_PYTHON, NANNYML_RUNNER, "multivariate", work)
    if has_nml:
        theirs = json.loads((work / "nannyml_multivariate.json").read_text())
        for case, result in zip(cases, theirs["results"], strict=True):
            note("NannyML DomainClassifierCalculator (LightGBM, AUC > 0.65)", case["scenario"],
                 result["dc_alert"], result["dc_seconds"], result["dc_peak_bytes"])  # fmt: skip
            note("NannyML DataReconstructionDriftCalculator (65% variance, 3 sigma)",
                 case["scenario"], result["drd_alert"], result["drd_seconds"],
                 result["drd_peak_bytes"])  # fmt: skip
    has_alibi = peer(ALIBI_PYTHON, ALIBI_RUNNER, work)
    if has_alibi:
        theirs = json.loads((work / "alibi_classifier.json").read_text())
        alibi_cases = [c for c in cases if c["alibi"]]
        for case, result in zip(alibi_cases, theirs["results"], strict=True):
            note("alibi-detect ClassifierDrift (sklearn HGB, 5-fold, p < 0.01)", case["scenario"],
                 result["drift"], result["seconds"], result["peak_bytes"])  # fmt: skip
    rows = [
        [method, f"{sum(t['correlation flip'])}/{len(t['correlation flip'])}",
         f"{sum(t['no change'])}/{len(t['no change'])}",
         f"{np.median(t['s no change']):.3f} / {np.median(t['s correlation flip']):.3f}",
         f"{np.median(t['mem']) / 2**20:.1f}" if t["mem"] else "-"]
        for method, t in tally.items()
    ]  # fmt: skip
    table = markdown_table(
        ["method", "detected: correlation flip", "false alarms: no change",
         "median s / evaluation: no change / flip", "median peak traced MiB"],
        rows,
    )  # fmt: skip
    return table, {"nannyml": has_nml, "alibi": has_alibi}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 seeds instead of 20")
    parser.add_argument("--chunk", type=int, default=5000, help="rows per chunk (part 1)")
    args = parser.parse_args(
        argv if argv is not None else sys.argv[2:] if sys.argv[1:2] == ["quality"] else sys.argv[1:]
    )
    seeds = 5 if args.quick else 20
    os.environ.update({k: v for k, v in SINGLE_THREAD.items() if k != "NML_DISABLE_USAGE_LOGGING"})
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-quality-") as tmp:
        work = Path(tmp)
        reference, analysis, source = load_dataset(work, args.chunk)
        part1, seen1 = estimation(reference, analysis, args.chunk, work)
        part2 = realized(analysis, args.chunk)
        part3, seen3 = multivariate(seeds, work)
    peers = [
        "NannyML 0.13.1 ran in bench/.venv-nannyml"
        if seen1["nannyml"]
        else "NannyML was not available (bench/setup_nannyml.sh): its columns are empty"
    ]
    peers.append("alibi-detect 0.13.0 ClassifierDrift ran in bench/.venv-alibi" if seen3["alibi"]
                 else "alibi-detect was not run: bench/.venv-alibi is absent or failed "
                      "(bench/setup_alibi.sh)")  # fmt: skip
    doc = (__doc__ or "").split("\n\n", 1)[1].rsplit("\n\nUsage", 1)[0]
    quick = ", quick (--quick) run" if args.quick else ""
    markdown = f"""## Model quality and multivariate drift (bench/quality.py)

Machine: {machine()}; {time.perf_counter() - started:.0f} s{quick}.
Data: {source}; chunks of {args.chunk:,} rows; {seeds} seeds per multivariate scenario.
Peers: {"; ".join(peers)}.

{doc}

### 1. Estimated performance before labels (CBPE) vs realized, per chunk

{part1}

### 2. Realized metrics from mergeable counts vs scikit-learn on the same rows

{part2}

### 3. Multivariate drift: correlation flip with unchanged marginals

{part3}
"""
    path = write_results("quality", markdown)
    print(markdown)
    print(f"written to {path}")


if __name__ == "__main__":
    main()
