"""The drift engine: every model with a baseline, evaluated on a schedule.

Each round reads each model's live windows from the collectors' windows in the state
store (in this process or any other sharing the store: the pods' merged summaries and
the merged sample, paths ``summary``/``sample``) or, when ``drift.prometheus_url`` is
set, from the recorders' histograms with PromQL (``histogram`` path); evaluates them
against the model's latest baseline; stores each ``DriftEvaluation`` in the history;
and records it on the board the ``inferwatch_drift_*`` metrics are read from. No
closed window is skipped: a round evaluates every window that closed since the last
one it evaluated (up to ``drift.catch_up_windows``), oldest first. A model whose evaluation
fails is logged (with the traceback) and counted as ``outcome="error"``; the
others, and the next round, go on.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from inferwatch.contracts.results import BinnedCounts, DriftEvaluation
from inferwatch.contracts.windows import LiveWindow, WindowSource
from inferwatch.drift.baseline import Baseline
from inferwatch.drift.engine_errors import NoLiveDataError
from inferwatch.drift.metrics import DriftBoard
from inferwatch.drift.policy import DriftPolicy
from inferwatch.drift.promql import PrometheusClient, read_window_counts
from inferwatch.drift.settings import DriftSettings
from inferwatch.drift.store import BaselineStore, ResultStore

if TYPE_CHECKING:  # the tracker's module loads scikit-learn's neighbours: only when used
    from inferwatch.drift.quality import QualityTracker

log = logging.getLogger("inferwatch.drift.engine")


class WindowEvaluator(Protocol):
    """``inferwatch.drift.evaluate.evaluate_window``'s shape."""

    def __call__(
        self, baseline: Baseline, window: LiveWindow, policy: DriftPolicy | None = None
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


def _default_window_evaluator() -> WindowEvaluator:
    from inferwatch.drift.evaluate import evaluate_window

    return evaluate_window


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
        evaluate_window: WindowEvaluator | None = None,
        evaluate_counts: CountsEvaluator | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        quality: QualityTracker | None = None,
    ) -> None:
        self.baselines = baselines
        self.results = results
        self.settings = settings
        self.windows = windows
        self.prometheus = prometheus
        self.board = board if board is not None else DriftBoard()
        self._evaluate_window = evaluate_window
        self._evaluate_counts = evaluate_counts
        self.clock = clock
        self.quality = quality
        """Judges model quality after each model's drift windows (baselines with outcomes)."""
        self.claim: Callable[[str], bool] | None = None
        """Replicas sharing a store: True when this one owns ``model``'s evaluation this round."""
        self._lock = threading.Lock()
        self._task: asyncio.Task[None] | None = None
        self._stopping: asyncio.Event | None = None
        self.rounds = 0

    @property
    def path(self) -> str:
        """``histogram`` when reading Prometheus, else ``windows`` (the collectors' windows,
        each evaluated on the ``summary`` or ``sample`` path)."""
        return "histogram" if self.prometheus is not None else "windows"

    def latest_window(self, model: str, *, include_open: bool | None = None) -> LiveWindow:
        """The model's newest live window from the collector (the sample path's input).

        ``include_open`` (default: ``drift.include_open_window``) also takes the window
        still collecting rows; evaluating now does, so that "now" means the rows sent.
        """
        source = self.windows()
        if source is None:
            raise NoLiveDataError(
                "this engine has no window source (it runs outside a service): build it "
                "with the collector's windows or set drift.prometheus_url"
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

    def report_window(self, model: str) -> LiveWindow:
        """The window a report shows: the open one when the latest evaluation was of the
        window still collecting ("evaluate now"), else the newest closed one."""
        latest = self.results.latest(model)
        evaluated_open = (
            latest is not None
            and latest.window_end is not None
            and latest.window_end > latest.evaluated_at
        )
        return self.latest_window(model, include_open=True if evaluated_open else None)

    def evaluate(self, model: str) -> DriftEvaluation:
        """Evaluate ``model``'s current window now (the open one included); store,
        export and return the result."""
        with self._lock:
            baseline = self.baselines.require(model)
            if self.prometheus is not None:
                return self._record(model, lambda: self._evaluate_prometheus(baseline))
            window = self.latest_window(model, include_open=True)
            evaluation = self._record(model, lambda: self._evaluate_one(baseline, window))
            self._track_quality(baseline, [window])
            return evaluation

    def evaluate_pending(self, model: str) -> list[DriftEvaluation]:
        """The schedule's step for one model: every closed window not yet evaluated
        against its current baseline, oldest first (the histogram path: one lookback)."""
        with self._lock:
            baseline = self.baselines.require(model)
            if self.prometheus is not None:
                return [self._record(model, lambda: self._evaluate_prometheus(baseline))]
            windows = self._pending_windows(baseline)
            done = [
                self._record(model, functools.partial(self._evaluate_one, baseline, window))
                for window in windows
            ]
            self._track_quality(baseline, windows)
            return done

    def _track_quality(self, baseline: Baseline, windows: list[LiveWindow]) -> None:
        """Model quality next to drift; its failure is logged and never stops drift."""
        if self.quality is None or baseline.quality is None:
            return
        try:
            self.quality.track(baseline, windows)
        except Exception:
            log.error("quality of model %s failed", baseline.model, exc_info=True)

    def _record(self, model: str, run: Callable[[], DriftEvaluation]) -> DriftEvaluation:
        try:
            evaluation = run()
        except NoLiveDataError:
            raise
        except Exception:
            self.board.failed(model)
            raise
        self.results.append(evaluation)
        self.board.record(evaluation)
        _log_verdict(evaluation)
        return evaluation

    def _evaluate_prometheus(self, baseline: Baseline) -> DriftEvaluation:
        assert self.prometheus is not None
        end = self.clock()
        start = end - timedelta(seconds=self.settings.window_seconds)
        counts = read_window_counts(
            self.prometheus, baseline, window_seconds=self.settings.window_seconds, at=end
        )
        evaluate_counts = self._evaluate_counts or _default_counts_evaluator()
        return evaluate_counts(
            baseline, counts, self.settings.policy, window_start=start, window_end=end
        )

    def _evaluate_one(self, baseline: Baseline, window: LiveWindow) -> DriftEvaluation:
        evaluate_window = self._evaluate_window or _default_window_evaluator()
        return evaluate_window(baseline, window, self.settings.policy)

    def _pending_windows(self, baseline: Baseline) -> list[LiveWindow]:
        """Closed windows since the last one evaluated on this baseline version; the
        newest closed one when none was; the open one only when nothing closed yet and
        ``drift.include_open_window`` asks for it."""
        source = self.windows()
        if source is None:
            self.latest_window(baseline.model)  # raises, saying why
        assert source is not None
        last_end = self._last_closed_window_end(baseline)
        settled = self.clock() - timedelta(seconds=self.settings.window_grace_seconds)
        if last_end is None:
            latest = source.latest_window(baseline.model, include_open=False)
            if latest is not None and latest.end > settled:
                return []  # its last writes may still be committing: the next round
            if latest is None and self.settings.include_open_window:
                latest = source.latest_window(baseline.model, include_open=True)
            return [] if latest is None else [latest]
        limit = self.settings.catch_up_windows
        pending = source.closed_windows(baseline.model, ended_after=last_end, limit=limit)
        pending = [w for w in pending if w.end <= settled]  # the rest: the next round
        if len(pending) == limit:
            log.warning(
                "drift: model %s has %d or more closed windows not evaluated; evaluating "
                "the newest %d (drift.catch_up_windows)",
                baseline.model,
                limit,
                limit,
            )
        return pending

    def _last_closed_window_end(self, baseline: Baseline) -> datetime | None:
        """End of the newest window evaluated after it closed, on this baseline version."""
        for past in self.results.history(baseline.model, limit=50):
            if past.baseline_version != baseline.version or past.path == "histogram":
                continue
            if past.window_end is not None and past.window_end <= past.evaluated_at:
                return past.window_end
        return None

    def evaluate_all(self) -> list[DriftEvaluation]:
        """One round over every model with a baseline; failures are logged, not raised."""
        done: list[DriftEvaluation] = []
        for info in self.baselines.models():
            if self.claim is not None and not self.claim(info.model):
                continue  # another replica evaluates this model in this round
            try:
                done += self.evaluate_pending(info.model)
            except NoLiveDataError as exc:
                log.debug("drift: skipping %s: %s", info.model, exc)
            except Exception:
                log.error("drift evaluation of model %s failed", info.model, exc_info=True)
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
