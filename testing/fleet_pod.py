"""One "pod" of a model fleet for the multi-process tests: an instrumented FastAPI model.

Run as ``python -m inferwatch.testing.fleet_pod --port P --drift-url URL --collector A
[--collector B ...]``. It is what a user's model server looks like: ``instrument(app,
recorder_settings=...)`` adds the OTel metrics, ``/metrics`` and a ``PredictionRecorder``
that fetches the model's baseline from the drift service and ships window summaries to
the first collector, failing over to the next ones. ``POST /predict`` scores
``{"instances": [...]}`` and records the batch. ``traffic`` makes the rows the tests send
(and their reference), so both sides agree on what "shifted" means.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel, Field

if TYPE_CHECKING:
    from fastapi import FastAPI

MODEL = "fleet"
FEATURES = ("amount", "age", "channel")
CHANNELS = ("web", "app", "store")


class PredictRequest(BaseModel):
    """KServe-v1-like body: one object of features per instance."""

    instances: list[dict[str, Any]] = Field(min_length=1, max_length=10_000)


def traffic(rows: int, *, seed: int, amount_shift: float = 0.0) -> dict[str, list[Any]]:
    """``rows`` records as columns; ``amount_shift`` moves ``amount`` by that many
    standard deviations (the tests' drift)."""
    rng = np.random.default_rng(seed)
    return {
        "amount": (rng.normal(100.0, 20.0, rows) + 20.0 * amount_shift).round(2).tolist(),
        "age": rng.normal(40.0, 12.0, rows).round(1).tolist(),
        "channel": rng.choice(CHANNELS, rows, p=[0.5, 0.3, 0.2]).tolist(),
    }


def build_app(drift_url: str, collectors: list[str], flush_seconds: float) -> FastAPI:
    """The model server, instrumented and recording into the collectors."""
    from fastapi import FastAPI
    from prometheus_client import CollectorRegistry

    from inferwatch.exporters.instrumentation import instrument
    from inferwatch.exporters.instrumentation.settings import InstrumentationSettings
    from inferwatch.exporters.recorder.settings import RecorderSettings

    app = FastAPI(title=f"{MODEL} model (fleet pod)")
    instrumentation = instrument(
        app,
        model=MODEL,
        model_version="1",
        settings=InstrumentationSettings(),
        registry=CollectorRegistry(),
        gpu=False,
        recorder_settings=RecorderSettings(
            model=MODEL,
            model_version="1",
            drift_url=drift_url,
            collector_url=collectors[0],
            collector_urls=collectors[1:],
            flush_interval_seconds=flush_seconds,
            reservoir_size=300,
            timeout_seconds=2.0,
            max_pending_summaries=100,
        ),
    )
    recorder = instrumentation.recorder

    @app.post("/predict")
    def predict(body: PredictRequest) -> dict[str, list[float]]:
        scores = [
            round(1.0 / (1.0 + float(np.exp(-(float(r.get("amount") or 0.0) - 100.0) / 20.0))), 4)
            for r in body.instances
        ]
        recorder.record_batch(body.instances, predictions=scores)
        return {"predictions": scores}

    return app


def main(argv: list[str] | None = None) -> None:
    """Serve one pod until SIGTERM (which ships what is left)."""
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--drift-url", required=True)
    parser.add_argument("--collector", action="append", required=True)
    parser.add_argument("--flush-seconds", type=float, default=1.0)
    args = parser.parse_args(argv)
    app = build_app(args.drift_url, args.collector, args.flush_seconds)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
