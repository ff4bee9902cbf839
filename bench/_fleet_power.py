"""Fleet bench, item 4: detection power of the summary path beside the raw-sample path.

Per window of ``n`` rows (same seeds for every path and shift), ``x0`` of the 40-feature
model is shifted by 0, 0.1, 0.2 or 0.3 of its standard deviation. The summary path gets a
``LiveWindow`` as the collector holds it: every feature's counts over all ``n`` rows
(``contracts.summary.feature_summary``), and the sample merged from 10 pods' summaries
(30 intervals each, every interval's sample the recorder's default of 200 rows at most)
with the contract's merge into a reservoir of the collector's default size; it is judged
by ``evaluate_window`` (binned methods and the missing rate on all traffic's counts, KS
on the merged sample). The peer is the raw-sample path as it was: the collector's
reservoir of the same size over the raw records, judged by ``evaluate_sample``. A third
row keeps a merged sample of 1,000 rows, what a window would hold if the pods' samples
were too small to fill it. Power is the share of shifted windows where ``x0`` drifted;
the false-alarm rate the share of unshifted windows with any drift.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from bench._fleet_data import columns
from inferwatch.contracts.defaults import DEFAULT_SAMPLE_SIZE
from inferwatch.contracts.sample import merge_samples
from inferwatch.contracts.summary import feature_summary
from inferwatch.contracts.windows import LiveWindow
from inferwatch.drift.baseline import Baseline
from inferwatch.drift.evaluate import evaluate_sample, evaluate_window
from inferwatch.exporters.recorder.settings import INTERVAL_SAMPLE_SIZE

SHIFTS = (0.0, 0.1, 0.2, 0.3)
PODS = 10
INTERVALS = 30
"""10 s intervals in the collector's default 300 s window."""
SMALL_SAMPLE = 1000


@dataclass
class Power:
    """Windows flagged per path and shift for one ``n``."""

    n: int
    windows: int
    flagged: dict[tuple[str, float], int]
    merged_sample: int
    """Rows in the summary path's merged sample (the last window)."""


def merged_indices(n: int, capacity: int, rng: np.random.Generator) -> np.ndarray:
    """Row indices of the window's sample after merging every pod interval's summary."""
    bounds = np.linspace(0, n, PODS * INTERVALS + 1).astype(int)
    window: list[int] = []
    seen = 0
    for lo, hi in itertools.pairwise(bounds):
        rows = int(hi - lo)
        picked = lo + rng.choice(rows, size=min(INTERVAL_SAMPLE_SIZE, rows), replace=False)
        window = merge_samples(window, seen, picked.tolist(), rows, capacity=capacity, rng=rng)
        seen += rows
    return np.array(sorted(window), dtype=np.int64)


def _window(base: Baseline, data: dict[str, np.ndarray], n: int, rows: np.ndarray) -> LiveWindow:
    counts = {spec.name: feature_summary(spec, data[spec.name]) for spec in base.features}
    now = datetime.now(UTC)
    return LiveWindow(
        model=base.model,
        start=now,
        end=now,
        rows=n,
        sample=pd.DataFrame({k: v[rows] for k, v in data.items()}),
        baseline_version=base.version,
        counts=counts,
    )


def power(base: Baseline, n: int, windows: int, seed: int = 2026) -> Power:
    """Flagged windows per (path, shift) over ``windows`` windows of ``n`` rows."""
    flagged: dict[tuple[str, float], int] = {}
    merged_size = 0
    for w in range(windows):
        rng = np.random.default_rng([seed, n, w])
        data = columns(n, rng)
        merged = merged_indices(n, DEFAULT_SAMPLE_SIZE, rng)
        small = merged_indices(n, SMALL_SAMPLE, rng)
        raw = np.sort(rng.choice(n, size=min(n, DEFAULT_SAMPLE_SIZE), replace=False))
        merged_size = len(merged)
        for shift in SHIFTS:
            shifted = {**data, "x0": data["x0"] + shift}
            evaluations = {
                "summary": evaluate_window(base, _window(base, shifted, n, merged)),
                "summary, 1,000-row sample": evaluate_window(
                    base, _window(base, shifted, n, small)
                ),
                "raw sample": evaluate_sample(
                    base, pd.DataFrame({k: v[raw] for k, v in shifted.items()})
                ),
            }
            for path, evaluation in evaluations.items():
                if shift:
                    hit = any(f.feature == "x0" and f.drifted for f in evaluation.features)
                else:
                    hit = evaluation.drift_detected
                flagged[path, shift] = flagged.get((path, shift), 0) + int(hit)
    return Power(n, windows, flagged, merged_size)
