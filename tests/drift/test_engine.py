"""The engine on a fake collector (real ``LiveWindow``s): history, metrics, failures, schedule."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from prometheus_client import CollectorRegistry

from inferwatch.contracts.windows import LiveWindow
from inferwatch.drift.baseline import Baseline
from inferwatch.drift.engine import DriftEngine
from inferwatch.drift.engine_errors import BaselineNotFoundError, NoLiveDataError
from inferwatch.drift.metrics import DriftCollector
from inferwatch.drift.settings import DriftSettings
from inferwatch.drift.store import BaselineStore, ResultStore
from inferwatch.storage import SqlStorage, open_storage

from .conftest import HeldWindows

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _frame(
    seed: int, rows: int, shift: float = 0.0, plans: tuple[float, ...] = (0.6, 0.3, 0.1)
) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "x": rng.normal(shift, 1.0, rows),
            "plan": rng.choice(["free", "pro", "team"], rows, p=list(plans)),
        }
    )


class FakeWindows(HeldWindows):
    """The collector's ``WindowSource``, holding real windows set by the test."""

    def __init__(self) -> None:
        self.windows: dict[str, list[LiveWindow]] = {}

    def models(self) -> list[str]:
        return sorted(self.windows)

    def held(self, model: str) -> list[LiveWindow]:
        return self.windows.get(model, [])

    def put(self, model: str, frame: pd.DataFrame, minute: int) -> LiveWindow:
        start = T0 + timedelta(minutes=minute)
        window = LiveWindow(
            model=model,
            start=start,
            end=start + timedelta(minutes=1),
            rows=len(frame),
            sample=frame,
        )
        self.windows.setdefault(model, []).append(window)
        return window


class Setup:
    def __init__(self, path: Path, evaluate_window: Any = None) -> None:
        self.storage: SqlStorage = open_storage(path)
        self.storage.migrate()
        self.baselines = BaselineStore(self.storage)
        self.results = ResultStore(self.storage)
        self.windows = FakeWindows()
        self.registry = CollectorRegistry()
        self.engine = DriftEngine(
            self.baselines,
            self.results,
            DriftSettings(),
            windows=lambda: self.windows,
            evaluate_window=evaluate_window,
        )
        self.registry.register(DriftCollector(self.engine.board))

    def value(self, name: str, **labels: str) -> float | None:
        return self.registry.get_sample_value(name, labels)


@pytest.fixture
def setup(tmp_path: Path) -> Setup:
    return Setup(tmp_path / "state.db")


def test_a_round_stores_history_and_exports_metrics(setup: Setup) -> None:
    setup.baselines.create("churn", _frame(1, 2000))
    setup.windows.put("churn", _frame(2, 1000), minute=0)

    done = setup.engine.evaluate_all()

    assert [e.model for e in done] == ["churn"]
    stored = setup.results.latest("churn")
    assert stored is not None and stored.verdict == "no_drift"
    assert stored == done[0]  # every field survives the store, adjusted and raw p-values too
    assert stored.window_start == T0 and stored.baseline_version == 1
    assert setup.value("inferwatch_drift_dataset_detected", model="churn") == 0.0
    assert setup.value("inferwatch_drift_window_rows", model="churn") == 1000.0
    assert setup.value("inferwatch_drift_dataset_drifted_features", model="churn") == 0.0
    assert (
        setup.value("inferwatch_drift_evaluations_total", model="churn", outcome="no_drift") == 1.0
    )
    assert setup.value(
        "inferwatch_drift_last_evaluation_timestamp_seconds", model="churn"
    ) == pytest.approx(stored.evaluated_at.timestamp())
    for result in stored.features:
        labels = {"model": "churn", "feature": result.feature, "method": result.method}
        assert setup.value("inferwatch_drift_detected", **labels) == 0.0
        assert setup.value("inferwatch_drift_threshold", **labels) == result.threshold
        if result.statistic is not None:
            assert setup.value("inferwatch_drift_score", **labels) == pytest.approx(
                result.statistic
            )
        if result.p_value is not None:
            assert setup.value("inferwatch_drift_p_value", **labels) == pytest.approx(
                result.p_value
            )


