"""The drift engine: every model with a baseline, evaluated on a schedule.

Each round reads each model's live window, from the in-process collector
(sample path) or, when ``drift.prometheus_url`` is set, from the recorder's
histograms with PromQL (histogram path); evaluates it against the model's latest
baseline; stores the ``DriftEvaluation`` in the history; and records it on the
board the ``inferwatch_drift_*`` metrics are read from. A model whose evaluation
fails is logged (with the traceback) and counted as ``outcome="error"``; the
others, and the next round, go on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import pandas as pd

from inferwatch.contracts.results import BinnedCounts, DriftEvaluation
from inferwatch.contracts.windows import LiveWindow, WindowSource
from inferwatch.drift.baseline import Baseline
from inferwatch.drift.engine_errors import NoLiveDataError
from inferwatch.drift.metrics import DriftBoard
from inferwatch.drift.policy import DriftPolicy
from inferwatch.drift.promql import PrometheusClient, read_window_counts
from inferwatch.drift.settings import DriftSettings
from inferwatch.drift.store import BaselineStore, ResultStore

log = logging.getLogger("inferwatch.drift.engine")


class SampleEvaluator(Protocol):
    """``inferwatch.drift.evaluate.evaluate_sample``'s shape."""

    def __call__(
        self,
        baseline: Baseline,
        live: pd.DataFrame,
        policy: DriftPolicy | None = None,
        *,
        window_start: datetime | None = None,
        window_end: datetime | None = None,
    ) -> DriftEvaluation: ...


class CountsEvaluator(Protocol):
    """``inferwatch.drift.evaluate.evaluate_counts``'s shape."""

    def __call__(
        self,
        baseline: Baseline,
        live: Mapping[str, BinnedCounts],
        policy: DriftPolicy | None = None,
        *,
        window_start: datetime | None = None,
        window_end: datetime | None = None,
    ) -> DriftEvaluation: ...


def _default_sample_evaluator() -> SampleEvaluator:
    from inferwatch.drift.evaluate import evaluate_sample

    return evaluate_sample


def _default_counts_evaluator() -> CountsEvaluator:
    from inferwatch.drift.evaluate import evaluate_counts

    return evaluate_counts


WindowsGetter = Callable[[], WindowSource | None]


def _log_verdict(evaluation: DriftEvaluation) -> None:
    """One info line per evaluation, with the model and the drifted features."""
    log.info(
        "drift verdict",
        extra={
            "fields": {
                "model": evaluation.model,
                "verdict": evaluation.verdict,
                "features": list(evaluation.drifted_features),
                "rows": evaluation.rows,
                "baseline_version": evaluation.baseline_version,
                "path": evaluation.path,
            }
        },
    )