def test_a_shifted_window_is_drift_in_history_and_metrics(setup: Setup) -> None:
    setup.baselines.create("churn", _frame(1, 2000))
    setup.windows.put("churn", _frame(3, 1000, shift=1.0, plans=(0.1, 0.3, 0.6)), minute=0)

    evaluation = setup.engine.evaluate("churn")

    assert evaluation is not None and evaluation.drift_detected
    assert set(evaluation.drifted_features) == {"x", "plan"}
    assert setup.value("inferwatch_drift_dataset_detected", model="churn") == 1.0
    assert setup.value("inferwatch_drift_dataset_drifted_features", model="churn") == 2.0
    drifted = [r for r in evaluation.features if r.drifted]
    assert drifted
    for result in drifted:
        labels = {"model": "churn", "feature": result.feature, "method": result.method}
        assert setup.value("inferwatch_drift_detected", **labels) == 1.0


def test_the_schedule_evaluates_each_closed_window_once(setup: Setup) -> None:
    setup.baselines.create("m", _frame(1, 1000))
    setup.windows.put("m", _frame(2, 500), minute=0)
    assert len(setup.engine.evaluate_all()) == 1
    assert setup.engine.evaluate_all() == []  # same window, same baseline: skipped
    setup.windows.put("m", _frame(3, 500), minute=1)
    assert len(setup.engine.evaluate_all()) == 1
    setup.baselines.create("m", _frame(4, 1000))  # new baseline version: same window again
    assert len(setup.engine.evaluate_all()) == 1
    assert [e.baseline_version for e in setup.results.history("m")] == [2, 1, 1]
    assert setup.engine.evaluate("m") is not None  # asked for: always evaluates


def test_no_closed_window_is_skipped_between_rounds(setup: Setup) -> None:
    setup.baselines.create("m", _frame(1, 1000))
    setup.windows.put("m", _frame(2, 500), minute=0)
    assert len(setup.engine.evaluate_all()) == 1
    for minute in (1, 2, 3):  # three windows close before the next round
        setup.windows.put("m", _frame(minute + 10, 500), minute=minute)
    done = setup.engine.evaluate_all()
    assert [e.window_start for e in done] == [T0 + timedelta(minutes=m) for m in (1, 2, 3)]
    assert setup.engine.evaluate_all() == []


def test_a_backlog_longer_than_catch_up_keeps_its_newest_windows(tmp_path: Path) -> None:
    setup = Setup(tmp_path / "state.db")
    setup.engine.settings = DriftSettings(catch_up_windows=2)
    setup.baselines.create("m", _frame(1, 1000))
    setup.windows.put("m", _frame(2, 500), minute=0)
    setup.engine.evaluate_all()
    for minute in (1, 2, 3, 4):
        setup.windows.put("m", _frame(minute + 10, 500), minute=minute)
    done = setup.engine.evaluate_all()
    assert [e.window_start for e in done] == [T0 + timedelta(minutes=m) for m in (3, 4)]


def test_small_windows_are_not_enough_data_never_drift(setup: Setup) -> None:
    setup.baselines.create("m", _frame(1, 1000))
    setup.windows.put("m", _frame(5, 10, shift=5.0), minute=0)
    evaluation = setup.engine.evaluate("m")
    assert evaluation is not None
    assert evaluation.verdict == "not_enough_data" and not evaluation.drift_detected
    assert (
        setup.value("inferwatch_drift_evaluations_total", model="m", outcome="not_enough_data")
        == 1.0
    )


def test_models_without_window_or_baseline(setup: Setup) -> None:
    setup.baselines.create("quiet", _frame(1, 500))
    assert setup.engine.evaluate_all() == []
    with pytest.raises(NoLiveDataError, match="quiet"):
        setup.engine.evaluate("quiet")
    with pytest.raises(BaselineNotFoundError):
        setup.engine.evaluate("unknown")
    assert setup.value("inferwatch_drift_evaluations_total", model="quiet", outcome="error") is None
    lonely = DriftEngine(setup.baselines, setup.results, DriftSettings())
    with pytest.raises(NoLiveDataError, match="no window source"):
        lonely.evaluate("quiet")


def test_a_failing_model_is_logged_counted_and_the_others_go_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from inferwatch.drift.evaluate import evaluate_window

    def flaky(baseline: Baseline, window: LiveWindow, *args: Any) -> Any:
        if baseline.model == "broken":
            raise RuntimeError("statistics exploded")
        return evaluate_window(baseline, window, *args)

    setup = Setup(tmp_path / "state.db", evaluate_window=flaky)
    for model in ("broken", "fine"):
        setup.baselines.create(model, _frame(1, 500))
        setup.windows.put(model, _frame(2, 300), minute=0)

    with caplog.at_level(logging.ERROR, logger="inferwatch.drift.engine"):
        done = setup.engine.evaluate_all()

    assert [e.model for e in done] == ["fine"]
    failure = next(r for r in caplog.records if "broken" in r.getMessage())
    assert failure.exc_info is not None and "statistics exploded" in str(failure.exc_info[1])
    assert setup.value("inferwatch_drift_evaluations_total", model="broken", outcome="error") == 1.0
    assert setup.results.latest("broken") is None