class DriftEngine:
    """Evaluates models against their baselines, now (``evaluate``) or on a schedule."""

    def __init__(
        self,
        baselines: BaselineStore,
        results: ResultStore,
        settings: DriftSettings,
        *,
        windows: WindowsGetter = lambda: None,
        prometheus: PrometheusClient | None = None,
        board: DriftBoard | None = None,
        evaluate_sample: SampleEvaluator | None = None,
        evaluate_counts: CountsEvaluator | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.baselines = baselines
        self.results = results
        self.settings = settings
        self.windows = windows
        self.prometheus = prometheus
        self.board = board if board is not None else DriftBoard()
        self._evaluate_sample = evaluate_sample
        self._evaluate_counts = evaluate_counts
        self.clock = clock
        self.claim: Callable[[str], bool] | None = None
        """Replicas sharing a store: True when this one owns ``model``'s evaluation this round."""
        self._lock = threading.Lock()
        self._task: asyncio.Task[None] | None = None
        self._stopping: asyncio.Event | None = None
        self.rounds = 0

    @property
    def path(self) -> str:
        """``histogram`` when reading Prometheus, else ``sample``."""
        return "histogram" if self.prometheus is not None else "sample"

    def latest_window(self, model: str, *, include_open: bool | None = None) -> LiveWindow:
        """The model's newest live window from the collector (the sample path's input).

        ``include_open`` (default: ``drift.include_open_window``) also takes the window
        still collecting rows; evaluating now does, so that "now" means the rows sent.
        """
        source = self.windows()
        if source is None:
            raise NoLiveDataError(
                "no collector runs in this process, so there are no live samples; run the "
                "collector part alongside the drift engine (`inferwatch up`)"
            )
        open_too = self.settings.include_open_window if include_open is None else include_open
        window = source.latest_window(model, include_open=open_too)
        if window is not None:
            return window
        if open_too:
            raise NoLiveDataError(
                f"model {model!r} has no live rows: the collector has accepted no records for "
                f"it (POST them to /collector/models/{model}/records)"
            )
        raise NoLiveDataError(
            f"model {model!r} has no closed window yet: windows close every "
            "collector.window_seconds; evaluate the open one with POST "
            f"/drift/models/{model}/evaluate or set drift.include_open_window=true"
        )

    def evaluate(self, model: str, *, force: bool = True) -> DriftEvaluation | None:
        """Evaluate ``model``'s current window; store, export and return the result.

        With ``force=False`` (the schedule), a sample-path window already
        evaluated against the same baseline version is skipped (None).
        """
        with self._lock:
            baseline = self.baselines.require(model)
            try:
                evaluation = self._evaluate(baseline, force=force)
            except NoLiveDataError:
                raise
            except Exception:
                self.board.failed(model)
                raise
            if evaluation is None:
                return None
            self.results.append(evaluation)
            self.board.record(evaluation)
            _log_verdict(evaluation)
            return evaluation

    def _evaluate(self, baseline: Baseline, *, force: bool) -> DriftEvaluation | None:
        policy = self.settings.policy
        if self.prometheus is not None:
            end = self.clock()
            start = end - timedelta(seconds=self.settings.window_seconds)
            counts = read_window_counts(
                self.prometheus, baseline, window_seconds=self.settings.window_seconds, at=end
            )
            evaluate_counts = self._evaluate_counts or _default_counts_evaluator()
            return evaluate_counts(baseline, counts, policy, window_start=start, window_end=end)
        window = self.latest_window(baseline.model, include_open=True if force else None)
        if not force and self._already_evaluated(baseline, window):
            return None
        evaluate_sample = self._evaluate_sample or _default_sample_evaluator()
        return evaluate_sample(
            baseline, window.sample, policy, window_start=window.start, window_end=window.end
        )

    def _already_evaluated(self, baseline: Baseline, window: LiveWindow) -> bool:
        if not window.closed:
            return False
        last = self.results.latest(baseline.model)
        return (
            last is not None
            and last.path == "sample"
            and last.baseline_version == baseline.version
            and last.window_start == window.start
            and last.window_end == window.end
        )

    def evaluate_all(self) -> list[DriftEvaluation]:
        """One round over every model with a baseline; failures are logged, not raised."""
        done: list[DriftEvaluation] = []
        for info in self.baselines.models():
            if self.claim is not None and not self.claim(info.model):
                continue  # another replica evaluates this model in this round
            try:
                evaluation = self.evaluate(info.model, force=False)
            except NoLiveDataError as exc:
                log.debug("drift: skipping %s: %s", info.model, exc)
                continue
            except Exception:
                log.error("drift evaluation of model %s failed", info.model, exc_info=True)
                continue
            if evaluation is not None:
                done.append(evaluation)
        self.rounds += 1
        return done

    async def start(self) -> None:
        """Restore the latest results for the metrics, then start the schedule."""
        if self._task is not None:
            return
        self.board.restore(self.results.latest_all().values())
        self._stopping = asyncio.Event()
        self._task = asyncio.create_task(self._run(self._stopping), name="drift-engine")

    async def _run(self, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            try:
                await asyncio.to_thread(self.evaluate_all)
            except Exception:
                log.error("drift engine round failed", exc_info=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), timeout=self.settings.interval_seconds)

    async def stop(self) -> None:
        """Stop the schedule and wait for the running round; idempotent."""
        task, self._task = self._task, None
        if task is None or self._stopping is None:
            return
        self._stopping.set()
        try:
            await asyncio.wait_for(task, timeout=30)
        except TimeoutError:
            task.cancel()
            log.error("drift engine did not stop within 30s; cancelled")

    def problem(self) -> str | None:
        """Why the schedule is not running, or None."""
        task = self._task
        if task is not None and task.done():
            return "drift engine loop stopped unexpectedly"
        return None

    def describe(self) -> dict[str, Any]:
        """What the engine does, for the API."""
        return {
            "path": self.path,
            "interval_seconds": self.settings.interval_seconds,
            "window_seconds": self.settings.window_seconds if self.prometheus else None,
            "rounds": self.rounds,
        }