def test_the_loop_runs_on_schedule_and_stops_idempotently(setup: Setup, tmp_path: Path) -> None:
    setup.baselines.create("m", _frame(1, 800))
    setup.windows.put("m", _frame(2, 400), minute=0)
    engine = DriftEngine(
        setup.baselines,
        setup.results,
        DriftSettings(interval_seconds=0.05),
        windows=lambda: setup.windows,
    )

    async def scenario() -> None:
        await engine.start()
        for _ in range(200):
            if engine.rounds >= 3:
                break
            await asyncio.sleep(0.02)
        assert engine.problem() is None
        await engine.stop()
        await engine.stop()

    asyncio.run(scenario())
    assert engine.rounds >= 3
    assert len(setup.results.history("m")) == 1  # one closed window, evaluated once

    restarted = DriftEngine(setup.baselines, ResultStore(setup.storage), DriftSettings())

    async def restore() -> None:
        await restarted.start()
        await restarted.stop()

    asyncio.run(restore())
    latest = restarted.board.latest("m")
    assert latest is not None and latest == setup.results.latest("m")


def test_exported_metrics_pass_promtool_lint(setup: Setup) -> None:
    import shutil
    import subprocess

    from prometheus_client import generate_latest

    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed")
    setup.baselines.create("churn", _frame(1, 1000))
    setup.windows.put("churn", _frame(2, 500), minute=0)
    setup.engine.evaluate("churn")
    exposition = generate_latest(setup.registry)
    assert b"inferwatch_drift_score{" in exposition
    checked = subprocess.run(
        [promtool, "check", "metrics"], input=exposition, capture_output=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_replicas_on_postgresql_evaluate_each_model_once_a_round(
    tmp_path: Path, postgres_server: Any
) -> None:
    from inferwatch.contracts.handoffs import WINDOWS
    from inferwatch.drift.service import DriftPart
    from inferwatch.handoffs import Handoffs
    from inferwatch.parts import PartContext
    from inferwatch.settings import load_settings

    url = postgres_server.create_database("drift_replicas")
    settings = load_settings(database_url=url, drift={"interval_seconds": 3600})
    windows = FakeWindows()
    models = [f"m{i}" for i in range(6)]
    parts = []
    for _ in range(3):  # three replicas, each with its own connections
        storage = open_storage(url)
        storage.migrate()
        context = PartContext(
            settings=settings,
            storage=storage,
            registry=CollectorRegistry(),
            handoffs=Handoffs(),
        )
        context.handoffs.publish(WINDOWS, windows)
        parts.append(DriftPart(context))
    for model in models:
        parts[0].baselines.create(model, _frame(1, 500))
        windows.put(model, _frame(2, 300), minute=0)

    async def one_round() -> None:
        for part in parts:  # each starts its schedule: a first round at once
            await part.start()
        while sum(p.engine.rounds for p in parts) < len(parts):
            await asyncio.sleep(0.02)
        for part in parts:
            await part.stop()

    asyncio.run(one_round())
    evaluated = [m for p in parts for m in models if p.engine.board.latest(m) is not None]
    assert sorted(evaluated) == models, "every model once, by one replica"
    counts = parts[0].context.storage.query(
        "SELECT model, COUNT(*) FROM drift_results GROUP BY model ORDER BY model"
    )
    assert counts == [(m, 1) for m in models]
    for part in parts:
        part.context.storage.close()


def test_a_window_is_evaluated_only_once_its_grace_has_passed(setup: Setup) -> None:
    """Summaries accepted just before a window's end may still be committing."""
    setup.baselines.create("m", _frame(1, 1000))
    window = setup.windows.put("m", _frame(2, 500), minute=0)
    setup.engine.settings = DriftSettings(window_grace_seconds=2.0)
    setup.engine.clock = lambda: window.end + timedelta(seconds=1)
    assert setup.engine.evaluate_all() == []
    setup.engine.clock = lambda: window.end + timedelta(seconds=2)
    assert [e.window_start for e in setup.engine.evaluate_all()] == [window.start]
    later = setup.windows.put("m", _frame(3, 500), minute=1)
    setup.engine.clock = lambda: later.end + timedelta(seconds=1.5)
    assert setup.engine.evaluate_all() == []  # the next closed window waits its grace too
    setup.engine.clock = lambda: later.end + timedelta(seconds=2.5)
    assert [e.window_start for e in setup.engine.evaluate_all()] == [later.start]
